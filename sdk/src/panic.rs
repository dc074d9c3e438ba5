//! Panics as Lambda error responses: the handler's panic is caught and answered with
//! [`PANIC_ERROR_TYPE`], and the panic hook logs its message. Used by the runtime loop,
//! [`crate::testing`] and the log subscriber, so it sits below all three.

use std::{any::Any, future::Future, panic::AssertUnwindSafe};

use futures_util::FutureExt;
use lambda_runtime::Diagnostic;

/// The `errorType` of the error response when a handler (or `init`) panics.
pub const PANIC_ERROR_TYPE: &str = "Runtime.Panic";

/// Turns a panic inside the handler into an error response; the process keeps serving.
pub(crate) async fn catch_panic<T>(
    future: impl Future<Output = Result<T, Diagnostic>>,
) -> Result<T, Diagnostic> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .unwrap_or_else(|payload| Err(diagnostic(payload.as_ref())))
}

/// The error response for a panic with this payload.
fn diagnostic(payload: &(dyn Any + Send)) -> Diagnostic {
    Diagnostic {
        error_type: PANIC_ERROR_TYPE.to_owned(),
        error_message: message(payload)
            .unwrap_or("the handler panicked")
            .to_owned(),
    }
}

/// The message of a `panic!`, which carries a `&str` or a formatted `String`.
pub(crate) fn message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn panics_become_error_responses() {
        let out: Result<(), _> = catch_panic(async { panic!("no name given") }).await;
        let d = out.unwrap_err();
        assert_eq!(
            (d.error_type.as_str(), d.error_message.as_str()),
            (PANIC_ERROR_TYPE, "no name given")
        );
        let out: Result<(), _> = catch_panic(async { panic!("{} items", 3) }).await;
        assert_eq!(out.unwrap_err().error_message, "3 items");
    }
}
