//! Asynchronous invocation settings through the API: PutFunctionEventInvokeConfig,
//! UpdateFunctionEventInvokeConfig, GetFunctionEventInvokeConfig,
//! DeleteFunctionEventInvokeConfig and ListFunctionEventInvokeConfigs
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html> and its
//! siblings). Like reserved concurrency they apply to every function, the project's included,
//! per version (`Qualifier`), from the next event on; the queue keeps them (`events/settings.rs`).

use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::json;
use super::model::QualifierQuery;
use super::store::existing_arn;
use super::validate::{is_arn, json_body, named, query, unqualified_name, validation};
use crate::config::EventInvokeConfig;
use crate::events::Current;
use crate::front::{AppState, AwsError};
use crate::registry::FunctionKey;

/// The operations' routes.
pub(super) fn routes() -> Router<AppState> {
    const PATH: &str = "/2019-09-25/functions/{name}/event-invoke-config";
    Router::new()
        .route(
            PATH,
            get(get_config)
                .put(put_config)
                .post(update_config)
                .delete(delete_config),
        )
        .route(&format!("{PATH}/list"), get(list_configs))
}

/// Retries AWS accepts.
const MAX_RETRIES: i64 = 2;
/// Ages AWS accepts, in seconds.
const AGES: std::ops::RangeInclusive<i64> = 60..=21_600;

/// The body of Put/UpdateFunctionEventInvokeConfig, and (with the other fields) their answer.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Config {
    #[serde(skip_serializing_if = "Option::is_none")]
    last_modified: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    function_arn: Option<String>,
    maximum_retry_attempts: Option<i64>,
    maximum_event_age_in_seconds: Option<i64>,
    destination_config: Option<Destinations>,
}

/// `DestinationConfig`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Destinations {
    on_success: Option<Destination>,
    on_failure: Option<Destination>,
}

/// `OnSuccess`, `OnFailure`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Destination {
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<String>,
}

/// ListFunctionEventInvokeConfigs's answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct List {
    function_event_invoke_configs: Vec<Config>,
    next_marker: Option<String>,
}

/// ListFunctionEventInvokeConfigs's query.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(rename = "MaxItems")]
    max_items: Option<i64>,
}

/// The function and version a request names, checked to exist; with its ARN (qualified).
async fn target(
    state: &AppState,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<(FunctionKey, String), AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    let arn = existing_arn(state, &name).await?;
    let key = FunctionKey::new(&name, qualifier.as_deref());
    if state.registry().get(&key).is_none() {
        return Err(AwsError::function_not_found(
            state.region(),
            &name,
            qualifier.as_deref(),
        ));
    }
    let arn = format!("{arn}:{}", key.version());
    Ok((key, arn))
}

/// The settings in effect for `key`, if any are set.
fn current(state: &AppState, key: &FunctionKey) -> Option<Current> {
    let function = state.registry().get(key)?;
    state.events().invoke_config(key, &function.config())
}

/// `ResourceNotFoundException` for a function without settings.
fn not_configured(arn: &str) -> AwsError {
    AwsError::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        format!("The function {arn} doesn't have an EventInvokeConfig"),
    )
}

/// The answer for `current` of the function at `arn`.
fn answer(arn: String, current: Current) -> Config {
    let seconds = current
        .last_modified
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as f64
        / 1000.0;
    let destination = |arn: Option<String>| Some(Destination { destination: arn });
    let config = current.config;
    Config {
        last_modified: Some(seconds),
        function_arn: Some(arn),
        maximum_retry_attempts: Some(i64::from(config.maximum_retry_attempts)),
        maximum_event_age_in_seconds: Some(
            i64::try_from(config.maximum_event_age.as_secs()).unwrap_or(i64::MAX),
        ),
        destination_config: Some(Destinations {
            on_success: destination(config.on_success),
            on_failure: destination(config.on_failure),
        }),
    }
}

/// Applies the fields `request` sets over `base`, each checked as AWS checks it.
fn apply(mut base: EventInvokeConfig, request: Config) -> Result<EventInvokeConfig, AwsError> {
    let mut problems = Vec::new();
    if let Some(n) = request.maximum_retry_attempts {
        match u32::try_from(n) {
            Ok(n) if i64::from(n) <= MAX_RETRIES => base.maximum_retry_attempts = n,
            _ => problems.push(format!(
                "Value '{n}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value {}",
                if n < 0 {
                    "greater than or equal to 0".to_owned()
                } else {
                    format!("less than or equal to {MAX_RETRIES}")
                }
            )),
        }
    }
    if let Some(age) = request.maximum_event_age_in_seconds {
        match u64::try_from(age) {
            Ok(secs) if AGES.contains(&age) => base.maximum_event_age = Duration::from_secs(secs),
            _ => problems.push(format!(
                "Value '{age}' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value {}",
                if age < *AGES.start() {
                    format!("greater than or equal to {}", AGES.start())
                } else {
                    format!("less than or equal to {}", AGES.end())
                }
            )),
        }
    }
    if let Some(destinations) = request.destination_config {
        let fields = [
            ("onSuccess", destinations.on_success, &mut base.on_success),
            ("onFailure", destinations.on_failure, &mut base.on_failure),
        ];
        for (field, given, slot) in fields {
            let Some(given) = given else { continue };
            match given.destination.filter(|arn| !arn.is_empty()) {
                Some(arn) if !is_arn(&arn) => problems.push(format!(
                    "Value '{arn}' at 'destinationConfig.{field}.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{{2}}(-gov)?-[a-z]+-\\d{{1}})?:(\\d{{12}})?:(.*)"
                )),
                arn => *slot = arn,
            }
        }
    }
    if problems.is_empty() {
        Ok(base)
    } else {
        Err(validation(format!(
            "{} validation error{} detected: {}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" },
            problems.join("; ")
        )))
    }
}

/// Sets the settings of the function a request names: over Lambda's defaults (Put) or over the
/// current ones (Update).
async fn write(
    state: AppState,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
    body: Body,
    operation: &str,
) -> Result<Response, AwsError> {
    let request: Config = json_body(body, 64 * 1024, operation).await?;
    let _writing = state.manage().writes.lock().await;
    let (key, arn) = target(&state, name, qualifier).await?;
    let base = if operation == "UpdateFunctionEventInvokeConfig" {
        current(&state, &key).map(|c| c.config).unwrap_or_default()
    } else {
        EventInvokeConfig::default()
    };
    let config = apply(base, request)?;
    state.events().set_invoke_config(key.clone(), Some(config));
    tracing::info!(function = %key, "asynchronous invocation settings set through the API");
    let current = current(&state, &key).ok_or_else(|| not_configured(&arn))?;
    Ok(json(StatusCode::OK, &answer(arn, current)))
}

async fn put_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    write(state, name, qualifier, body, "PutFunctionEventInvokeConfig").await
}

async fn update_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    write(
        state,
        name,
        qualifier,
        body,
        "UpdateFunctionEventInvokeConfig",
    )
    .await
}

async fn get_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let (key, arn) = target(&state, name, qualifier).await?;
    let current = current(&state, &key).ok_or_else(|| not_configured(&arn))?;
    Ok(json(StatusCode::OK, &answer(arn, current)))
}

async fn delete_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let _writing = state.manage().writes.lock().await;
    let (key, arn) = target(&state, name, qualifier).await?;
    if current(&state, &key).is_none() {
        return Err(not_configured(&arn));
    }
    state.events().set_invoke_config(key.clone(), None);
    tracing::info!(function = %key, "asynchronous invocation settings removed through the API");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_configs(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    list: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    if let Some(n) = query(list)?.max_items.filter(|n| !(1..=50).contains(n)) {
        return Err(validation(format!(
            "1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 50"
            }
        )));
    }
    let arn = existing_arn(&state, &name).await?;
    let mut keys = state.events().invoke_config_changed(&name);
    let latest = FunctionKey::latest(&name);
    if !keys.contains(&latest) {
        keys.push(latest);
    }
    keys.sort_by_key(|key| (!key.is_latest(), key.version().parse::<u64>().unwrap_or(0)));
    let configs = keys
        .into_iter()
        .filter_map(|key| {
            let current = current(&state, &key)?;
            Some(answer(format!("{arn}:{}", key.version()), current))
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &List {
            function_event_invoke_configs: configs,
            next_marker: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_settings_are_all_named() {
        let request = Config {
            maximum_retry_attempts: Some(3),
            maximum_event_age_in_seconds: Some(59),
            ..Config::default()
        };
        let error = apply(EventInvokeConfig::default(), request).unwrap_err();
        let text = format!("{error:?}");
        assert!(text.contains("2 validation errors detected"), "{text}");
        assert!(text.contains("'maximumRetryAttempts'"), "{text}");
        assert!(text.contains("greater than or equal to 60"), "{text}");
    }
}
