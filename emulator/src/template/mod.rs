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
mod sam;
mod serverless;
mod yaml;

#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{LogFormat, LogLevel, LoggingConfig};

pub use cargo::{package_functions, parse_package_metadata};
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
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

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
    /// The function's environment variables.
    pub env: BTreeMap<String, String>,
    /// The HTTP routes (API Gateway events) that invoke the function.
    pub routes: Vec<RouteSpec>,
    /// Whether the function has a function URL.
    pub function_url: bool,
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
            env: BTreeMap::new(),
            routes: Vec::new(),
            function_url: false,
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
    pub payload: Payload,
    /// The integration timeout (SAM `TimeoutInMillis`); `None` for the API type's default.
    pub integration_timeout: Option<Duration>,
    /// The `binaryMediaTypes` of the REST API the route belongs to (`image/png`, `*/*`).
    pub binary_media_types: Vec<String>,
}

impl RouteSpec {
    /// The route key of the catch-all route.
    pub const DEFAULT: &'static str = "$default";

    /// A route for `method` (`None`: `ANY`) and `path` in `payload` format, with the API's
    /// defaults.
    pub fn new(method: Option<String>, path: impl Into<String>, payload: Payload) -> Self {
        RouteSpec {
            method,
            path: path.into(),
            payload,
            integration_timeout: None,
            binary_media_types: Vec::new(),
        }
    }

    /// The `$default` route in `payload` format.
    pub fn default_route(payload: Payload) -> Self {
        Self::new(None, Self::DEFAULT, payload)
    }

    /// Whether this is the `$default` route.
    pub fn is_default(&self) -> bool {
        self.path == Self::DEFAULT
    }

    /// The route key as API Gateway writes it: `GET /users/{id}`, `ANY /files/{proxy+}` or
    /// `$default`.
    pub fn key(&self) -> String {
        if self.is_default() {
            return Self::DEFAULT.to_owned();
        }
        format!("{} {}", self.method.as_deref().unwrap_or("ANY"), self.path)
    }

    /// The front's route for this one, invoking `function`.
    pub fn route(&self, function: &str) -> Result<crate::apigw::Route, crate::apigw::RouteError> {
        let mut route = crate::apigw::Route::parse(&self.key(), function, self.payload.format())?
            .with_binary_media_types(self.binary_media_types.clone());
        if let Some(timeout) = self.integration_timeout {
            route = route.with_integration_timeout(timeout);
        }
        Ok(route)
    }
}

/// The API Gateway event format a route delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payload {
    /// REST API proxy integration, payload format 1.0.
    Rest,
    /// HTTP API, payload format 2.0.
    Http,
    /// HTTP API set to payload format 1.0: the REST-shaped event, HTTP API answers.
    HttpV1,
    /// An Application Load Balancer target group (Cargo metadata `payload = "alb"`).
    Alb,
}

impl Payload {
    /// `"1.0"` → [`Payload::Rest`], `"2.0"` → [`Payload::Http`].
    pub fn from_version(version: &str) -> Option<Self> {
        match version.trim() {
            "1.0" => Some(Payload::Rest),
            "2.0" => Some(Payload::Http),
            _ => None,
        }
    }

    /// An HTTP API's `PayloadFormatVersion`: `"1.0"` → [`Payload::HttpV1`], `"2.0"` →
    /// [`Payload::Http`].
    pub fn from_http_api_version(version: &str) -> Option<Self> {
        match Self::from_version(version)? {
            Payload::Rest => Some(Payload::HttpV1),
            other => Some(other),
        }
    }

    /// The event format the front builds for routes of this payload.
    pub fn format(self) -> crate::apigw::PayloadFormat {
        match self {
            Payload::Rest => crate::apigw::PayloadFormat::Rest,
            Payload::Http => crate::apigw::PayloadFormat::Http,
            Payload::HttpV1 => crate::apigw::PayloadFormat::HttpV1,
            Payload::Alb => crate::apigw::PayloadFormat::Alb,
        }
    }

    /// The payload format version: `"1.0"` or `"2.0"` (`"alb"` for a load balancer).
    pub fn version(self) -> &'static str {
        match self {
            Payload::Rest | Payload::HttpV1 => "1.0",
            Payload::Http => "2.0",
            Payload::Alb => "alb",
        }
    }
}

/// What kind of problem a [`ConfigError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The file could not be read (missing, unreadable, not UTF-8).
    Read,
    /// The file is not valid YAML / TOML.
    Syntax,
    /// A field has the wrong type, a bad value, or a required field is missing.
    Invalid,
    /// An intrinsic function or variable the emulator cannot evaluate locally.
    Unresolved,
    /// Something the emulator cannot run (container images, code in S3, …).
    Unsupported,
    /// A function's code directory is missing or holds neither a Rust package nor an executable
    /// `bootstrap`.
    Code,
}

/// A configuration problem: which file, where in it, what is wrong, and what to do.
///
/// Displayed as `file:line:column: message (at `field`)`, then `hint: …` on its own line.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(self))]
pub struct ConfigError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// 1-based line, where known.
    pub line: Option<u32>,
    /// 1-based column, where known.
    pub column: Option<u32>,
    /// The field, as a dotted path (`Resources.Hello.Properties.Timeout`), where one applies.
    pub field: Option<String>,
    /// What kind of problem this is.
    pub kind: ErrorKind,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

/// A 1-based position as stored in [`ConfigError`] (saturating).
pub(crate) fn position(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn render(e: &ConfigError) -> String {
    let mut out = e.file.display().to_string();
    if let Some(line) = e.line {
        out.push_str(&format!(":{line}"));
        if let Some(column) = e.column {
            out.push_str(&format!(":{column}"));
        }
    }
    out.push_str(": ");
    out.push_str(&e.message);
    if let Some(field) = &e.field {
        out.push_str(&format!(" (at `{field}`)"));
    }
    if let Some(hint) = &e.hint {
        out.push_str("\n  hint: ");
        out.push_str(hint);
    }
    out
}

impl ConfigError {
    /// An error about a whole file (no position).
    pub fn new(file: impl Into<PathBuf>, kind: ErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            column: None,
            field: None,
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
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

// ---------------------------------------------------------------------------------------------
// Validation shared by the formats. Each returns the problem as (message, hint).

/// A validation failure before it is given a file and a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub(crate) fn invalid(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Problem {
            kind: ErrorKind::Invalid,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub(crate) fn code(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Problem {
            kind: ErrorKind::Code,
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// `GET`, `get`, `Any`, … → `Some("GET")` / `None` (ANY).
pub(crate) fn parse_method(method: &str) -> Result<Option<String>, Problem> {
    let upper = method.trim().to_ascii_uppercase();
    if upper == "ANY" {
        return Ok(None);
    }
    if METHODS.contains(&upper.as_str()) {
        return Ok(Some(upper));
    }
    Err(Problem::invalid(
        format!("`{method}` is not an HTTP method API Gateway routes"),
        "use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY",
    ))
}

/// Characters API Gateway accepts in a path variable name.
fn valid_variable(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Checks a route path template: starts with `/`, no empty segments, variables are whole
/// segments (`{id}`), a greedy `{name+}` only as the last segment, no variable twice.
pub(crate) fn validate_path(path: &str) -> Result<(), Problem> {
    let hint = "write paths like /users/{id} or /files/{proxy+}";
    if !path.starts_with('/') {
        return Err(Problem::invalid(
            format!("route path `{path}` must start with `/`"),
            hint,
        ));
    }
    if path == "/" {
        return Ok(());
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        return Err(Problem::invalid(
            format!("route path `{path}` contains {c:?}"),
            "a route path has no spaces, query string or fragment",
        ));
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    let mut names: Vec<&str> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            return Err(Problem::invalid(
                format!("route path `{path}` has an empty segment (`//` or a trailing `/`)"),
                hint,
            ));
        }
        if !segment.contains(['{', '}']) {
            continue;
        }
        let inner = segment
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .filter(|s| !s.contains(['{', '}']));
        let Some(inner) = inner else {
            return Err(Problem::invalid(
                format!(
                    "route path `{path}`: `{segment}` has unbalanced braces or text around a \
                     variable"
                ),
                "a path variable is a whole segment: /users/{id}, not /users/{id or /user-{id}",
            ));
        };
        let (name, greedy) = match inner.strip_suffix('+') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        if !valid_variable(name) {
            return Err(Problem::invalid(
                format!("route path `{path}`: `{segment}` is not a valid path variable"),
                "variable names use letters, digits, `_`, `-` and `.`",
            ));
        }
        if greedy && i + 1 != segments.len() {
            return Err(Problem::invalid(
                format!("route path `{path}`: the greedy variable `{segment}` is not last"),
                "a greedy variable such as {proxy+} must be the last segment",
            ));
        }
        if names.contains(&name) {
            return Err(Problem::invalid(
                format!("route path `{path}`: variable `{name}` appears twice"),
                "give each path variable its own name",
            ));
        }
        names.push(name);
    }
    Ok(())
}

/// Parses a route key: `GET /users/{id}`, `ANY /x`, `$default`.
pub(crate) fn parse_route_key(key: &str, payload: Payload) -> Result<RouteSpec, Problem> {
    let trimmed = key.trim();
    if trimmed == RouteSpec::DEFAULT {
        return Ok(RouteSpec::default_route(payload));
    }
    let mut parts = trimmed.split_whitespace();
    let (Some(method), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Problem::invalid(
            format!("route `{key}` is not `METHOD /path` nor `$default`"),
            "write routes like \"GET /users/{id}\", \"ANY /files/{proxy+}\" or \"$default\"",
        ));
    };
    let method = parse_method(method)?;
    validate_path(path)?;
    Ok(RouteSpec::new(method, path, payload))
}

/// Checks a timeout in seconds (1 to 900).
pub(crate) fn check_timeout(seconds: i64) -> Result<Duration, Problem> {
    match u64::try_from(seconds) {
        Ok(s) if (1..=MAX_TIMEOUT_SECS).contains(&s) => Ok(Duration::from_secs(s)),
        _ => Err(Problem::invalid(
            format!("timeout {seconds} s is out of Lambda's range"),
            format!("a timeout is a whole number of seconds from 1 to {MAX_TIMEOUT_SECS}"),
        )),
    }
}

/// The shortest integration timeout API Gateway accepts, in ms.
pub const MIN_INTEGRATION_TIMEOUT_MS: u64 = 50;

/// Checks an integration timeout (`TimeoutInMillis`) of a route of `payload`: 50 ms to 29 s for
/// REST APIs, to 30 s for HTTP APIs (SAM `Api` and `HttpApi` events,
/// <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-api.html>;
/// `AWS::ApiGatewayV2::Integration` `TimeoutInMillis`).
pub(crate) fn check_integration_timeout(ms: i64, payload: Payload) -> Result<Duration, Problem> {
    let (max, api) = match payload {
        Payload::Rest => (
            crate::apigw::REST_INTEGRATION_TIMEOUT,
            "a REST API (Api event)",
        ),
        _ => (
            crate::apigw::HTTP_INTEGRATION_TIMEOUT,
            "an HTTP API (HttpApi event)",
        ),
    };
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    match u64::try_from(ms) {
        Ok(m) if (MIN_INTEGRATION_TIMEOUT_MS..=max_ms).contains(&m) => Ok(Duration::from_millis(m)),
        _ => Err(Problem::invalid(
            format!("integration timeout {ms} ms is out of API Gateway's range"),
            format!(
                "the integration timeout of {api} is a whole number of milliseconds from \
                 {MIN_INTEGRATION_TIMEOUT_MS} to {max_ms}"
            ),
        )),
    }
}

/// A `binaryMediaTypes` entry as written in a template: SAM and OpenAPI files may write `/` as
/// `~1` (`image~1png`, `*~1*`).
pub(crate) fn media_type(entry: &str) -> String {
    entry.trim().replace("~1", "/")
}

/// Checks a memory size in MB (128 to 10240).
pub(crate) fn check_memory(mb: i64) -> Result<u32, Problem> {
    match u32::try_from(mb) {
        Ok(m) if (MIN_MEMORY_MB..=MAX_MEMORY_MB).contains(&m) => Ok(m),
        _ => Err(Problem::invalid(
            format!("memory size {mb} MB is out of Lambda's range"),
            format!(
                "a memory size is a whole number of MB from {MIN_MEMORY_MB} to {MAX_MEMORY_MB}"
            ),
        )),
    }
}

/// Checks a reserved concurrency (0 or more).
pub(crate) fn check_concurrency(n: i64) -> Result<usize, Problem> {
    usize::try_from(n).map_err(|_| {
        Problem::invalid(
            format!("reserved concurrency {n} is negative"),
            "reserved concurrency is a whole number, 0 or more",
        )
    })
}

/// Checks a function name as Lambda does (it also ends up in URLs and ARNs).
pub(crate) fn check_function_name(name: &str) -> Result<(), Problem> {
    if crate::config::is_function_name(name) {
        Ok(())
    } else {
        Err(Problem::invalid(
            format!("`{name}` is not a valid Lambda function name"),
            "use 1 to 64 letters, digits, `-` and `_`",
        ))
    }
}

/// Checks an environment variable name (Lambda: a letter, then letters, digits and `_`; not one
/// it reserves).
pub(crate) fn check_env_name(name: &str) -> Result<(), Problem> {
    if crate::config::is_reserved_env(name) {
        return Err(Problem::invalid(
            format!("`{name}` is reserved: Lambda sets it for every function"),
            "remove it (Lambda refuses it too: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)",
        ));
    }
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Problem::invalid(
            format!("`{name}` is not a valid environment variable name"),
            "start with a letter, then use letters, digits and `_`",
        ))
    }
}

/// Lambda's logging controls as a configuration file writes them, each checked on its own,
/// before they are combined (see [`LoggingFields::finish`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LoggingFields {
    pub format: Option<LogFormat>,
    pub application_level: Option<LogLevel>,
    pub system_level: Option<LogLevel>,
    pub log_group: Option<String>,
}

impl LoggingFields {
    /// These fields with `own`'s on top, field by field (SAM's Globals and Serverless's
    /// provider-level `logs.lambda` merge this way under a function's own).
    pub(crate) fn overlay(self, own: LoggingFields) -> LoggingFields {
        LoggingFields {
            format: own.format.or(self.format),
            application_level: own.application_level.or(self.application_level),
            system_level: own.system_level.or(self.system_level),
            log_group: own.log_group.or(self.log_group),
        }
    }

    /// The function's `LoggingConfig`. Levels need the JSON format (AWS: "to use log-level
    /// filtering, your function must be configured to use the JSON log format"); a level with
    /// Text is refused, as the AWS CDK refuses it, rather than silently ignored.
    pub(crate) fn finish(self) -> Result<LoggingConfig, Problem> {
        let format = self.format.unwrap_or_default();
        if format == LogFormat::Text
            && (self.application_level.is_some() || self.system_level.is_some())
        {
            return Err(Problem::invalid(
                "a log level is set but the log format is Text; Lambda filters by level only \
                 JSON logs",
                "set the log format to JSON too, or remove the log level",
            ));
        }
        Ok(LoggingConfig {
            format,
            application_level: self.application_level,
            system_level: self.system_level,
            log_group: self.log_group,
        })
    }
}

/// Checks a log format: `JSON` or `Text`, spelt as Lambda's API does.
pub(crate) fn check_log_format(text: &str) -> Result<LogFormat, Problem> {
    LogFormat::parse(text).ok_or_else(|| {
        Problem::invalid(
            format!("log format `{text}` is neither JSON nor Text"),
            "write JSON or Text (Lambda's spelling)",
        )
    })
}

/// Checks an application (`system: false`) or system log level, spelt as Lambda's API does.
pub(crate) fn check_log_level(text: &str, system: bool) -> Result<LogLevel, Problem> {
    let (allowed, kind): (&[LogLevel], &str) = if system {
        (&LogLevel::SYSTEM, "a system")
    } else {
        (&LogLevel::APPLICATION, "an application")
    };
    LogLevel::parse(text, allowed).ok_or_else(|| {
        let names: Vec<&str> = allowed.iter().map(|l| l.as_str()).collect();
        Problem::invalid(
            format!("`{text}` is not {kind} log level Lambda accepts"),
            format!("write one of {}", names.join(", ")),
        )
    })
}

/// Checks a CloudWatch log group name (Lambda: 1 to 512 of letters, digits, `.-_/#`).
pub(crate) fn check_log_group(name: &str) -> Result<String, Problem> {
    let ok = (1..=512).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_/#".contains(&b));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(Problem::invalid(
            format!("`{name}` is not a log group name Lambda accepts"),
            "use 1 to 512 letters, digits and `.-_/#`, e.g. /aws/lambda/my-function",
        ))
    }
}

/// Whether a function of runtime `runtime` is one lambkin runs: the OS-only runtimes
/// (`provided`, `provided.al2`, `provided.al2023`), whose code is an executable `bootstrap` or a
/// Rust package. A managed runtime (`python3.12`, `nodejs22.x`, …) would need that language's
/// runtime, which lambkin does not bring.
pub(crate) fn is_os_only_runtime(runtime: &str) -> bool {
    runtime == "provided" || runtime.starts_with("provided.")
}

/// The note for a function of a managed runtime, which is not served.
pub(crate) fn managed_runtime_note(function: &str, runtime: &str) -> String {
    format!(
        "function `{function}` (runtime {runtime}) is not served: lambkin runs only the OS-only \
         runtimes (provided.al2023, provided.al2). To run it here, give it Runtime \
         provided.al2023 and an executable `bootstrap` that starts the language's runtime \
         interface client with the handler, e.g. `exec python3 -m awslambdaric \"$_HANDLER\"` \
         (pip install awslambdaric) or `exec npx aws-lambda-ric \"$_HANDLER\"`"
    )
}

/// The function among `functions` that already has `route`'s key, if any.
pub(crate) fn duplicate_route(functions: &[FunctionSpec], route: &RouteSpec) -> Option<String> {
    functions
        .iter()
        .find(|f| f.routes.iter().any(|r| r.key() == route.key()))
        .map(|f| f.name.clone())
}

// ---------------------------------------------------------------------------------------------
// Code directories.

/// Resolves a function's code directory: a Rust package (a `Cargo.toml` with a `[package]`) or a
/// directory holding an executable `bootstrap`.
///
/// `bin` names the binary to use (it must exist); otherwise `handler`, when it names one of the
/// package's binaries, picks it; otherwise the package must have exactly one binary.
pub(crate) fn resolve_code(
    path: &Path,
    bin: Option<&str>,
    handler: Option<&str>,
) -> Result<Code, Problem> {
    // CodeUri may name the Cargo.toml itself.
    let dir = if path.file_name().is_some_and(|n| n == "Cargo.toml") && path.is_file() {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    // Canonical, so `a/../b` and `b` are the same package, as `cargo metadata` names it.
    let Some(dir) = dir.canonicalize().ok().filter(|d| d.is_dir()) else {
        return Err(Problem::code(
            format!("code directory `{}` does not exist", dir.display()),
            "point it at a Rust package (a directory with Cargo.toml) or a directory holding an \
             executable `bootstrap`, relative to the configuration file",
        ));
    };
    let dir = dir.as_path();
    let manifest = dir.join("Cargo.toml");
    if manifest.is_file() {
        let text = std::fs::read_to_string(&manifest).map_err(|e| {
            Problem::code(
                format!("cannot read `{}`: {e}", manifest.display()),
                "check the file's permissions",
            )
        })?;
        let package = cargo::package_info(&text, dir).map_err(|p| Problem {
            message: format!("{}: {}", manifest.display(), p.message),
            ..p
        })?;
        let Some(package) = package else {
            return Err(Problem::code(
                format!(
                    "`{}` is a workspace manifest, not a package",
                    manifest.display()
                ),
                "point the code directory at the function's own package directory",
            ));
        };
        let chosen = choose_bin(&package, bin, handler)?;
        return Ok(Code::RustPackage {
            package_dir: dir.to_path_buf(),
            bin: Some(chosen),
        });
    }
    if let Some(code) = bootstrap_code(dir)? {
        return Ok(code);
    }
    Err(Problem::code(
        format!(
            "code directory `{}` holds neither a Cargo.toml nor an executable `bootstrap`",
            dir.display()
        ),
        "lambkin runs Rust packages and provided.al2023-style `bootstrap` executables; point \
         the code directory at one of them",
    ))
}

/// The `bootstrap` executable in `dir` as a function's code; `None` when there is none, an error
/// when it is not executable.
pub(crate) fn bootstrap_code(dir: &Path) -> Result<Option<Code>, Problem> {
    let bootstrap = dir.join("bootstrap");
    if !bootstrap.is_file() {
        return Ok(None);
    }
    if !is_executable(&bootstrap) {
        return Err(Problem::code(
            format!("`{}` is not executable", bootstrap.display()),
            format!("run `chmod +x {}`", bootstrap.display()),
        ));
    }
    // Canonical, as resolve_code makes every code directory.
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Ok(Some(Code::Bootstrap { dir }))
}

/// Picks the binary of `package` a function runs.
fn choose_bin(
    package: &cargo::PackageInfo,
    bin: Option<&str>,
    handler: Option<&str>,
) -> Result<String, Problem> {
    let list = || package.bins.join(", ");
    if let Some(bin) = bin {
        if package.bins.iter().any(|b| b == bin) {
            return Ok(bin.to_owned());
        }
        return Err(Problem::code(
            format!(
                "package `{}` has no binary `{bin}` (it has: {})",
                package.name,
                list()
            ),
            "name one of the package's [[bin]] targets",
        ));
    }
    if let Some(b) = handler.and_then(|h| package.bins.iter().find(|b| *b == h)) {
        return Ok(b.clone());
    }
    match package.bins.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err(Problem::code(
            format!("package `{}` has no binary target", package.name),
            "a function package needs src/main.rs or a [[bin]] target",
        )),
        _ => Err(Problem::code(
            format!(
                "package `{}` has several binaries ({}) and nothing says which one to run",
                package.name,
                list()
            ),
            "set the handler to the binary's name (SAM: `Handler`, or `Metadata.BuildProperties.Binary`)",
        )),
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests;
