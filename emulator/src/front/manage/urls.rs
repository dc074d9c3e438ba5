//! Function URL configurations: CreateFunctionUrlConfig, GetFunctionUrlConfig,
//! UpdateFunctionUrlConfig and DeleteFunctionUrlConfig, starting, changing (auth type, CORS,
//! invoke mode) or stopping the URL's own listener. `InvokeMode` (`BUFFERED`, `RESPONSE_STREAM`)
//! is the function's configuration's, which its URL reads on every request.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::model::{self, QualifierQuery};
use super::store::existing_arn;
use super::validate::{json_body, named, query, validation};
use super::{conflict, json, no_such_resource, service_error};
use crate::VERSION_LATEST;
use crate::apigw::Cors;
use crate::config::InvokeMode;
use crate::front::{AppState, AwsError};
use crate::sync::lock;

fn url_config(
    url: &crate::front::function_url::FunctionUrl,
    arn: String,
    invoke_mode: InvokeMode,
) -> model::FunctionUrlConfig {
    let created = crate::clock::rfc3339(url.created);
    model::FunctionUrlConfig {
        function_url: url.url.clone(),
        function_arn: arn,
        auth_type: url.auth_type.clone(),
        cors: url.cors().map(model::UrlCors::from),
        last_modified_time: crate::clock::rfc3339(url.modified),
        creation_time: created,
        invoke_mode: invoke_mode.as_str(),
    }
}

/// What a Create/UpdateFunctionUrlConfig request sets, each checked as Lambda checks it; `None`
/// where the request leaves the setting as it is.
struct Settings {
    auth_type: Option<String>,
    /// A `Cors` given replaces the URL's whole.
    cors: Option<Cors>,
    invoke_mode: Option<InvokeMode>,
}

impl Settings {
    /// Reads the body of `operation`.
    async fn read(body: Body, operation: &str) -> Result<Settings, AwsError> {
        let request: model::FunctionUrlConfigRequest =
            json_body(body, 64 * 1024, operation).await?;
        let auth_type = match request.auth_type {
            None => None,
            Some(auth) if matches!(auth.as_str(), "NONE" | "AWS_IAM") => Some(auth),
            Some(other) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]"
                )));
            }
        };
        let cors = request.cors.map(Cors::from);
        if let Some(cors) = &cors {
            cors.check_url_limits().map_err(|error| {
                let (first, rest) = error.field.split_at(1);
                validation(format!(
                    "1 validation error detected: Value '{}' at 'cors.{}{rest}' failed to satisfy constraint: {}",
                    error.value,
                    first.to_ascii_lowercase(),
                    error.constraint
                ))
            })?;
        }
        let invoke_mode = request
            .invoke_mode
            .map(|name| {
                InvokeMode::parse(&name).ok_or_else(|| {
                    validation(format!(
                        "1 validation error detected: Value '{name}' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"
                    ))
                })
            })
            .transpose()?;
        Ok(Settings {
            auth_type,
            cors,
            invoke_mode,
        })
    }
}

/// How `function`'s URL answers: its configuration's `InvokeMode` (from the template, or as
/// CreateFunctionUrlConfig / UpdateFunctionUrlConfig last set it).
fn invoke_mode(state: &AppState, function: &str) -> InvokeMode {
    state
        .function(function)
        .map_or(InvokeMode::Buffered, |f| f.config().url_invoke_mode)
}

/// Makes `function`'s URL answer as `mode` says: the function served, and, for a deployed one,
/// the configuration later updates start from.
fn set_invoke_mode(state: &AppState, function: &str, mode: InvokeMode) {
    if let Some(served) = state.function(function) {
        served.set_url_invoke_mode(mode);
    }
    if let Some(deployed) = lock(&state.manage().deployed).get_mut(function) {
        deployed.latest.config.url_invoke_mode = mode;
    }
}

/// The function a request's path and `Qualifier` name: function URLs are of `$LATEST` here
/// (AWS also allows one per alias).
fn url_function(
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<String, AwsError> {
    let (name, qualifier) = named(name, Some(&query(qualifier)?))?;
    match qualifier.as_deref() {
        None | Some(VERSION_LATEST) => Ok(name),
        Some(other) => Err(AwsError::invalid_parameter(format!(
            "lambkin serves function URLs of $LATEST only, not of `{other}`."
        ))),
    }
}

pub(super) async fn create_url_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = url_function(name, qualifier)?;
    let settings = Settings::read(body, "CreateFunctionUrlConfig").await?;
    let Some(auth_type) = settings.auth_type else {
        return Err(validation(
            "1 validation error detected: Value 'null' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]".to_owned(),
        ));
    };
    // AWS's default is BUFFERED.
    let mode = settings.invoke_mode.unwrap_or_default();
    let _writing = state.manage().writes.lock().await;
    let arn = existing_arn(&state, &name).await?;
    if state.function_urls().get(&name).is_some() {
        return Err(conflict(format!(
            "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
        )));
    }
    let url = state
        .function_urls()
        .start(&name, &auth_type, settings.cors)
        .await
        .map_err(|error| service_error(error.to_string()))?
        .ok_or_else(|| AwsError::function_not_found(state.region(), &name, None))?;
    set_invoke_mode(&state, &name, mode);
    tracing::info!(function = %name, url = %url.url, invoke_mode = mode.as_str(), "function URL created");
    Ok(json(StatusCode::CREATED, &url_config(&url, arn, mode)))
}

pub(super) async fn get_url_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let name = url_function(name, qualifier)?;
    let arn = existing_arn(&state, &name).await?;
    let url = state
        .function_urls()
        .get(&name)
        .ok_or_else(no_such_resource)?;
    let mode = invoke_mode(&state, &name);
    Ok(json(StatusCode::OK, &url_config(&url, arn, mode)))
}

pub(super) async fn update_url_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = url_function(name, qualifier)?;
    let settings = Settings::read(body, "UpdateFunctionUrlConfig").await?;
    let _writing = state.manage().writes.lock().await;
    let arn = existing_arn(&state, &name).await?;
    let url = state
        .function_urls()
        .update(
            &name,
            settings.auth_type.as_deref(),
            settings.cors.map(Some),
        )
        .ok_or_else(no_such_resource)?;
    if let Some(mode) = settings.invoke_mode {
        set_invoke_mode(&state, &name, mode);
    }
    tracing::info!(function = %name, url = %url.url, "function URL updated");
    let mode = invoke_mode(&state, &name);
    Ok(json(StatusCode::OK, &url_config(&url, arn, mode)))
}

pub(super) async fn delete_url_config(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    qualifier: Result<Query<QualifierQuery>, QueryRejection>,
) -> Result<Response, AwsError> {
    let name = url_function(name, qualifier)?;
    let _writing = state.manage().writes.lock().await;
    existing_arn(&state, &name).await?;
    if state.function_urls().remove(&name) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(no_such_resource())
    }
}
