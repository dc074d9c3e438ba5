//! Resource policies: AddPermission and GetPolicy. Statements are recorded and shown; the
//! emulator authorises every caller.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::model;
use super::store::existing_arn;
use super::validate::{json_body, unqualified_name, validation};
use super::{conflict, json, no_such_resource};
use crate::front::{AppState, AwsError};
use crate::sync::lock;

pub(super) async fn add_permission(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
    body: Body,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    let request: model::AddPermission = json_body(body, 64 * 1024, "AddPermission").await?;
    let _writing = state.manage().writes.lock().await;
    let arn = existing_arn(&state, &name).await?;
    let required = |value: Option<String>, member: &str| {
        value.ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ))
        })
    };
    let sid = required(request.statement_id, "statementId")?;
    let action = required(request.action, "action")?;
    let principal = required(request.principal, "principal")?;
    let mut statement = serde_json::json!({
        "Sid": sid,
        "Effect": "Allow",
        "Principal": if principal == "*" { serde_json::json!("*") } else { serde_json::json!({ "Service": principal }) },
        "Action": action,
        "Resource": arn,
    });
    if let Some(auth) = request.function_url_auth_type {
        statement["Condition"] =
            serde_json::json!({ "StringEquals": { "lambda:FunctionUrlAuthType": auth } });
    }
    let mut policies = lock(&state.manage().policies);
    let statements = policies.entry(name).or_default();
    if statements.iter().any(|s| s["Sid"] == sid.as_str()) {
        return Err(conflict(format!(
            "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
        )));
    }
    statements.push(statement.clone());
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({ "Statement": statement.to_string() }),
    ))
}

pub(super) async fn get_policy(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, AwsError> {
    let name = unqualified_name(name)?;
    existing_arn(&state, &name).await?;
    let statements = lock(&state.manage().policies)
        .get(&name)
        .cloned()
        .ok_or_else(no_such_resource)?;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": statements,
    });
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({
            "Policy": policy.to_string(),
            "RevisionId": uuid::Uuid::new_v4().to_string(),
        }),
    ))
}
