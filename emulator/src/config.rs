//! What the emulator needs to know about a function.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::{ACCOUNT_ID, DEFAULT_REGION, Error, VERSION_LATEST};

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
    /// ([`Options::account_concurrency`](crate::Options::account_concurrency)). This is
    /// where the function starts; PutFunctionConcurrency and DeleteFunctionConcurrency change it
    /// while the emulator runs.
    pub reserved_concurrency: Option<usize>,
    /// Most invocations one instance runs at once: Lambda Managed Instances'
    /// `PerExecutionEnvironmentMaxConcurrency` (1–1600), passed to the runtime as
    /// `AWS_LAMBDA_MAX_CONCURRENCY` when above 1. Default 1: one invocation per instance, as on
    /// Lambda (default). The runtime keeps that many `/next` long polls open and the emulator
    /// runs that many invocations in the instance at once.
    pub max_concurrency: u32,
    /// How long an idle instance is kept warm before it is stopped.
    pub keep_alive: Duration,
    /// Asynchronous invocation settings as the configuration gives them (SAM
    /// `EventInvokeConfig`, serverless.yml `maximumRetryAttempts`, `maximumEventAge` and
    /// `destinations`); `None` (the default): Lambda's defaults, 2 retries, 6 hours, no
    /// destination. PutFunctionEventInvokeConfig and its siblings change them at run time.
    pub event_invoke_config: Option<EventInvokeConfig>,
    /// Wait before the first retry of a failed `Event` invocation, doubled for each further one
    /// (Lambda waits 1 minute, then 2).
    pub event_retry_delay: Duration,
    /// Where events that fail every attempt, or grow too old, are sent besides any `OnFailure`
    /// destination: the ARN of SAM's `DeadLetterQueue`, CloudFormation's and the API's
    /// `DeadLetterConfig.TargetArn`, serverless.yml's `onError` (an SQS queue or SNS topic, which
    /// get the event alone; the record is kept in a file locally, see [`crate::Options::event_dir`]).
    pub dead_letter_target: Option<String>,
    /// Region in ARNs and in `AWS_REGION` (default `us-east-1`).
    pub region: String,
    /// The user's environment variables.
    pub env: BTreeMap<String, String>,
    /// The version served: `$LATEST`, or the number of a published version.
    pub version: String,
    /// The handler as configured (SAM `Handler`, serverless.yml `handler`, CreateFunction's
    /// `Handler`): `_HANDLER` of its instances and GetFunction's `Handler`. When `None`,
    /// [`DEFAULT_HANDLER`] (see [`FunctionConfig::handler`]).
    pub handler: Option<String>,
    /// Lambda's advanced logging controls (`LoggingConfig`).
    pub logging: LoggingConfig,
    /// How its function URL answers (`FunctionUrlConfig.InvokeMode`): whole (the default) or
    /// streamed as the function writes.
    pub url_invoke_mode: InvokeMode,
    /// Pass the emulator's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and
    /// `AWS_PROFILE` on to instances (off by default, so a function never uses real credentials
    /// by accident).
    pub pass_aws_credentials: bool,
    /// The deployed code it runs (functions of the management API): held by every pool and
    /// instance using this configuration, so the code leaves the disk after the last of them.
    #[cfg(feature = "manage")]
    pub(crate) code: Option<std::sync::Arc<crate::code_storage::CodeDir>>,
}

impl FunctionConfig {
    /// How many invocations one instance runs at once (`max_concurrency`, at least 1).
    pub(crate) fn per_instance(&self) -> usize {
        usize::try_from(self.max_concurrency).unwrap_or(1).max(1)
    }

    /// A function with Lambda's defaults: 3 s timeout, 128 MB, no reserved concurrency.
    pub fn new(name: impl Into<String>, executable: impl Into<PathBuf>) -> Self {
        FunctionConfig {
            name: name.into(),
            executable: executable.into(),
            working_dir: None,
            timeout: Duration::from_secs(3),
            memory_mb: 128,
            reserved_concurrency: None,
            max_concurrency: 1,
            keep_alive: Duration::from_secs(600),
            event_invoke_config: None,
            event_retry_delay: Duration::from_secs(60),
            dead_letter_target: None,
            region: DEFAULT_REGION.to_owned(),
            env: BTreeMap::new(),
            version: VERSION_LATEST.to_owned(),
            handler: None,
            logging: LoggingConfig::default(),
            url_invoke_mode: InvokeMode::Buffered,
            pass_aws_credentials: false,
            #[cfg(feature = "manage")]
            code: None,
        }
    }

    /// The one way from a function's configuration, whatever it was written in (a SAM
    /// template, a serverless.yml, Cargo metadata), to what the emulator runs: `executable` in
    /// `working_dir` (the executable's directory when `None`), with `settings`; what they leave
    /// unset keeps Lambda's default.
    pub fn from_settings(
        name: impl Into<String>,
        executable: impl Into<PathBuf>,
        working_dir: Option<PathBuf>,
        settings: FunctionSettings,
    ) -> Self {
        // Destructured whole: a setting added to `FunctionSettings` must be placed here.
        let FunctionSettings {
            handler,
            timeout,
            memory_mb,
            reserved_concurrency,
            max_concurrency,
            env,
            logging,
            url_invoke_mode,
            event_invoke_config,
            dead_letter_target,
        } = settings;
        let mut config = FunctionConfig::new(name, executable);
        config.working_dir = working_dir;
        if let Some(timeout) = timeout {
            config.timeout = timeout;
        }
        if let Some(memory_mb) = memory_mb {
            config.memory_mb = memory_mb;
        }
        config.reserved_concurrency = reserved_concurrency;
        if let Some(max_concurrency) = max_concurrency {
            config.max_concurrency = max_concurrency;
        }
        config.env = env;
        // `_HANDLER` and GetFunction's `Handler`: what the configuration wrote, as AWS passes it.
        config.handler = handler;
        config.logging = logging;
        config.url_invoke_mode = url_invoke_mode;
        config.event_invoke_config = event_invoke_config;
        config.dead_letter_target = dead_letter_target;
        config
    }

    /// `arn:aws:lambda:<region>:012345678912:function:<name>`.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{ACCOUNT_ID}:function:{}",
            self.region, self.name
        )
    }

    /// Retries of a failed `Event` invocation: the configured `MaximumRetryAttempts`, else
    /// Lambda's default, 2.
    pub fn event_retries(&self) -> u32 {
        self.event_invoke_config
            .as_ref()
            .map_or(DEFAULT_RETRIES, |c| c.maximum_retry_attempts)
    }

    /// How long an `Event` invocation may wait, retries included: the configured
    /// `MaximumEventAgeInSeconds`, else Lambda's default, 6 hours.
    pub fn maximum_event_age(&self) -> Duration {
        self.event_invoke_config
            .as_ref()
            .map_or(DEFAULT_EVENT_AGE, |c| c.maximum_event_age)
    }

    /// The handler string: the configured one, else [`DEFAULT_HANDLER`].
    pub fn handler(&self) -> &str {
        self.handler.as_deref().unwrap_or(DEFAULT_HANDLER)
    }

    /// The CloudWatch log group the function logs to: the configured `LogGroup`, else Lambda's
    /// default `/aws/lambda/<name>`.
    pub fn log_group(&self) -> String {
        self.logging
            .log_group
            .clone()
            .unwrap_or_else(|| format!("/aws/lambda/{}", self.name))
    }

    /// Rejects names Lambda would reject (they also end up in URLs and ARNs) and environment
    /// variables Lambda reserves ([`RESERVED_ENV`]; an instance would get Lambda's value anyway).
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if !is_function_name(&self.name) {
            return Err(Error::InvalidFunctionName(self.name.clone()));
        }
        let reserved = reserved_env_keys(&self.env);
        if !reserved.is_empty() {
            return Err(Error::ReservedEnv {
                function: self.name.clone(),
                keys: reserved.join(", "),
            });
        }
        Ok(())
    }
}

/// What a function's configuration sets, in whichever source it was written; `None` (and an
/// empty `env`) leaves Lambda's default. Read by [`FunctionConfig::from_settings`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionSettings {
    /// The handler string as written (`_HANDLER` of the instances).
    pub handler: Option<String>,
    /// Longest run of one invocation.
    pub timeout: Option<Duration>,
    /// Memory size in MB.
    pub memory_mb: Option<u32>,
    /// Reserved concurrency.
    pub reserved_concurrency: Option<usize>,
    /// Invocations one instance may run at once (`PerExecutionEnvironmentMaxConcurrency`).
    pub max_concurrency: Option<u32>,
    /// The function's environment variables.
    pub env: BTreeMap<String, String>,
    /// Lambda's logging controls.
    pub logging: LoggingConfig,
    /// How its function URL answers.
    pub url_invoke_mode: InvokeMode,
    /// Asynchronous invocation settings (`EventInvokeConfig`).
    pub event_invoke_config: Option<EventInvokeConfig>,
    /// The dead-letter target's ARN (`DeadLetterQueue`, `DeadLetterConfig`, `onError`).
    pub dead_letter_target: Option<String>,
}

/// Lambda's retries of a failed asynchronous invocation when none are configured.
const DEFAULT_RETRIES: u32 = 2;
/// Lambda's maximum age of an asynchronous invocation when none is configured.
const DEFAULT_EVENT_AGE: Duration = Duration::from_secs(6 * 60 * 60);

/// A function's asynchronous invocation settings: Lambda's `FunctionEventInvokeConfig`
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html>).
///
/// AWS takes 0–2 retries and 60 seconds to 6 hours; the configuration readers and the API check
/// those ranges, the library takes any value (so tests can age events quickly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvokeConfig {
    /// `MaximumRetryAttempts`: retries after a function error (0–2).
    pub maximum_retry_attempts: u32,
    /// `MaximumEventAgeInSeconds`: how long an event may wait, retries included; older events
    /// are discarded (to the `OnFailure` destination, with the condition `EventAgeExceeded`).
    pub maximum_event_age: Duration,
    /// `DestinationConfig.OnSuccess.Destination`: the ARN that gets a record of each success.
    pub on_success: Option<String>,
    /// `DestinationConfig.OnFailure.Destination`: the ARN that gets a record of each event
    /// given up (retries exhausted or too old).
    pub on_failure: Option<String>,
}

impl Default for EventInvokeConfig {
    /// Lambda's defaults: 2 retries, 6 hours, no destination.
    fn default() -> Self {
        EventInvokeConfig {
            maximum_retry_attempts: DEFAULT_RETRIES,
            maximum_event_age: DEFAULT_EVENT_AGE,
            on_success: None,
            on_failure: None,
        }
    }
}

/// The handler of a function that configures none.
///
/// For the OS-only runtimes (`provided.al2023`, `provided.al2`) Lambda passes the configured
/// handler through as `_HANDLER` and gives it no meaning of its own; a function built from Rust
/// is its executable, which Lambda runs as `bootstrap`, and `bootstrap` is what `lambkin deploy`
/// and cargo-lambda configure on AWS. So a function whose configuration names no handler (Cargo
/// metadata, a workspace binary) shows `bootstrap`, as it would once deployed.
pub const DEFAULT_HANDLER: &str = "bootstrap";

/// How a function URL answers: its `InvokeMode`
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_FunctionUrlConfig.html>).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InvokeMode {
    /// `BUFFERED`: the whole answer, once the function has ended (up to 6 MB).
    #[default]
    Buffered,
    /// `RESPONSE_STREAM`: the answer streams as the function writes it
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html>).
    ResponseStream,
}

impl InvokeMode {
    /// The mode AWS names `name` (`BUFFERED`, `RESPONSE_STREAM`).
    pub fn parse(name: &str) -> Option<InvokeMode> {
        match name {
            "BUFFERED" => Some(InvokeMode::Buffered),
            "RESPONSE_STREAM" => Some(InvokeMode::ResponseStream),
            _ => None,
        }
    }

    /// The name AWS gives the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            InvokeMode::Buffered => "BUFFERED",
            InvokeMode::ResponseStream => "RESPONSE_STREAM",
        }
    }

    /// Whether the answer streams.
    pub fn streams(self) -> bool {
        self == InvokeMode::ResponseStream
    }
}

/// Lambda's advanced logging controls for a function: the API's `LoggingConfig`.
///
/// AWS: <https://docs.aws.amazon.com/lambda/latest/api/API_LoggingConfig.html> and
/// <https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html>. The log
/// levels apply only to the JSON format ("to use log-level filtering, your function must be
/// configured to use the JSON log format"); with JSON, a level left unset is `INFO`, as
/// GetFunctionConfiguration reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggingConfig {
    /// `LogFormat`: `Text` (Lambda's default) or `JSON`.
    pub format: LogFormat,
    /// `ApplicationLogLevel` (JSON only): the level of the function's own logs.
    pub application_level: Option<LogLevel>,
    /// `SystemLogLevel` (JSON only; `DEBUG`, `INFO` or `WARN`): the level of Lambda's platform
    /// lines.
    pub system_level: Option<LogLevel>,
    /// `LogGroup`; `/aws/lambda/<function>` when `None`.
    pub log_group: Option<String>,
}

impl LoggingConfig {
    /// The application log level in effect: `None` for the Text format, the configured level or
    /// `INFO` for JSON.
    pub fn effective_application_level(&self) -> Option<LogLevel> {
        self.json_level(self.application_level)
    }

    /// The system log level in effect: `None` for the Text format, the configured level or
    /// `INFO` for JSON.
    pub fn effective_system_level(&self) -> Option<LogLevel> {
        self.json_level(self.system_level)
    }

    fn json_level(&self, level: Option<LogLevel>) -> Option<LogLevel> {
        (self.format == LogFormat::Json).then(|| level.unwrap_or(LogLevel::Info))
    }
}

/// `LoggingConfig.LogFormat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Plain text lines (Lambda's default).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// All formats, as the API spells them.
    pub const ALL: [LogFormat; 2] = [LogFormat::Json, LogFormat::Text];

    /// The API's spelling: `Text` or `JSON` (also the value of `AWS_LAMBDA_LOG_FORMAT`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "Text",
            LogFormat::Json => "JSON",
        }
    }

    /// Reads the API's spelling (exactly, as Lambda validates it).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == text)
    }
}

/// A log level of `LoggingConfig` (`ApplicationLogLevel`, `SystemLogLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogLevel {
    /// `TRACE` (application logs only).
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR` (application logs only).
    Error,
    /// `FATAL` (application logs only).
    Fatal,
}

impl LogLevel {
    /// The levels `ApplicationLogLevel` takes.
    pub const APPLICATION: [LogLevel; 6] = [
        LogLevel::Trace,
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
    ];
    /// The levels `SystemLogLevel` takes.
    pub const SYSTEM: [LogLevel; 3] = [LogLevel::Debug, LogLevel::Info, LogLevel::Warn];

    /// The API's spelling (`TRACE`, …; also the value of `AWS_LAMBDA_LOG_LEVEL`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }

    /// Reads the API's spelling (exactly, as Lambda validates it) among `allowed`.
    pub fn parse(text: &str, allowed: &[LogLevel]) -> Option<Self> {
        allowed.iter().copied().find(|l| l.as_str() == text)
    }
}

/// The variables Lambda sets itself, whose keys a function may not configure.
///
/// AWS: "The keys for these environment variables are reserved and cannot be set in your
/// function configuration"
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>);
/// CreateFunction and UpdateFunctionConfiguration refuse them, and so does CloudFormation when it
/// deploys a template that sets one.
pub const RESERVED_ENV: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
];

/// The keys of `env` that Lambda reserves ([`RESERVED_ENV`]), in the map's order: the one rule
/// for every source of a function's environment (the management API, templates, Cargo metadata,
/// env files, [`FunctionConfig`]s given to the [`Emulator`](crate::Emulator)).
pub fn reserved_env_keys(env: &BTreeMap<String, String>) -> Vec<&str> {
    env.keys()
        .map(String::as_str)
        .filter(|key| is_reserved_env(key))
        .collect()
}

/// Whether Lambda reserves the environment variable `key` ([`RESERVED_ENV`]).
pub fn is_reserved_env(key: &str) -> bool {
    RESERVED_ENV.contains(&key)
}

/// Lambda's name (`x86_64` or `arm64`) for the architecture this program was built for; `None`
/// for one Lambda does not offer.
pub fn host_architecture() -> Option<&'static str> {
    match std::env::consts::ARCH {
        "x86_64" => Some("x86_64"),
        "aarch64" => Some("arm64"),
        _ => None,
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
        assert_eq!(f.maximum_event_age(), Duration::from_secs(21_600));
        assert_eq!(f.event_retries(), 2);
        assert_eq!(
            f.arn(),
            "arn:aws:lambda:us-east-1:012345678912:function:hello"
        );
    }

    #[test]
    fn settings_reach_the_config_and_unset_ones_keep_lambdas_defaults() {
        let settings = FunctionSettings {
            handler: Some("app.handler".into()),
            timeout: Some(Duration::from_secs(30)),
            memory_mb: Some(512),
            reserved_concurrency: Some(2),
            max_concurrency: Some(8),
            env: BTreeMap::from([("A".into(), "1".into())]),
            logging: LoggingConfig {
                format: LogFormat::Json,
                ..LoggingConfig::default()
            },
            url_invoke_mode: InvokeMode::ResponseStream,
            event_invoke_config: Some(EventInvokeConfig {
                maximum_retry_attempts: 1,
                ..EventInvokeConfig::default()
            }),
            dead_letter_target: Some("arn:aws:sqs:us-east-1:012345678912:dlq".into()),
        };
        let f = FunctionConfig::from_settings("f", "/x/bootstrap", Some("/x".into()), settings);
        assert_eq!(f.handler(), "app.handler");
        assert_eq!((f.timeout, f.memory_mb), (Duration::from_secs(30), 512));
        assert_eq!(f.reserved_concurrency, Some(2));
        assert_eq!(f.max_concurrency, 8);
        assert_eq!(f.env["A"], "1");
        assert_eq!(f.logging.format, LogFormat::Json);
        assert_eq!(f.url_invoke_mode, InvokeMode::ResponseStream);
        assert_eq!(f.event_retries(), 1);
        assert_eq!(f.maximum_event_age(), Duration::from_secs(21_600));
        assert!(f.dead_letter_target.as_deref().unwrap().ends_with(":dlq"));
        assert_eq!(f.working_dir, Some(PathBuf::from("/x")));
        let plain = FunctionConfig::from_settings("f", "/x/bootstrap", None, Default::default());
        assert_eq!(plain, FunctionConfig::new("f", "/x/bootstrap"));
    }

    #[test]
    fn handler_and_log_group_defaults() {
        let mut f = FunctionConfig::new("hello", "/bin/true");
        assert_eq!(f.handler(), "bootstrap");
        assert_eq!(f.log_group(), "/aws/lambda/hello");
        f.handler = Some("app.handler".into());
        f.logging.log_group = Some("/shared".into());
        assert_eq!(f.handler(), "app.handler");
        assert_eq!(f.log_group(), "/shared");
    }

    #[test]
    fn logging_values_are_spelt_as_lambdas_api() {
        assert_eq!(LogFormat::parse("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::parse("Text"), Some(LogFormat::Text));
        assert_eq!(LogFormat::parse("json"), None);
        assert_eq!(
            LogLevel::parse("TRACE", &LogLevel::APPLICATION),
            Some(LogLevel::Trace)
        );
        assert_eq!(LogLevel::parse("TRACE", &LogLevel::SYSTEM), None);
        assert_eq!(LogLevel::parse("debug", &LogLevel::APPLICATION), None);
        for level in LogLevel::APPLICATION {
            assert_eq!(
                LogLevel::parse(level.as_str(), &LogLevel::APPLICATION),
                Some(level)
            );
        }
    }

    #[test]
    fn levels_apply_to_json_only_and_default_to_info() {
        let mut logging = LoggingConfig::default();
        assert_eq!(logging.format, LogFormat::Text);
        assert_eq!(logging.effective_application_level(), None);
        assert_eq!(logging.effective_system_level(), None);
        logging.format = LogFormat::Json;
        assert_eq!(logging.effective_application_level(), Some(LogLevel::Info));
        assert_eq!(logging.effective_system_level(), Some(LogLevel::Info));
        logging.application_level = Some(LogLevel::Fatal);
        assert_eq!(logging.effective_application_level(), Some(LogLevel::Fatal));
    }

    #[test]
    fn reserved_environment_variables_are_found_and_refused() {
        let mut f = FunctionConfig::new("hello", "/bin/true");
        f.env.insert("GREETING".into(), "hi".into());
        f.env.insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
        assert!(reserved_env_keys(&f.env).is_empty());
        assert!(f.validate().is_ok());
        f.env.insert("AWS_REGION".into(), "eu-west-1".into());
        f.env.insert("_HANDLER".into(), "x".into());
        assert_eq!(reserved_env_keys(&f.env), ["AWS_REGION", "_HANDLER"]);
        let error = f.validate().unwrap_err().to_string();
        assert!(
            error.contains("function `hello` sets AWS_REGION, _HANDLER"),
            "{error}"
        );
        assert!(RESERVED_ENV.iter().all(|key| is_reserved_env(key)));
        assert!(!is_reserved_env("aws_region"), "keys are case-sensitive");
    }

    #[test]
    fn the_host_architecture_has_lambdas_name() {
        let expected = if cfg!(target_arch = "x86_64") {
            Some("x86_64")
        } else if cfg!(target_arch = "aarch64") {
            Some("arm64")
        } else {
            None
        };
        assert_eq!(host_architecture(), expected);
    }

    #[test]
    fn names_are_validated() {
        assert!(FunctionConfig::new("a-b_C9", "x").validate().is_ok());
        for bad in ["", "a/b", "a b", "é", &"x".repeat(65)] {
            assert!(FunctionConfig::new(bad, "x").validate().is_err(), "{bad}");
        }
    }
}
