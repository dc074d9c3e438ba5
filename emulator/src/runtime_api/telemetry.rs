//! The subscribe endpoints of the Telemetry API (`PUT /2022-07-01/telemetry`) and of the older
//! Logs API (`PUT /2020-08-15/logs`), on an instance's Runtime API listener.
//!
//! A registered extension (its `Lambda-Extension-Identifier`) subscribes; the request is checked
//! by [`crate::telemetry::subscription`] and answered `200 "OK"` as Lambda answers it, or `400`
//! with `ValidationError` (`Logs.ValidationError` for the Logs API) and the reason; once the
//! init phase is over, `403` `Telemetry.SubscriptionClosed` (`Logs.SubscriptionClosed`)
//! (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api-reference.html>,
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html#runtimes-logs-api-ref>).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;

use super::{ApiError, Channel};
use crate::body::read_limited;
use crate::telemetry::subscription;
use crate::telemetry::{Api, Refusal};

/// Largest subscription body read, in bytes (a subscription is a few hundred).
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The subscribe routes, merged into the instance's Runtime API.
pub(super) fn routes() -> Router<Arc<Channel>> {
    Router::new()
        .route("/2022-07-01/telemetry", put(telemetry))
        .route("/2022-07-01/telemetry/", put(telemetry))
        .route("/2020-08-15/logs", put(logs))
        .route("/2020-08-15/logs/", put(logs))
}

async fn telemetry(
    State(channel): State<Arc<Channel>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    subscribe(&channel, Api::Telemetry, &headers, body).await
}

async fn logs(
    State(channel): State<Arc<Channel>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let api = Api::Logs {
        runtime_done: false,
    };
    subscribe(&channel, api, &headers, body).await
}

async fn subscribe(
    channel: &Channel,
    api: Api,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let invalid = |message: String| {
        let error_type = match api {
            Api::Telemetry => "ValidationError",
            Api::Logs { .. } => "Logs.ValidationError",
        };
        ApiError::new(StatusCode::BAD_REQUEST, error_type, message)
    };
    let (_, extension) = channel.extensions().identify(headers)?;
    let body = read_limited(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|_| invalid("Could not read the request body".to_owned()))?;
    let subscription = subscription::parse(api, &body).map_err(invalid)?;
    let (this, other) = match api {
        Api::Telemetry => ("Telemetry", "Logs"),
        Api::Logs { .. } => ("Logs", "Telemetry"),
    };
    match channel.telemetry().subscribe(&extension.name, subscription) {
        Ok(()) => {}
        Err(Refusal::OtherApi) => {
            return Err(invalid(format!(
                "Extension {} subscribed through the {other} API: it cannot also use the {this} API",
                extension.name
            )));
        }
        // AWS's own emulator answers this (`Telemetry.SubscriptionClosed`, "Telemetry API
        // subscription is closed": internal/lambda-managed-instances/aws-lambda-rie/internal/
        // telemetry/subscription_api.go in aws/aws-lambda-runtime-interface-emulator).
        Err(Refusal::Closed) => {
            let error_type = match api {
                Api::Telemetry => "Telemetry.SubscriptionClosed",
                Api::Logs { .. } => "Logs.SubscriptionClosed",
            };
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                error_type,
                format!("{this} API subscription is closed"),
            ));
        }
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "\"OK\"",
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use tower::ServiceExt;

    use super::super::Detached;

    #[tokio::test]
    async fn only_a_registered_extension_subscribes() {
        let detached = Detached::new();
        let body = r#"{"schemaVersion":"2022-12-13","types":["platform"],
            "destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080"}}"#;
        for (path, identifier, error_type) in [
            (
                "/2022-07-01/telemetry",
                None,
                "Extension.MissingExtensionIdentifier",
            ),
            (
                "/2020-08-15/logs",
                Some("6f7f0961-f834-4211-8a7a-f6fe80b88d56"),
                "Extension.UnknownExtensionIdentifier",
            ),
        ] {
            let mut request = http::Request::put(path);
            if let Some(identifier) = identifier {
                request = request.header("Lambda-Extension-Identifier", identifier);
            }
            let request = request.body(axum::body::Body::from(body)).unwrap();
            let answer = detached.router().oneshot(request).await.unwrap();
            assert_eq!(answer.status(), http::StatusCode::FORBIDDEN);
            let body = axum::body::to_bytes(answer.into_body(), 1024)
                .await
                .unwrap();
            let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(error["errorType"], error_type);
        }
    }
}
