//! Reading and checking requests: bodies, names and qualifiers, and each setting within
//! Lambda's limits, answered with the error AWS gives for it.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::DeserializeOwned;

use super::model::{EnvironmentIn, LoggingConfigIn, QualifierQuery};
use crate::body::{BodyError, read_limited};
use crate::config::{LogFormat, LoggingConfig};
use crate::front::AwsError;
use crate::registry::split_name;

/// The runtimes whose code is an executable `bootstrap`, the only kind the emulator runs.
pub(super) const RUNTIMES: [&str; 3] = ["provided.al2023", "provided.al2", "provided"];

pub(super) fn validation(message: String) -> AwsError {
    AwsError::new(StatusCode::BAD_REQUEST, "ValidationException", message)
}

/// Reads and parses a JSON body of at most `limit` bytes.
pub(super) async fn json_body<T: DeserializeOwned + Default>(
    body: Body,
    limit: usize,
    operation: &str,
) -> Result<T, AwsError> {
    let bytes = match read_limited(body, limit).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => return Err(AwsError::too_large(limit, operation)),
        Err(BodyError::TimedOut) => return Err(AwsError::request_timeout()),
        Err(BodyError::Failed) => {
            return Err(AwsError::invalid_request_content(
                "Could not read the request body".to_owned(),
            ));
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&bytes).map_err(|error| {
        AwsError::invalid_request_content(format!(
            "Could not parse request body into json: {error}"
        ))
    })
}

/// The bare name of a path's function name (which may be an ARN), and its qualifier from the
/// name or the `Qualifier` query parameter.
pub(super) fn named(
    name: Result<UrlPath<String>, PathRejection>,
    query: Option<&QualifierQuery>,
) -> Result<(String, Option<String>), AwsError> {
    let UrlPath(name) = name.map_err(|e| AwsError::invalid_parameter(e.body_text()))?;
    let (bare, qualifier) = split_name(&name);
    check_name(bare)?;
    let qualifier = qualifier
        .map(str::to_owned)
        .or_else(|| query.and_then(|q| q.qualifier.clone()));
    Ok((bare.to_owned(), qualifier))
}

/// The project configuration's checks, answered as the API's `ValidationException`.
pub(super) fn checked<T>(checked: Result<T, crate::template::Problem>) -> Result<T, AwsError> {
    checked.map_err(|problem| {
        let hint = problem.hint.map(|h| format!(" ({h})")).unwrap_or_default();
        validation(format!(
            "1 validation error detected: {}{hint}",
            problem.message
        ))
    })
}

/// The name of an operation on the function itself: a qualifier (`hello:1`) is refused rather
/// than ignored, so a version is never changed by mistake.
pub(super) fn unqualified_name(
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<String, AwsError> {
    match named(name, None)? {
        (name, None) => Ok(name),
        (name, Some(qualifier)) => Err(qualified_refused(&format!("{name}:{qualifier}"))),
    }
}

pub(super) fn qualified_refused(name: &str) -> AwsError {
    AwsError::invalid_parameter(format!(
        "This operation takes an unqualified function name, not `{name}`."
    ))
}

pub(super) fn check_name(name: &str) -> Result<(), AwsError> {
    checked(crate::template::check_function_name(name))
}

pub(super) fn query<T: Default>(query: Result<Query<T>, QueryRejection>) -> Result<T, AwsError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| AwsError::invalid_parameter(e.body_text()))
}

pub(super) fn check_role(role: &str) -> Result<(), AwsError> {
    // arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+
    let valid = role.strip_prefix("arn:").and_then(|rest| {
        let (partition, rest) = rest.split_once(":iam::")?;
        let (account, path) = rest.split_once(":role")?;
        let path = path.strip_prefix('/').unwrap_or(path);
        let partition_ok = partition.is_empty()
            || (partition.starts_with("aws")
                && partition
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'-'));
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        let path_ok = !path.is_empty()
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/".contains(&b));
        Some(partition_ok && account_ok && path_ok)
    });
    if valid == Some(true) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{{12}}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )))
    }
}

pub(super) fn check_runtime(runtime: &str) -> Result<(), AwsError> {
    if RUNTIMES.contains(&runtime) {
        Ok(())
    } else {
        Err(AwsError::invalid_parameter(format!(
            "The runtime parameter of {runtime} is not supported by lambkin, which runs OS-only runtimes ({}): the zip's `bootstrap` executable is the function.",
            RUNTIMES.join(", ")
        )))
    }
}

pub(super) fn timeout(seconds: i64) -> Result<Duration, AwsError> {
    checked(crate::template::check_timeout(seconds))
}

pub(super) fn memory(mb: i64) -> Result<u32, AwsError> {
    checked(crate::template::check_memory(mb))
}

pub(super) fn environment(env: EnvironmentIn) -> Result<BTreeMap<String, String>, AwsError> {
    let variables = env.variables.unwrap_or_default();
    let reserved = crate::config::reserved_env_keys(&variables);
    if !reserved.is_empty() {
        return Err(AwsError::invalid_parameter(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    for name in variables.keys() {
        checked(crate::template::check_env_name(name))?;
    }
    Ok(variables)
}

/// `current` with what `given` sets. A log level with the Text format is refused with Lambda's
/// message: "to use log-level filtering, your function must be configured to use the JSON log
/// format" (<https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html>).
/// A change to Text alone drops the levels set before, which Text does not use.
pub(super) fn logging(
    current: LoggingConfig,
    given: LoggingConfigIn,
) -> Result<LoggingConfig, AwsError> {
    let format = given
        .log_format
        .as_deref()
        .map(|text| checked(crate::template::check_log_format(text)))
        .transpose()?;
    let level = |text: Option<String>, system| {
        text.map(|text| checked(crate::template::check_log_level(&text, system)))
            .transpose()
    };
    let application_level = level(given.application_log_level, false)?;
    let system_level = level(given.system_log_level, true)?;
    let log_group = given
        .log_group
        .map(|name| checked(crate::template::check_log_group(&name)))
        .transpose()?;
    let format = format.unwrap_or(current.format);
    if format == LogFormat::Text {
        if application_level.is_some() || system_level.is_some() {
            return Err(AwsError::invalid_parameter(
                "LogLevel is not supported when LogFormat is set to \"Text\". Remove LogLevel from your request or change the LogFormat to \"Json\" and try again.".to_owned(),
            ));
        }
        return Ok(LoggingConfig {
            format,
            application_level: None,
            system_level: None,
            log_group: log_group.or(current.log_group),
        });
    }
    Ok(LoggingConfig {
        format,
        application_level: application_level.or(current.application_level),
        system_level: system_level.or(current.system_level),
        log_group: log_group.or(current.log_group),
    })
}

pub(super) fn architectures(given: Option<Vec<String>>) -> Result<Vec<String>, AwsError> {
    match given.as_deref() {
        None | Some([]) => Ok(vec!["x86_64".to_owned()]),
        Some([one]) if one == "x86_64" || one == "arm64" => Ok(vec![one.clone()]),
        Some(_) => Err(validation(format!(
            "1 validation error detected: Value '{}' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]",
            given.unwrap_or_default().join(", ")
        ))),
    }
}

/// The zip of a request: `ZipFile` only (the emulator has no S3 or image registry).
pub(super) fn zip_file(
    zip_file: Option<String>,
    s3_bucket: Option<&String>,
    image_uri: Option<&String>,
) -> Result<Vec<u8>, AwsError> {
    if s3_bucket.is_some() || image_uri.is_some() {
        return Err(AwsError::invalid_parameter(
            "lambkin takes function code as ZipFile only (not from S3 or a container image)."
                .to_owned(),
        ));
    }
    let encoded = zip_file.ok_or_else(|| {
        AwsError::invalid_parameter("Please provide a source for function code.".to_owned())
    })?;
    BASE64
        .decode(encoded.as_bytes())
        .map_err(|_| AwsError::invalid_parameter("ZipFile is not valid base64.".to_owned()))
}

/// The `MaxItems` of a list request (AWS: 1 to 10000, default 50).
pub(super) fn page_size(max_items: Option<&str>) -> Result<usize, AwsError> {
    match max_items.map(str::parse::<usize>) {
        None => Ok(50),
        Some(Ok(n @ 1..=10_000)) => Ok(n),
        Some(_) => Err(validation(format!(
            "1 validation error detected: Value '{}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000",
            max_items.unwrap_or_default()
        ))),
    }
}

/// Whether `arn` has the form of a destination's ARN:
/// `arn:aws…:<service>:<region or empty>:<account or empty>:<resource>`.
pub(super) fn is_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, _resource] = parts[..] else {
        return false;
    };
    prefix == "arn"
        && partition.starts_with("aws")
        && partition
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && (account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
}

/// DeadLetterConfig's target: an ARN, or nothing (an empty `TargetArn` removes it).
pub(super) fn dead_letter(
    given: super::model::DeadLetterConfig,
) -> Result<Option<String>, AwsError> {
    match given.target_arn.filter(|arn| !arn.is_empty()) {
        Some(arn) if !is_arn(&arn) => Err(validation(format!(
            "1 validation error detected: Value '{arn}' at 'deadLetterConfig.targetArn' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
        ))),
        arn => Ok(arn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_arns_are_checked_for_their_form() {
        for good in [
            "arn:aws:sqs:us-east-1:012345678912:queue",
            "arn:aws:lambda:us-east-1:012345678912:function:f",
            "arn:aws:s3:::bucket",
            "arn:aws-us-gov:sns:us-gov-west-1:012345678912:topic",
        ] {
            assert!(is_arn(good), "{good}");
        }
        for bad in [
            "queue",
            "arn:aws:sqs",
            "arn:aws:sqs:us-east-1:12:q",
            "arn:x:sqs:::q",
        ] {
            assert!(!is_arn(bad), "{bad}");
        }
    }

    #[test]
    fn roles_are_validated_like_aws() {
        for ok in [
            "arn:aws:iam::123456789012:role/lambda-exec",
            "arn:aws:iam::123456789012:role/service-role/x_y+=,.@-",
            "arn:aws-cn:iam::123456789012:role/r",
        ] {
            assert!(check_role(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "role",
            "arn:aws:iam::12345:role/r",
            "arn:aws:iam::123456789012:user/r",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/a b",
        ] {
            assert!(check_role(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_awss() {
        assert!(timeout(0).is_err());
        assert!(timeout(901).is_err());
        assert_eq!(timeout(900).unwrap(), Duration::from_secs(900));
        assert!(memory(127).is_err());
        assert!(memory(10_241).is_err());
        assert_eq!(memory(128).unwrap(), 128);
        assert!(architectures(Some(vec!["x86_64".into(), "arm64".into()])).is_err());
        assert!(architectures(Some(vec!["mips".into()])).is_err());
        assert_eq!(architectures(None).unwrap(), ["x86_64"]);
    }

    #[test]
    fn reserved_and_malformed_variables_are_refused() {
        let env = |k: &str| EnvironmentIn {
            variables: Some(BTreeMap::from([(k.to_owned(), "v".to_owned())])),
        };
        assert!(environment(env("GREETING")).is_ok());
        assert!(environment(env("AWS_REGION")).is_err());
        assert!(environment(env("1X")).is_err());
        assert!(environment(env("A-B")).is_err());
    }
}
