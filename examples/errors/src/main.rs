//! Run with: cargo run -p example-errors
//!
//! A handler's error becomes Lambda's `{errorType, errorMessage}`: the type's own name
//! (`OrderError`) for a custom error, the source's name (`ParseIntError`) through
//! `lambkin::Error`, and `Runtime.Panic` for a panic, after which the instance keeps serving.

use lambkin::Error;
use serde::Deserialize;

#[derive(Deserialize)]
struct Order {
    quantity: String,
    #[serde(default)]
    panic: bool,
}

/// The domain's errors; `errorType` is `OrderError`.
#[derive(Debug, thiserror::Error)]
enum OrderError {
    #[error("quantity must be between 1 and 100, got {0}")]
    OutOfRange(i64),
}

/// Validates an order's quantity.
#[lambkin::handler]
async fn validate(order: Order) -> Result<i64, Error> {
    if order.panic {
        panic!("asked to panic");
    }
    // `?` keeps the source's type name: a non-number is a `ParseIntError`.
    let quantity: i64 = order.quantity.trim().parse()?;
    if !(1..=100).contains(&quantity) {
        return Err(OrderError::OutOfRange(quantity).into());
    }
    Ok(quantity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambkin::testing::invoke;
    use serde_json::json;

    #[tokio::test]
    async fn each_failure_has_its_own_error_type() {
        assert_eq!(
            invoke(validate, json!({"quantity": "7"})).await.unwrap(),
            json!(7)
        );
        let err = invoke(validate, json!({"quantity": "700"}))
            .await
            .unwrap_err();
        assert_eq!(
            (err.error_type.as_str(), err.error_message.as_str()),
            ("OrderError", "quantity must be between 1 and 100, got 700")
        );
        let err = invoke(validate, json!({"quantity": "seven"}))
            .await
            .unwrap_err();
        assert_eq!(err.error_type, "ParseIntError");
        let err = invoke(validate, json!({"quantity": "1", "panic": true}))
            .await
            .unwrap_err();
        assert_eq!(
            (err.error_type.as_str(), err.error_message.as_str()),
            (lambkin::PANIC_ERROR_TYPE, "asked to panic")
        );
    }
}
