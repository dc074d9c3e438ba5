//! Task states' functions are the emulator's own: each invocation goes through the registry
//! (looked up at every call, so executions survive a reload) and the function's pool, as an
//! Invoke call does.

use std::sync::Arc;

use bytes::Bytes;
use lambkin_workflow::{BoxFuture, Invoker, StatesError};
use serde_json::Value;

use crate::ACCOUNT_ID;
use crate::instance::{Invocation, Outcome, Refused, Trigger};
use crate::registry::{FunctionKey, Registry, split_name};

/// Invokes the registry's functions for Task states.
#[derive(Debug, Clone)]
pub(crate) struct LocalFunctions {
    pub(crate) registry: Arc<Registry>,
    pub(crate) region: String,
}

impl Invoker for LocalFunctions {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let (name, qualifier) = split_name(function);
            let key = FunctionKey::new(name, qualifier);
            let Some(target) = self.registry.get(&key) else {
                // What Step Functions reports when Lambda answers 404.
                return Err(StatesError::new(
                    "Lambda.ResourceNotFoundException",
                    format!(
                        "Function not found: arn:aws:lambda:{}:{ACCOUNT_ID}:function:{function} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException)",
                        self.region
                    ),
                ));
            };
            let invocation = Invocation::new(Bytes::from(payload.to_string()), Trigger::Workflow);
            match target.invoke(invocation, false).await {
                Ok(result) => match result.outcome {
                    Outcome::Success(body) => Ok(answer(&body)),
                    Outcome::Unhandled(body) => Err(function_error(&body)),
                },
                Err(refused) => Err(refusal(refused)),
            }
        })
    }
}

/// A function's answer as JSON (an empty answer is `null`; one that is not JSON, a string).
fn answer(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// An unhandled error: its `errorType` names it, its whole JSON is the cause, as Step Functions
/// reports Lambda errors (<https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>).
fn function_error(body: &[u8]) -> StatesError {
    let cause = String::from_utf8_lossy(body).into_owned();
    let error_type = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "Lambda.Unknown".to_owned());
    StatesError::new(error_type, cause)
}

/// An invocation Lambda refused, as the Lambda service errors Step Functions names.
fn refusal(refused: Refused) -> StatesError {
    match refused {
        Refused::Throttled(_) | Refused::NoInstance => {
            StatesError::new("Lambda.TooManyRequestsException", "Rate Exceeded.")
        }
        Refused::ShuttingDown => {
            StatesError::new("Lambda.ServiceException", "The emulator is shutting down")
        }
        Refused::Internal => StatesError::new(
            "Lambda.ServiceException",
            "The emulator failed to run the function",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_errors_are_named_by_their_type() {
        let e = function_error(br#"{"errorType":"ValueError","errorMessage":"bad"}"#);
        assert_eq!(e.error, "ValueError");
        assert!(e.cause.contains("\"errorMessage\":\"bad\""));
        assert_eq!(function_error(b"not json").error, "Lambda.Unknown");
        assert_eq!(answer(b""), Value::Null);
        assert_eq!(answer(b"{\"a\":1}"), serde_json::json!({"a": 1}));
    }
}
