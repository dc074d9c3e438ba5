//! How an invocation ended, and what the caller and the REPORT line get for each ending: the
//! runtime's answer, or an error the emulator words as Lambda does.

use std::io;
use std::process::ExitStatus;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde_json::json;

use super::{INIT_TIMEOUT, Outcome};
use crate::clock::rfc3339;
use crate::runtime_api::Answer;
use crate::runtime_api::extensions::ExtensionError;
use crate::telemetry::Status;

/// How an invocation ended.
#[derive(Debug)]
pub(super) enum Ending {
    Answered(Answer),
    InitError(InitFailure),
    InitTimeout,
    Exited(io::Result<ExitStatus>),
    Timeout,
    OutOfMemory,
    /// An external extension failed its init before the runtime's.
    Extension(ExtensionFailure),
}

/// How an external extension failed the instance's init.
#[derive(Debug)]
pub(super) enum ExtensionFailure {
    /// Its executable could not be started.
    Launch { name: String, error: String },
    /// It exited before init was over.
    Crash {
        name: String,
        status: io::Result<ExitStatus>,
    },
    /// These extensions did not register within [`INIT_TIMEOUT`].
    NotRegistered(Vec<String>),
}

/// A runtime's `/init/error`: the error JSON the caller gets and the type REPORT shows.
#[derive(Debug, Clone)]
pub(super) struct InitFailure {
    pub(super) body: Bytes,
    pub(super) error_type: String,
}

impl InitFailure {
    /// The type is the runtime's `Lambda-Runtime-Function-Error-Type` header, which the
    /// Runtime API documents as "the error type that the runtime encountered"
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-initerror>)
    /// and which the official runtime clients set (Python's `Runtime.ImportModuleError`, Node's
    /// `Runtime.UserCodeSyntaxError`); a runtime that sends only a body gets its `errorType`.
    /// Lambda keeps a type only if it names a `Runtime.` or `Function.` error (the rule of
    /// `GetValidRuntimeOrFunctionErrorType` in aws/aws-lambda-runtime-interface-emulator):
    /// anything else is reported as `Runtime.Unknown` (`Function.Unknown` for `Function.…`).
    pub(super) fn new(body: Bytes, header_type: Option<String>) -> InitFailure {
        let posted = header_type.or_else(|| {
            let doc = serde_json::from_slice::<serde_json::Value>(&body).ok()?;
            doc.get("errorType")?.as_str().map(str::to_owned)
        });
        let posted = posted.unwrap_or_default();
        let error_type = if names_runtime_or_function_error(&posted) {
            posted
        } else if posted.starts_with("Function.") {
            "Function.Unknown".to_owned()
        } else {
            "Runtime.Unknown".to_owned()
        };
        InitFailure { body, error_type }
    }

    /// An extension's `/extension/init/error`: Lambda reports it as `Extension.InitError`
    /// ("agent exited after calling /extension/init/error", `lambda/fatalerror/fatalerror.go` in
    /// aws/aws-lambda-runtime-interface-emulator), whatever type the extension posted; the
    /// message names the extension and its own type.
    pub(super) fn extension(error: &ExtensionError) -> InitFailure {
        let error_type = "Extension.InitError".to_owned();
        let message = format!(
            "Extension {} reported an init error: {}",
            error.name, error.error_type
        );
        let doc = json!({ "errorType": error_type, "errorMessage": message });
        InitFailure {
            body: Bytes::from(doc.to_string()),
            error_type,
        }
    }
}

/// Whether `error_type` contains `Runtime.` or `Function.` followed by a capital letter and at
/// least one more letter (`(Runtime|Function)\.[A-Z][a-zA-Z]+`, matched anywhere).
fn names_runtime_or_function_error(error_type: &str) -> bool {
    ["Runtime.", "Function."].iter().any(|category| {
        error_type.match_indices(category).any(|(at, _)| {
            let mut rest = error_type[at + category.len()..].chars();
            rest.next().is_some_and(|c| c.is_ascii_uppercase())
                && rest.next().is_some_and(|c| c.is_ascii_alphabetic())
        })
    })
}

/// The caller's outcome for `ending` of invocation `id` (of a function with `timeout`), and the
/// REPORT line's status for endings the emulator decided.
pub(super) fn outcome(id: &str, ending: Ending, timeout: Duration) -> (Outcome, Option<String>) {
    let report = |status: &str| Some(status.to_owned());
    let error = |error_type: &str, message: String| {
        let body = json!({ "errorType": error_type, "errorMessage": message });
        Outcome::Unhandled(Bytes::from(body.to_string()))
    };
    match ending {
        Ending::Answered(Answer::Response(body)) => (Outcome::Success(body), None),
        Ending::Answered(Answer::Error(body)) => (Outcome::Unhandled(body), None),
        Ending::Answered(Answer::TooLarge(limit)) => (
            error(
                "Function.ResponseSizeTooLarge",
                format!(
                    "Response payload size exceeded maximum allowed payload size ({limit} bytes)."
                ),
            ),
            report("\tStatus: error\tError Type: Function.ResponseSizeTooLarge"),
        ),
        Ending::InitError(InitFailure { body, error_type }) => (
            Outcome::Unhandled(body),
            Some(format!("\tStatus: error\tError Type: {error_type}")),
        ),
        Ending::InitTimeout => (
            error(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {id} Error: the runtime did not ask for an invocation within {:.2} seconds",
                    INIT_TIMEOUT.as_secs_f64()
                ),
            ),
            report("\tStatus: timeout"),
        ),
        Ending::Timeout => {
            // Lambda's timeout error has no errorType.
            let message = format!(
                "{} {id} Task timed out after {:.2} seconds",
                rfc3339(SystemTime::now()),
                timeout.as_secs_f64()
            );
            let body = json!({ "errorMessage": message });
            (
                Outcome::Unhandled(Bytes::from(body.to_string())),
                report("\tStatus: timeout"),
            )
        }
        Ending::OutOfMemory => (
            error(
                "Runtime.OutOfMemory",
                format!("RequestId: {id} Error: Runtime exited with error: signal: killed"),
            ),
            report("\tStatus: error\tError Type: Runtime.OutOfMemory"),
        ),
        Ending::Extension(ExtensionFailure::Launch { name, error: cause }) => (
            error(
                "Extension.LaunchError",
                format!("RequestId: {id} Error: Couldn't start extension {name}: {cause}"),
            ),
            report("\tStatus: error\tError Type: Extension.LaunchError"),
        ),
        Ending::Extension(ExtensionFailure::Crash { name, status }) => (
            error(
                "Extension.Crash",
                format!(
                    "RequestId: {id} Error: Extension {name} exited with error: {}",
                    describe_exit(&status)
                ),
            ),
            report("\tStatus: error\tError Type: Extension.Crash"),
        ),
        Ending::Extension(ExtensionFailure::NotRegistered(names)) => (
            error(
                "Sandbox.Timedout",
                format!(
                    "RequestId: {id} Error: extensions did not register within {:.2} seconds: {}",
                    INIT_TIMEOUT.as_secs_f64(),
                    names.join(", ")
                ),
            ),
            report("\tStatus: timeout"),
        ),
        Ending::Exited(status) => (
            error(
                "Runtime.ExitError",
                format!(
                    "RequestId: {id} Error: Runtime exited with error: {}",
                    describe_exit(&status)
                ),
            ),
            report("\tStatus: error\tError Type: Runtime.ExitError"),
        ),
    }
}

/// `ending`'s status and error type in the Telemetry API's `platform.runtimeDone` and
/// `platform.report`, and the size of the answer (`producedBytes`).
pub(super) fn telemetry_status(ending: &Ending) -> (Status, Option<String>, Option<u64>) {
    let error = |error_type: &str| (Status::Error, Some(error_type.to_owned()), None);
    match ending {
        Ending::Answered(Answer::Response(body)) => {
            (Status::Success, None, Some(body.len() as u64))
        }
        Ending::Answered(Answer::Error(body)) => {
            let error_type = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["errorType"].as_str().map(str::to_owned));
            (Status::Failure, error_type, Some(body.len() as u64))
        }
        Ending::Answered(Answer::TooLarge(_)) => error("Function.ResponseSizeTooLarge"),
        Ending::InitError(failure) => error(&failure.error_type),
        Ending::InitTimeout
        | Ending::Timeout
        | Ending::Extension(ExtensionFailure::NotRegistered(_)) => (Status::Timeout, None, None),
        Ending::Extension(ExtensionFailure::Launch { .. }) => error("Extension.LaunchError"),
        Ending::Extension(ExtensionFailure::Crash { .. }) => error("Extension.Crash"),
        Ending::OutOfMemory => error("Runtime.OutOfMemory"),
        Ending::Exited(_) => error("Runtime.ExitError"),
    }
}

/// "exit status 1" or "signal: killed", as Lambda words it.
fn describe_exit(status: &io::Result<ExitStatus>) -> String {
    let status = match status {
        Ok(status) => status,
        Err(error) => return format!("unknown exit status ({error})"),
    };
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                libc::SIGKILL => "killed".to_owned(),
                libc::SIGSEGV => "segmentation fault".to_owned(),
                libc::SIGABRT => "aborted".to_owned(),
                libc::SIGTERM => "terminated".to_owned(),
                libc::SIGBUS => "bus error".to_owned(),
                other => other.to_string(),
            };
            return format!("signal: {name}");
        }
    }
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_error_types_are_lambdas() {
        let body = Bytes::from_static(br#"{"errorType":"Runtime.ImportModuleError"}"#);
        let of = |header: Option<&str>, body: &Bytes| {
            InitFailure::new(body.clone(), header.map(str::to_owned)).error_type
        };
        // The header first, else the body's type.
        assert_eq!(
            of(Some("Runtime.NoSuchHandler"), &body),
            "Runtime.NoSuchHandler"
        );
        assert_eq!(of(None, &body), "Runtime.ImportModuleError");
        // Only `Runtime.` and `Function.` types are kept.
        assert_eq!(of(Some("Unhandled"), &body), "Runtime.Unknown");
        assert_eq!(of(Some("Fixture.Failed"), &body), "Runtime.Unknown");
        assert_eq!(of(Some("Function.x"), &body), "Function.Unknown");
        assert_eq!(
            of(Some("Function.ConfigMissing"), &body),
            "Function.ConfigMissing"
        );
        assert_eq!(of(None, &Bytes::from_static(b"oops")), "Runtime.Unknown");
    }

    #[cfg(unix)]
    #[test]
    fn exit_descriptions() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(&Ok(ExitStatus::from_raw(1 << 8))),
            "exit status 1"
        );
        assert_eq!(
            describe_exit(&Ok(ExitStatus::from_raw(9))),
            "signal: killed"
        );
    }
}
