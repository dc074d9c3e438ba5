//! The Step Functions API on the front: AWS JSON 1.0, `POST /` with
//! `X-Amz-Target: AWSStepFunctions.<Operation>`, as the AWS CLI and SDKs send it
//! (`aws stepfunctions … --endpoint-url http://127.0.0.1:9000`). The operations are
//! `crate::workflows`'; this reads the request and shapes the answer and AWS JSON 1.0's
//! errors (`{"__type": …, "message": …}`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::aws_error::{json_error, json_error_body};
use crate::body::{BodyError, read_limited};
use crate::workflows::{ApiError, MAX_DEFINITION, Workflows};

/// The `X-Amz-Target` prefix of the Step Functions API.
const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The largest request: a definition of [`MAX_DEFINITION`] bytes, escaped, with room to spare.
const MAX_REQUEST: usize = 4 * MAX_DEFINITION;

/// The operation a request's `X-Amz-Target` names, if it is one of Step Functions'.
pub(super) fn operation(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-target")?
        .to_str()
        .ok()?
        .strip_prefix(TARGET_PREFIX)
}

/// Serves one Step Functions API call.
pub(super) async fn serve(workflows: &Arc<Workflows>, request: Request) -> Response {
    let Some(operation) = operation(request.headers()).map(str::to_owned) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "Missing X-Amz-Target".to_owned(),
        );
    };
    if request.method() != axum::http::Method::POST || request.uri().path() != "/" {
        return json_error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "The Step Functions API is POST /".to_owned(),
        );
    }
    let body = match read_limited(request.into_body(), MAX_REQUEST).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "ValidationException",
                format!("The request is over {MAX_REQUEST} bytes"),
            );
        }
        Err(BodyError::TimedOut | BodyError::Failed) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "Could not read the request body".to_owned(),
            );
        }
    };
    let body: serde_json::Value = if body.is_empty() {
        serde_json::json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(value @ serde_json::Value::Object(_)) => value,
            _ => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "SerializationException",
                    "The request body must be a JSON object".to_owned(),
                );
            }
        }
    };
    match workflows.call(&operation, &body).await {
        Ok(answer) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-amz-json-1.0")],
            Body::from(answer.to_string()),
        )
            .into_response(),
        Err(e) => json_error(StatusCode::BAD_REQUEST, e.error_type, e.message),
    }
}

/// Starts an execution of `machine` for an API Gateway route whose integration is
/// StartExecution (SAM `Api` events, serverless-step-functions `http` events), named `name`
/// if the integration names it. The request body is the input, `{}` when empty (what
/// `$input.json('$')` of the generated request template gives).
///
/// API Gateway passes StartExecution's answer through, mapped by the generated integration
/// responses: 200 with `{"executionArn", "startDate"}`, else 400 with Step Functions' error
/// (`InvalidExecutionInput` for a body that is not JSON, `ValidationException` for an input
/// over 256 KiB).
/// <https://docs.aws.amazon.com/step-functions/latest/dg/tutorial-api-gateway.html>
pub(super) fn start_from_route(
    workflows: &Workflows,
    machine: &str,
    body: &[u8],
    name: Option<&str>,
) -> http::Response<bytes::Bytes> {
    // The integration's mapping template reads the body as JSON text: bytes that are not
    // UTF-8 are no execution input.
    let started = match std::str::from_utf8(body) {
        Ok(text) if text.trim().is_empty() => workflows.start_execution(machine, "{}", name),
        Ok(text) => workflows.start_execution(machine, text, name),
        Err(e) => Err(ApiError::invalid_input(e)),
    };
    let (status, answer) = match started {
        Ok(started) => (StatusCode::OK, started.to_string()),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            json_error_body(e.error_type, &e.message),
        ),
    };
    let mut response = http::Response::new(bytes::Bytes::from(answer));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
