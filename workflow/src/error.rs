//! Errors: the `{Error, Cause}` pair a state fails with, and the names Step Functions reserves.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html>

use serde_json::{Value, json};

/// Matches any error name in `ErrorEquals` (except the terminal ones below).
pub const ALL: &str = "States.ALL";
/// A Task failed; in `ErrorEquals` it matches any error except `States.Timeout`.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A Task ran longer than `TimeoutSeconds`, missed a heartbeat, or the execution timed out.
pub const TIMEOUT: &str = "States.Timeout";
/// The execution could not go on (a path selecting nothing, …): never retried nor caught.
pub const RUNTIME: &str = "States.Runtime";
/// A state's input or output is over 256 KiB: never retried nor caught.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// A `Parameters`/`ItemSelector`/`ResultSelector` path selected nothing.
pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
/// `ResultPath` could not place the result in the state's input.
pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// No Choice rule matched and the state has no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// A Map state's failed items exceeded its tolerated failure threshold.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";

/// The failure of a state, a task or an execution: AWS's `Error` and `Cause`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct StatesError {
    /// The error name (`States.Timeout`, a Lambda `errorType`, a Fail state's `Error`).
    pub error: String,
    /// A human-readable cause (for a Lambda error: its JSON error object).
    pub cause: String,
}

impl StatesError {
    /// An error with its name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A `States.Runtime` error.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(RUNTIME, cause)
    }

    /// Whether Retry and Catch may handle it: `States.Runtime` and `States.DataLimitExceeded`
    /// always fail the execution.
    pub fn is_terminal(&self) -> bool {
        self.error == RUNTIME || self.error == DATA_LIMIT_EXCEEDED
    }

    /// Whether an `ErrorEquals` list names this error.
    pub fn matches(&self, names: &[String]) -> bool {
        !self.is_terminal()
            && names.iter().any(|name| {
                name == &self.error || name == ALL || (name == TASK_FAILED && self.error != TIMEOUT)
            })
    }

    /// The error output a Catch passes on: `{"Error": …, "Cause": …}`.
    pub fn to_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn error_equals_wildcards() {
        let lambda = StatesError::new("HandlerError", "boom");
        assert!(lambda.matches(&names(&["HandlerError"])));
        assert!(lambda.matches(&names(&[ALL])));
        assert!(lambda.matches(&names(&[TASK_FAILED])));
        assert!(!lambda.matches(&names(&["Other"])));
        let timeout = StatesError::new(TIMEOUT, "");
        assert!(!timeout.matches(&names(&[TASK_FAILED])));
        assert!(timeout.matches(&names(&[ALL])));
        let runtime = StatesError::runtime("bad path");
        assert!(!runtime.matches(&names(&[ALL, RUNTIME])));
    }
}
