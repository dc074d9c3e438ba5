//! The environment Lambda gives an instance: its reserved variables, the function's own, and what
//! the emulator passes on from its own environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::clock::date_path;
use crate::config::{FunctionConfig, LogFormat};

/// Variables of the emulator's environment passed on to every instance, so functions can find
/// tools and honour the developer's log settings.
const INHERITED_ENV: &[&str] = &["PATH", "RUST_LOG", "RUST_BACKTRACE", "LD_LIBRARY_PATH"];

/// Credentials passed on only with [`FunctionConfig::pass_aws_credentials`].
const CREDENTIAL_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
];

/// The function's working directory: configured, or the executable's directory.
pub(super) fn task_root(config: &FunctionConfig) -> PathBuf {
    config.working_dir.clone().unwrap_or_else(|| {
        config
            .executable
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| ".".into(), Path::to_path_buf)
    })
}

/// The environment Lambda gives an instance of `config` whose Runtime API is at `runtime_api`.
///
/// AWS documents the variables at
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>.
/// Reserved ones override the function's own variables; unreserved ones (`LANG`, `PATH`,
/// `LD_LIBRARY_PATH`, `AWS_XRAY_CONTEXT_MISSING`) are defaults the function may change.
/// Differences, on purpose: `LAMBDA_TASK_ROOT` and `LAMBDA_RUNTIME_DIR` are the function's code
/// directory (AWS: `/var/task` and `/var/runtime`), and `PATH` is the developer's, so the
/// function finds the tools installed here. `AWS_EXECUTION_ENV` is left undefined, as AWS leaves
/// it for the OS-only runtimes (`provided.*`), the only ones lambkin runs.
pub(crate) fn lambda_env(
    config: &FunctionConfig,
    runtime_api: SocketAddr,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for name in INHERITED_ENV {
        if let Ok(value) = std::env::var(name) {
            env.insert((*name).to_owned(), value);
        }
    }
    if config.pass_aws_credentials {
        for name in CREDENTIAL_ENV {
            if let Ok(value) = std::env::var(name) {
                env.insert((*name).to_owned(), value);
            }
        }
    }
    // Unreserved: Lambda's values, which the function's own variables may replace.
    env.insert("LANG".to_owned(), "en_US.UTF-8".to_owned());
    // "Lambda sets this to LOG_ERROR to avoid throwing runtime errors from the X-Ray SDK."
    env.insert(
        "AWS_XRAY_CONTEXT_MISSING".to_owned(),
        "LOG_ERROR".to_owned(),
    );
    // Not in AWS's list, but set by Lambda to `Text` or `JSON` from `LoggingConfig`
    // (https://github.com/awslabs/aws-lambda-powershell-runtime/issues/40); a function's own
    // value is kept unless its configuration asks for JSON.
    env.insert(
        "AWS_LAMBDA_LOG_FORMAT".to_owned(),
        LogFormat::Text.as_str().to_owned(),
    );
    env.extend(config.env.clone());
    // With the JSON format, Lambda passes the application log level to the runtime: "behind the
    // scenes Lambda sets the application log level in the runtime using the
    // AWS_LAMBDA_LOG_LEVEL environment variable"
    // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
    if let Some(level) = config.logging.effective_application_level() {
        env.insert(
            "AWS_LAMBDA_LOG_FORMAT".to_owned(),
            LogFormat::Json.as_str().to_owned(),
        );
        env.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.as_str().to_owned());
    }
    let root = task_root(config).to_string_lossy().into_owned();
    let stream = format!(
        "{}/[{}]{}",
        date_path(SystemTime::now()),
        config.version,
        uuid::Uuid::new_v4().simple()
    );
    let reserved = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", config.version.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        ),
        // Instances start when a request needs one; lambkin has no provisioned concurrency.
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", config.log_group()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_REGION", config.region.clone()),
        ("AWS_DEFAULT_REGION", config.region.clone()),
        ("_HANDLER", config.handler().to_owned()),
        ("LAMBDA_TASK_ROOT", root.clone()),
        ("LAMBDA_RUNTIME_DIR", root),
        ("TZ", ":UTC".to_owned()),
    ];
    env.extend(reserved.map(|(k, v)| (k.to_owned(), v)));
    // On Lambda Managed Instances, how many events the runtime may take at once, each by a
    // `/next` of its own: the function's `PerExecutionEnvironmentMaxConcurrency`
    // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-runtimes.html);
    // lambda_runtime's `run_concurrent` opens that many long polls. Absent on Lambda (default).
    if config.max_concurrency > 1 {
        env.insert(
            "AWS_LAMBDA_MAX_CONCURRENCY".to_owned(),
            config.max_concurrency.to_string(),
        );
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_lambdas() {
        let mut config = FunctionConfig::new("hello", "/opt/fn/hello");
        config.env.insert("GREETING".into(), "hi".into());
        config.env.insert("TZ".into(), "Europe/Paris".into());
        config.env.insert("_HANDLER".into(), "mine".into());
        config.env.insert("LANG".into(), "fr_FR.UTF-8".into());
        let env = lambda_env(&config, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:4000");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "hello");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
        assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/hello");
        assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"].contains("/[$LATEST]"));
        assert_eq!(env["AWS_REGION"], "us-east-1");
        assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/opt/fn");
        assert_eq!(env["LAMBDA_RUNTIME_DIR"], "/opt/fn");
        assert_eq!(env["AWS_XRAY_CONTEXT_MISSING"], "LOG_ERROR");
        assert_eq!(env["GREETING"], "hi");
        // Reserved: Lambda's value wins; unreserved: the function's.
        assert_eq!(env["TZ"], ":UTC");
        assert_eq!(env["_HANDLER"], "bootstrap", "no handler configured");
        assert_eq!(env["LANG"], "fr_FR.UTF-8");
        // OS-only runtimes have no AWS_EXECUTION_ENV.
        assert!(!env.contains_key("AWS_EXECUTION_ENV"));
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "Text");
        assert!(
            !env.contains_key("AWS_LAMBDA_LOG_LEVEL"),
            "Text has no level"
        );
        assert!(!env.contains_key("AWS_ACCESS_KEY_ID") || config.pass_aws_credentials);
        assert!(
            !env.contains_key("AWS_LAMBDA_MAX_CONCURRENCY"),
            "one invocation per instance: no variable"
        );
    }

    #[test]
    fn max_concurrency_reaches_the_runtime() {
        let mut config = FunctionConfig::new("many", "/opt/fn/many");
        config.max_concurrency = 4;
        let env = lambda_env(&config, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["AWS_LAMBDA_MAX_CONCURRENCY"], "4");
    }

    #[test]
    fn handler_and_logging_config_reach_the_environment() {
        let mut config = FunctionConfig::new("py", "/opt/py/bootstrap");
        config.handler = Some("app.handler".into());
        config
            .env
            .insert("AWS_LAMBDA_LOG_FORMAT".into(), "Text".into());
        config.logging.format = LogFormat::Json;
        let env = lambda_env(&config, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["_HANDLER"], "app.handler");
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON", "LoggingConfig wins");
        assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "INFO", "JSON's default level");

        config.logging.application_level = Some(crate::config::LogLevel::Debug);
        config.logging.log_group = Some("/custom/group".into());
        let env = lambda_env(&config, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "DEBUG");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/custom/group");

        // A function's own AWS_LAMBDA_LOG_FORMAT stays when its LoggingConfig is the default.
        let mut plain = FunctionConfig::new("plain", "/opt/plain/bootstrap");
        plain
            .env
            .insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
        let env = lambda_env(&plain, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
    }
}
