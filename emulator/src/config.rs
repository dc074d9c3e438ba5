//! What the emulator needs to know about a function.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::{ACCOUNT_ID, Error, VERSION_LATEST};

/// One function: where its executable is and the limits Lambda would apply to it.
///
/// Build one with [`FunctionConfig::new`] and adjust the public fields:
///
/// ```
/// use std::time::Duration;
/// use lambkin_emulator::FunctionConfig;
///
/// let mut hello = FunctionConfig::new("hello", "target/debug/hello");
/// hello.timeout = Duration::from_secs(10);
/// hello.env.insert("GREETING".into(), "hi".into());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    /// The function name (also the `AWS_LAMBDA_FUNCTION_NAME` of its instances).
    pub name: String,
    /// The executable each instance runs (unused by [`local::InProcess`](crate::local::InProcess)).
    pub executable: PathBuf,
    /// Working directory and `LAMBDA_TASK_ROOT`; the executable's directory when `None`.
    pub working_dir: Option<PathBuf>,
    /// Longest run of one invocation (Lambda's default: 3 s).
    pub timeout: Duration,
    /// Memory size in MB (Lambda's default: 128); an instance using more is killed.
    pub memory_mb: u32,
    /// Reserved concurrency: at most this many invocations at once, set aside from the
    /// account's limit; callers above it get 429 (0 throttles every invocation). `None` (the
    /// default, as on AWS) shares the account's unreserved concurrency
    /// ([`Emulator::set_account_concurrency`](crate::Emulator::set_account_concurrency)). This is
    /// where the function starts; PutFunctionConcurrency and DeleteFunctionConcurrency change it
    /// while the emulator runs.
    pub reserved_concurrency: Option<usize>,
    /// How long an idle instance is kept warm before it is stopped.
    pub keep_alive: Duration,
    /// Retries of a failed asynchronous (`Event`) invocation (Lambda's default: 2).
    pub event_retries: u32,
    /// Wait before the first retry of a failed `Event` invocation, doubled for each further one
    /// (Lambda waits 1 minute, then 2).
    pub event_retry_delay: Duration,
    /// How long an `Event` invocation may wait in the asynchronous queue, retries included;
    /// older events are discarded (Lambda's `MaximumEventAgeInSeconds`: 6 hours by default, and
    /// AWS accepts 60 seconds to 6 hours; any duration is taken here, so tests can age events
    /// quickly).
    pub maximum_event_age: Duration,
    /// Region in ARNs and in `AWS_REGION` (default `us-east-1`).
    pub region: String,
    /// The user's environment variables.
    pub env: BTreeMap<String, String>,
    /// The version served: `$LATEST`, or the number of a published version.
    pub version: String,
    /// `_HANDLER` of its instances (the function name when `None`).
    pub handler: Option<String>,
    /// Pass the emulator's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and
    /// `AWS_PROFILE` on to instances (off by default, so a function never uses real credentials
    /// by accident).
    pub pass_aws_credentials: bool,
    /// The deployed code it runs (functions of the management API): held by every pool and
    /// instance using this configuration, so the code leaves the disk after the last of them.
    #[cfg(feature = "manage")]
    pub(crate) code: Option<std::sync::Arc<crate::manage::CodeDir>>,
}

impl FunctionConfig {
    /// A function with Lambda's defaults: 3 s timeout, 128 MB, no reserved concurrency.
    pub fn new(name: impl Into<String>, executable: impl Into<PathBuf>) -> Self {
        FunctionConfig {
            name: name.into(),
            executable: executable.into(),
            working_dir: None,
            timeout: Duration::from_secs(3),
            memory_mb: 128,
            reserved_concurrency: None,
            keep_alive: Duration::from_secs(600),
            event_retries: 2,
            event_retry_delay: Duration::from_secs(60),
            maximum_event_age: Duration::from_secs(6 * 60 * 60),
            region: "us-east-1".to_owned(),
            env: BTreeMap::new(),
            version: VERSION_LATEST.to_owned(),
            handler: None,
            pass_aws_credentials: false,
            #[cfg(feature = "manage")]
            code: None,
        }
    }

    /// `arn:aws:lambda:<region>:012345678912:function:<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}",
            self.region, self.name
        )
    }

    /// Rejects names Lambda would reject (they also end up in URLs and ARNs).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if is_function_name(&self.name) {
            Ok(())
        } else {
            Err(Error::InvalidFunctionName(self.name.clone()))
        }
    }
}

/// Whether Lambda accepts `name` as a function name: 1 to 64 letters, digits, `-` and `_`.
pub(crate) fn is_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_lambdas() {
        let f = FunctionConfig::new("hello", "/bin/true");
        assert_eq!(f.timeout, Duration::from_secs(3));
        assert_eq!(f.memory_mb, 128);
        assert_eq!(f.reserved_concurrency, None);
        assert_eq!(f.maximum_event_age, Duration::from_secs(21_600));
        assert_eq!(
            f.arn(),
            "arn:aws:lambda:us-east-1:012345678912:function:hello"
        );
    }

    #[test]
    fn names_are_validated() {
        assert!(FunctionConfig::new("a-b_C9", "x").validate().is_ok());
        for bad in ["", "a/b", "a b", "é", &"x".repeat(65)] {
            assert!(FunctionConfig::new(bad, "x").validate().is_err(), "{bad}");
        }
    }
}
