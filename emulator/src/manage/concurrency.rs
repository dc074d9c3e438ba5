//! Reserved concurrency through the API: GetFunctionConcurrency, PutFunctionConcurrency and
//! DeleteFunctionConcurrency
//! (<https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html> and its
//! siblings). They apply to every function, the project's included: reserved concurrency is a
//! runtime setting on AWS too, and takes effect with the next invocation.

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};

use super::model::Concurrency;
use super::{existing_arn, json, json_body, unqualified_name, validation};
use crate::front::{AppState, AwsError};

/// The three operations' routes (AWS serves them under two API versions).
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/2019-09-30/functions/{name}/concurrency",
            get(get_concurrency),
        )
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            put(put_concurrency).delete(delete_concurrency),
        )
}

/// GetFunction's `Concurrency`: only for a function with reserved concurrency.
pub(super) fn of(state: &AppState, name: &str) -> Option<Concurrency> {
    let reserved = state.registry().concurrency().reserved(name)?;
    Some(answer(Some(reserved)))
}

fn answer(reserved: Option<usize>) -> Concurrency {
    Concurrency {
        reserved_concurrent_executions: reserved.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
    }
}

async fn get_concurrency(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    existing_arn(&state, &name).await?;
    let reserved = state.registry().concurrency().reserved(&name);
    Ok(json(StatusCode::OK, &answer(reserved)))
}

async fn put_concurrency(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let request: Concurrency = json_body(body, 64 * 1024, "PutFunctionConcurrency").await?;
    let reserved = match request.reserved_concurrent_executions {
        None => {
            return Err(validation(
                "1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null".to_owned(),
            ));
        }
        Some(n) => usize::try_from(n).map_err(|_| {
            validation(format!(
                "1 validation error detected: Value '{n}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"
            ))
        })?,
    };
    let _writing = state.manage().writes.lock().await;
    existing_arn(&state, &name).await?;
    state
        .registry()
        .concurrency()
        .reserve(&name, reserved)
        .map_err(|below| {
            AwsError::invalid_parameter(format!(
                "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{}].",
                below.minimum
            ))
        })?;
    tracing::info!(function = %name, reserved, "reserved concurrency set through the API");
    Ok(json(StatusCode::OK, &answer(Some(reserved))))
}

async fn delete_concurrency(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let _writing = state.manage().writes.lock().await;
    existing_arn(&state, &name).await?;
    state.registry().concurrency().set_reserved(&name, None);
    tracing::info!(function = %name, "reserved concurrency removed through the API");
    Ok(StatusCode::NO_CONTENT.into_response())
}
