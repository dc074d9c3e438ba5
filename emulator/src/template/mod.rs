//! Reading the configuration formats users already have.
//!
//! Three sources describe functions, and all of them end up as one format-neutral [`Project`]
//! (a list of [`FunctionSpec`]s) that the emulator turns into running functions:
//!
//! 1. an AWS SAM template (`template.yaml` / `template.yml`): [`parse_sam`];
//! 2. a Serverless Framework file (`serverless.yml` / `serverless.yaml`): [`parse_serverless`];
//! 3. `[package.metadata.lambkin]` in a package's `Cargo.toml`: [`parse_package_metadata`] and
//!    [`package_functions`] (read per package, not discovered by [`load`]).
//!
//! [`load`] finds the first of the first two kinds in a directory, or reads the one file a
//! `--template` flag names. Nothing here starts processes or builds anything; paths are checked
//! (a function's code directory must exist and hold a Rust package or an executable `bootstrap`)
//! so that a bad configuration is reported before the emulator starts.
//!
//! Every problem is a [`ConfigError`] naming the file, the line and column where known, the
//! offending field and what to do about it. No input makes these parsers panic.

mod cargo;
mod check;
mod code;
mod error;
mod sam;
#[cfg(feature = "schedules")]
mod schedule;
mod serverless;
mod sqs;
mod yaml;

#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::apigw::{Cors, PayloadFormat, Route, RouteAuth, RouteError, Stage};
use crate::config::{EventInvokeConfig, InvokeMode, LoggingConfig};

pub use cargo::{package_functions, parse_package_metadata};
pub(crate) use check::{
    LoggingFields, check_concurrency, check_env_name, check_event_age, check_function_name,
    check_integration_timeout, check_log_format, check_log_group, check_log_level,
    check_max_concurrency, check_memory, check_retry_attempts, check_timeout, duplicate_route,
    is_os_only_runtime, managed_runtime_note, media_type, parse_method, parse_route_key,
    validate_path,
};
pub(crate) use code::{bootstrap_code, resolve_code};
pub use error::{ConfigError, ErrorKind};
pub(crate) use error::{Problem, position};
pub use sam::parse_sam;
pub use serverless::parse_serverless;

/// The file names [`load`] looks for, in order: the first one present wins.
pub const DISCOVERED_FILES: [&str; 4] = [
    "template.yaml",
    "template.yml",
    "serverless.yml",
    "serverless.yaml",
];

/// The longest timeout Lambda accepts, in seconds.
pub const MAX_TIMEOUT_SECS: u64 = 900;
/// The smallest memory size Lambda accepts, in MB.
pub const MIN_MEMORY_MB: u32 = 128;
/// The largest memory size Lambda accepts, in MB.
pub const MAX_MEMORY_MB: u32 = 10_240;

/// The HTTP methods a route may name (besides `ANY`), as API Gateway accepts them.
pub use crate::apigw::METHODS;

/// Everything one configuration file says about the functions to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The file that was read.
    pub source: PathBuf,
    /// Which format it was read as.
    pub format: Format,
    /// The functions, in the order the file lists them.
    pub functions: Vec<FunctionSpec>,
    /// Things the file declares that the emulator ignores (other resource types, non-HTTP
    /// events, …), one human-readable sentence each, to be shown as notes at start-up.
    pub notes: Vec<String>,
    /// The WebSocket APIs over the functions (SAM: `AWS::ApiGatewayV2::Api` with `ProtocolType:
    /// WEBSOCKET` and its routes; serverless.yml: `websocket` events).
    pub websockets: Vec<crate::websocket::WebSocketApi>,
    /// The Step Functions state machines (SAM: `AWS::Serverless::StateMachine`; serverless.yml:
    /// `stepFunctions.stateMachines`).
    pub state_machines: Vec<crate::state_machine::StateMachineConfig>,
}

/// The configuration formats this module reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// An AWS SAM (or plain CloudFormation) template.
    Sam,
    /// A Serverless Framework `serverless.yml`.
    Serverless,
    /// `[package.metadata.lambkin]` in a `Cargo.toml`.
    CargoMetadata,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Sam => "AWS SAM template",
            Format::Serverless => "Serverless Framework file",
            Format::CargoMetadata => "[package.metadata.lambkin]",
        })
    }
}

/// One function as a configuration file describes it.
///
/// Limits left `None` were not set anywhere; the emulator applies Lambda's defaults (3 s, 128 MB)
/// to them. Serverless Framework files always set both, to that framework's own defaults (6 s,
/// 1024 MB) when the file does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The function's name: the logical id (SAM), the function key (Serverless) or the binary
    /// name (Cargo metadata).
    pub name: String,
    /// Where the executable comes from.
    pub code: Code,
    /// The handler string as written (`_HANDLER` for the instances), if any.
    pub handler: Option<String>,
    /// Lambda's logging controls (SAM `LoggingConfig`, Serverless `logs`, Cargo `log_format` /
    /// `log_level`).
    pub logging: LoggingConfig,
    /// Longest run of one invocation (1 s to 900 s).
    pub timeout: Option<Duration>,
    /// Memory size in MB (128 to 10240).
    pub memory_mb: Option<u32>,
    /// Most instances running at once.
    pub reserved_concurrency: Option<usize>,
    /// Invocations one instance may run at once (1 to 1600; Lambda Managed Instances'
    /// `PerExecutionEnvironmentMaxConcurrency`).
    pub max_concurrency: Option<u32>,
    /// The function's environment variables.
    pub env: BTreeMap<String, String>,
    /// The HTTP routes (API Gateway events) that invoke the function.
    pub routes: Vec<RouteSpec>,
    /// Whether the function has a function URL.
    pub function_url: bool,
    /// How its function URL answers (SAM `FunctionUrlConfig.InvokeMode`).
    pub url_invoke_mode: InvokeMode,
    /// Its function URL's CORS (SAM `FunctionUrlConfig.Cors`).
    pub url_cors: Option<Cors>,
    /// The schedules that invoke it (SAM `Schedule` / `ScheduleV2` events, serverless.yml
    /// `schedule` events).
    #[cfg(feature = "schedules")]
    pub schedules: Vec<crate::sources::schedule::Schedule>,
    /// The SQS event source mappings that invoke it (SAM `SQS` events, serverless.yml `sqs`
    /// events).
    pub sqs: Vec<crate::sources::sqs::SqsSource>,
    /// Asynchronous invocation settings (SAM `EventInvokeConfig`, serverless.yml
    /// `maximumRetryAttempts`, `maximumEventAge`, `destinations`).
    pub event_invoke_config: Option<EventInvokeConfig>,
    /// The dead-letter target's ARN (SAM `DeadLetterQueue`, CloudFormation `DeadLetterConfig`,
    /// serverless.yml `onError`).
    pub dead_letter_target: Option<String>,
}

impl FunctionSpec {
    /// A function with nothing but its name and code set.
    pub fn new(name: impl Into<String>, code: Code) -> Self {
        FunctionSpec {
            name: name.into(),
            code,
            handler: None,
            logging: LoggingConfig::default(),
            timeout: None,
            memory_mb: None,
            reserved_concurrency: None,
            max_concurrency: None,
            env: BTreeMap::new(),
            routes: Vec::new(),
            function_url: false,
            url_invoke_mode: InvokeMode::Buffered,
            url_cors: None,
            #[cfg(feature = "schedules")]
            schedules: Vec::new(),
            sqs: Vec::new(),
            event_invoke_config: None,
            dead_letter_target: None,
        }
    }
}

/// Where a function's executable comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// A binary of a Rust package, built with Cargo.
    RustPackage {
        /// The directory holding the package's `Cargo.toml`.
        package_dir: PathBuf,
        /// The binary target; `None` when the package's only binary is meant (never `None` when
        /// the package has several).
        bin: Option<String>,
    },
    /// A directory holding an executable `bootstrap` (the `provided.al2023` convention, any
    /// language), run as it is.
    Bootstrap {
        /// The directory; the executable is `dir/bootstrap`.
        dir: PathBuf,
    },
}

/// One HTTP route that invokes a function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    /// The upper-case method (`GET`, …), or `None` for `ANY`.
    pub method: Option<String>,
    /// The path template (`/users/{id}`, `/files/{proxy+}`) or `$default`.
    pub path: String,
    /// The event format the function receives.
    pub payload: PayloadFormat,
    /// The integration timeout (SAM `TimeoutInMillis`); `None` for the API type's default.
    pub integration_timeout: Option<Duration>,
    /// The `binaryMediaTypes` of the REST API the route belongs to (`image/png`, `*/*`).
    pub binary_media_types: Vec<String>,
    /// The CORS configuration of the API the route belongs to.
    pub cors: Option<Cors>,
    /// The stage of the API the route belongs to (`Prod` for a REST API, `$default` for the
    /// others, unless configured).
    pub stage: Stage,
    /// The authorizer the route requires (its own, else its API's default).
    pub auth: Option<RouteAuth>,
}

impl RouteSpec {
    /// A route for `method` (`None`: `ANY`) and `path` in `payload` format, with the API's
    /// defaults.
    pub fn new(method: Option<String>, path: impl Into<String>, payload: PayloadFormat) -> Self {
        RouteSpec {
            method,
            path: path.into(),
            payload,
            integration_timeout: None,
            binary_media_types: Vec::new(),
            cors: None,
            stage: Stage::of_format(payload),
            auth: None,
        }
    }

    /// The `$default` route in `payload` format.
    pub fn default_route(payload: PayloadFormat) -> Self {
        Self::new(None, Route::DEFAULT_KEY, payload)
    }

    /// Whether this is the `$default` route.
    pub fn is_default(&self) -> bool {
        self.path == Route::DEFAULT_KEY
    }

    /// The route key as API Gateway writes it: `GET /users/{id}`, `ANY /files/{proxy+}` or
    /// `$default`.
    pub fn key(&self) -> String {
        if self.is_default() {
            return Route::DEFAULT_KEY.to_owned();
        }
        format!("{} {}", self.method.as_deref().unwrap_or("ANY"), self.path)
    }

    /// The front's route for this one, invoking `function`.
    pub fn route(&self, function: &str) -> Result<Route, RouteError> {
        let mut route = Route::parse(&self.key(), function, self.payload)?
            .with_binary_media_types(self.binary_media_types.clone())
            .with_cors(self.cors.clone())
            .with_stage(self.stage.clone())
            .with_auth(self.auth.clone());
        if let Some(timeout) = self.integration_timeout {
            route = route.with_integration_timeout(timeout);
        }
        Ok(route)
    }
}

/// Finds and reads the project configuration for `dir`.
///
/// With `explicit` (a `--template` flag), reads that file, whatever its name; its format comes
/// from its name (`serverless.*` → Serverless Framework, `template.*`/`*.json` → SAM) or else its
/// content (a `Resources` section → SAM, a `functions` section → Serverless). A relative
/// `explicit` path is taken as given (relative to the current directory, like any CLI path).
///
/// Without it, looks in `dir` for [`DISCOVERED_FILES`] in order and reads the first present.
/// `Ok(None)` means there is none: the caller falls back to `[package.metadata.lambkin]` and
/// workspace discovery.
pub fn load(dir: &Path, explicit: Option<&Path>) -> Result<Option<Project>, ConfigError> {
    if let Some(file) = explicit {
        return read_file(file).map(Some);
    }
    for name in DISCOVERED_FILES {
        let file = dir.join(name);
        if file.is_file() {
            return read_file(&file).map(Some);
        }
    }
    Ok(None)
}

/// Reads one SAM or Serverless Framework file, its format told by its name or content (see
/// [`load`]).
pub fn read_file(file: &Path) -> Result<Project, ConfigError> {
    let text = read_text(file)?;
    match detect_format(file, &text) {
        Some(Format::Sam) => parse_sam(&text, file),
        Some(Format::Serverless) => parse_serverless(&text, file),
        Some(Format::CargoMetadata) => Err(ConfigError::new(
            file,
            ErrorKind::Unsupported,
            "a Cargo.toml is not a template",
        )
        .with_hint(
            "[package.metadata.lambkin] is read from every function package automatically; \
             --template takes a SAM template.yaml or a serverless.yml",
        )),
        None => Err(ConfigError::new(
            file,
            ErrorKind::Invalid,
            "neither an AWS SAM template (no `Resources` section) nor a Serverless Framework \
             file (no `functions` section)",
        )
        .with_hint("--template takes a SAM template.yaml or a serverless.yml")),
    }
}

/// Reads a file as UTF-8 text, as a [`ConfigError`] of kind [`ErrorKind::Read`] on failure.
fn read_text(file: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(file).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => "check the path given to --template",
            std::io::ErrorKind::InvalidData => "the file must be UTF-8 text",
            _ => "check the file's permissions",
        };
        ConfigError::new(file, ErrorKind::Read, format!("cannot read the file: {e}"))
            .with_hint(hint)
    })
}

/// The format of `file`, from its name first and then from its top-level keys.
fn detect_format(file: &Path, text: &str) -> Option<Format> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if name.starts_with("serverless.") {
        return Some(Format::Serverless);
    }
    if name == "cargo.toml" {
        return Some(Format::CargoMetadata);
    }
    if name.starts_with("template.") {
        return Some(Format::Sam);
    }
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let map = value.as_mapping()?;
    if map.contains_key("Resources") {
        Some(Format::Sam)
    } else if map.contains_key("functions") || map.contains_key("service") {
        Some(Format::Serverless)
    } else if name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml") {
        // Let the SAM parser say what is missing.
        Some(Format::Sam)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
