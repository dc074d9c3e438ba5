//! Checks shared by the readers (routes by the front's grammar, Lambda's limits, names, logging
//! controls, runtimes); each returns a [`Problem`] the reader places in its file.

use std::time::Duration;

use super::error::Problem;
use super::{FunctionSpec, MAX_MEMORY_MB, MAX_TIMEOUT_SECS, MIN_MEMORY_MB, RouteSpec};
use crate::apigw::{PayloadFormat, Route, RouteError, RouteKey};
use crate::config::{LogFormat, LogLevel, LoggingConfig};

/// `GET`, `get`, `Any`, … → `Some("GET")` / `None` (ANY), by the front's grammar.
pub(crate) fn parse_method(method: &str) -> Result<Option<String>, Problem> {
    let method = RouteKey::parse_method(method).map_err(route_problem)?;
    Ok(method.map(|m| m.as_str().to_owned()))
}

/// Checks a route path template by the front's grammar ([`RouteKey::check_path`]).
pub(crate) fn validate_path(path: &str) -> Result<(), Problem> {
    RouteKey::check_path(path).map_err(route_problem)
}

/// Parses a route key by the front's grammar: `GET /users/{id}`, `ANY /x`, `$default`.
pub(crate) fn parse_route_key(key: &str, payload: PayloadFormat) -> Result<RouteSpec, Problem> {
    let key = RouteKey::parse(key).map_err(route_problem)?;
    let method = key.method().map(|m| m.as_str().to_owned());
    Ok(RouteSpec::new(
        method,
        key.path().unwrap_or(Route::DEFAULT_KEY),
        payload,
    ))
}

/// A route key the front refuses, as a configuration problem with what to write instead.
fn route_problem(error: RouteError) -> Problem {
    let hint = match &error {
        RouteError::Malformed { .. } => {
            "write routes like \"GET /users/{id}\", \"ANY /files/{proxy+}\" or \"$default\""
        }
        RouteError::BadMethod { .. } => "use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY",
        RouteError::BadCharacter { .. } => "a route path has no spaces, query string or fragment",
        RouteError::BadVariable { .. } => {
            "a path variable is a whole segment named with letters, digits, `_`, `-` and `.`: \
             /users/{id}, not /users/{id or /user-{id}"
        }
        RouteError::GreedyNotLast { .. } => {
            "a greedy variable such as {proxy+} must be the last segment"
        }
        RouteError::DuplicateVariable { .. } => "give each path variable its own name",
        _ => "write paths like /users/{id} or /files/{proxy+}",
    };
    Problem::invalid(error.to_string(), hint)
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
pub(crate) fn check_integration_timeout(
    ms: i64,
    payload: PayloadFormat,
) -> Result<Duration, Problem> {
    let api = match payload {
        PayloadFormat::Rest => "a REST API (Api event)",
        _ => "an HTTP API (HttpApi event)",
    };
    let max = payload
        .integration_timeout()
        .unwrap_or(crate::apigw::HTTP_INTEGRATION_TIMEOUT);
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

/// Checks a function's per-instance concurrency as Lambda checks `PerExecutionEnvironmentMaxConcurrency`:
/// "Valid Range: Minimum value of 1. Maximum value of 1600"
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_LambdaManagedInstancesCapacityProviderConfig.html>).
pub(crate) fn check_max_concurrency(n: i64) -> Result<u32, Problem> {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=1600).contains(n))
        .ok_or_else(|| {
            Problem::invalid(
                format!("max concurrency {n} is out of range"),
                "max concurrency per instance is 1 to 1600",
            )
        })
}

/// Checks `MaximumRetryAttempts` as Lambda does: 0 to 2
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html>).
pub(crate) fn check_retry_attempts(n: i64) -> Result<u32, Problem> {
    u32::try_from(n).ok().filter(|n| *n <= 2).ok_or_else(|| {
        Problem::invalid(
            format!("maximum retry attempts {n} is out of range"),
            "Lambda retries a failed asynchronous invocation 0, 1 or 2 times",
        )
    })
}

/// Checks `MaximumEventAgeInSeconds` as Lambda does: 60 to 21600 seconds
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html>).
pub(crate) fn check_event_age(seconds: i64) -> Result<Duration, Problem> {
    u64::try_from(seconds)
        .ok()
        .filter(|s| (60..=21_600).contains(s))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            Problem::invalid(
                format!("maximum event age {seconds} s is out of range"),
                "the maximum event age is 60 to 21600 seconds (6 hours)",
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
