//! The Lambda Runtime API, one listener per function instance.
//!
//! An instance's runtime loop long-polls `GET /2018-06-01/runtime/invocation/next`, runs the
//! event and answers with `POST …/invocation/{id}/response` or `…/error`; a runtime that cannot
//! start reports `POST /2018-06-01/runtime/init/error`. Each instance gets its own listener and state,
//! so the emulator always knows which instance holds which request.
//!
//! The same listener serves the instance's Extensions API (`/2020-01-01/extension/…`, see
//! `extensions.rs`) and the Telemetry and Logs APIs' subscriptions (`/2022-07-01/telemetry`,
//! `/2020-08-15/logs`, see `telemetry.rs`); their state hangs off the instance's `Channel`.

mod channel;
pub(crate) mod extensions;
mod stream;
mod telemetry;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;

use crate::body::{BodyError, read_limited};
use crate::listen::{self, Limits};
pub(crate) use channel::{Answer, Channel, InitError, Pending, RuntimeEvent};
pub(crate) use extensions::Extensions;
pub use stream::MAX_STREAMED_RESPONSE_BYTES;
pub(crate) use stream::{PRELUDE_END, Piece, Tap};

/// Largest response (or error) body a runtime may post, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// Serves one instance's Runtime API on `listener` until the task is dropped (its connections
/// with it), with room for `polls` `/next` long polls at once.
pub(crate) async fn serve(listener: TcpListener, channel: Arc<Channel>, polls: u32) {
    let limits = Limits::runtime_api(polls);
    listen::serve(listener, router(channel), &limits, std::future::pending()).await;
}

/// The Runtime API of one instance.
pub(crate) fn router(channel: Arc<Channel>) -> Router {
    Router::new()
        // axum answers HEAD with the GET handler, which would hand out an invocation without
        // its event: HEAD gets the method-not-allowed answer instead.
        .route(
            "/2018-06-01/runtime/invocation/next",
            get(next).head(method_not_allowed),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .merge(extensions::routes())
        .merge(telemetry::routes())
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(crate::hosts::runtime_api_guard))
        .with_state(channel)
}

/// One instance's Runtime API without a listener, driven in-process (fuzzing, tests).
///
/// Requests go through [`Detached::router`] (for example with `tower::ServiceExt::oneshot`);
/// invocations for `/next` to hand out are offered with [`Detached::offer`].
#[derive(Debug)]
pub struct Detached {
    channel: Arc<Channel>,
}

impl Detached {
    /// A fresh instance: nothing offered, `/next` not called yet.
    pub fn new() -> Self {
        Detached {
            channel: Channel::new(),
        }
    }

    /// The instance's Runtime API, the router an instance's listener serves.
    pub fn router(&self) -> Router {
        router(self.channel.clone())
    }

    /// Offers an invocation of `payload` as `request_id` (3 s timeout) to the next `/next`.
    pub fn offer(&self, request_id: &str, payload: Bytes) {
        // Nothing reads the invocation's events: sending them fails quietly.
        let _events = self.channel.offer(Pending {
            request_id: request_id.to_owned(),
            payload,
            timeout: Duration::from_secs(3),
            function_arn: format!(
                "arn:aws:lambda:us-east-1:{}:function:detached",
                crate::ACCOUNT_ID
            ),
            trace_id: "Root=1-00000000-000000000000000000000000".to_owned(),
            client_context: None,
            cognito_identity: None,
            tap: None,
        });
    }

    /// Ends every `/next` long poll (they answer 410), as when the instance is discarded.
    pub fn close(&self) {
        self.channel.close();
    }
}

impl Default for Detached {
    fn default() -> Self {
        Self::new()
    }
}

async fn next(State(channel): State<Arc<Channel>>) -> Response {
    let Some((pending, deadline)) = channel.next().await else {
        return ApiError::new(
            StatusCode::GONE,
            "InstanceDiscarded",
            "This function instance was discarded",
        )
        .into_response();
    };
    let span = tracing::debug_span!("next", request_id = %pending.request_id);
    let _enter = span.enter();
    tracing::debug!("invocation delivered");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut put = |name: &'static str, value: &str| {
        // Values come from validated headers or from the emulator itself; a bad one is dropped.
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put("lambda-runtime-aws-request-id", &pending.request_id);
    put("lambda-runtime-deadline-ms", &deadline.to_string());
    put("lambda-runtime-invoked-function-arn", &pending.function_arn);
    put("lambda-runtime-trace-id", &pending.trace_id);
    if let Some(context) = &pending.client_context {
        put("lambda-runtime-client-context", context);
    }
    if let Some(identity) = &pending.cognito_identity {
        put("lambda-runtime-cognito-identity", identity);
    }
    (StatusCode::OK, headers, pending.payload).into_response()
}

async fn response(
    State(channel): State<Arc<Channel>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    if stream::is_streaming(&headers) {
        return streamed(&channel, id, stream::has_prelude(&headers), body).await;
    }
    answer(&channel, id, body, Answer::Response).await
}

/// A streamed `/response`: claimed like any answer, read under the streamed limit; an error in
/// its trailers makes it an error answer.
async fn streamed(
    channel: &Channel,
    id: Result<Path<String>, PathRejection>,
    prelude: bool,
    body: Body,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::invalid_request_id())?;
    let tap = channel.claim(&id)?;
    match stream::read(body, prelude, tap).await {
        Ok(answer) => {
            channel.answer(id, answer);
            Ok(accepted())
        }
        Err(stream::StreamFailure::TooLarge(limit)) => {
            channel.answer(id, Answer::TooLarge(limit));
            Err(ApiError::too_large(limit))
        }
        Err(stream::StreamFailure::Broken) => Err(body_failed(channel, id, BodyError::Failed)),
    }
}

async fn error(
    State(channel): State<Arc<Channel>>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    answer(&channel, id, body, |bytes| {
        Answer::Error(error_document(&headers, bytes, "Runtime.Unknown"))
    })
    .await
}

/// `/response` and `/error`: claims the invocation (once), reads the body under the limit and
/// hands the answer over.
async fn answer(
    channel: &Channel,
    id: Result<Path<String>, PathRejection>,
    body: Body,
    make: impl FnOnce(Bytes) -> Answer,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::invalid_request_id())?;
    channel.claim(&id)?;
    match read_limited(body, MAX_RESPONSE_BYTES).await {
        Ok(bytes) => {
            channel.answer(id, make(bytes));
            Ok(accepted())
        }
        Err(e) => Err(body_failed(channel, id, e)),
    }
}

async fn init_error(
    State(channel): State<Arc<Channel>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    channel.fail_init()?;
    let bytes = match read_limited(body, MAX_RESPONSE_BYTES).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => Bytes::from_static(b"{}"),
        Err(BodyError::Failed | BodyError::TimedOut) => Bytes::new(),
    };
    tracing::debug!("runtime reported an init error");
    let header_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    channel.report_init_error(
        error_document(&headers, bytes, "Runtime.InitError"),
        header_type,
    );
    Ok(accepted())
}

/// The answer was claimed but its body could not be read: the caller still gets an answer.
fn body_failed(channel: &Channel, id: String, error: BodyError) -> ApiError {
    match error {
        BodyError::TooLarge => {
            channel.answer(id, Answer::TooLarge(MAX_RESPONSE_BYTES));
            ApiError::too_large(MAX_RESPONSE_BYTES)
        }
        BodyError::Failed | BodyError::TimedOut => {
            let body = json!({
                "errorMessage": "the runtime's answer could not be read",
                "errorType": "Runtime.InvalidResponse",
            });
            channel.answer(id, Answer::Error(Bytes::from(body.to_string())));
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Could not read the request body",
            )
        }
    }
}

/// An error JSON for the caller: the runtime's own if it sent one, else one built from what it
/// did send and `Lambda-Runtime-Function-Error-Type` (or `default_type`).
fn error_document(headers: &HeaderMap, body: Bytes, default_type: &str) -> Bytes {
    let is_object = serde_json::from_slice::<serde_json::Value>(&body)
        .is_ok_and(|v| v.get("errorType").is_some() || v.get("errorMessage").is_some());
    if is_object {
        return body;
    }
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(default_type);
    let message = String::from_utf8_lossy(&body);
    let doc = json!({ "errorMessage": message, "errorType": error_type });
    Bytes::from(doc.to_string())
}

fn accepted() -> Response {
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"OK"}"#,
    )
        .into_response()
}

async fn unknown_path() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "InvalidPath",
        "Unknown Runtime API path",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "Method not allowed on this Runtime API path",
    )
}

/// A Runtime API error: `{"errorMessage": …, "errorType": …}`, as Lambda's Runtime API sends.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    error_type: &'static str,
    message: Cow<'static, str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        error_type: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        ApiError {
            status,
            error_type,
            message: message.into(),
        }
    }

    fn invalid_request_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        )
    }

    fn already_answered() -> Self {
        Self::state_transition("Invalid state transition: the invocation was already answered")
    }

    fn state_transition(message: &'static str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "InvalidStateTransition", message)
    }

    /// A response past `limit` bytes.
    fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("Response payload size exceeded maximum allowed payload size ({limit} bytes)."),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "errorMessage": self.message, "errorType": self.error_type });
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn head_of_next_hands_out_nothing() {
        use tower::ServiceExt;
        let detached = Detached::new();
        detached.offer("a", Bytes::from_static(b"{}"));
        let head = http::Request::head("/2018-06-01/runtime/invocation/next")
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = detached.router().oneshot(head).await.unwrap();
        assert_eq!(answer.status(), http::StatusCode::METHOD_NOT_ALLOWED);
        // The invocation is still there for the real `GET`.
        let get = http::Request::get("/2018-06-01/runtime/invocation/next")
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = detached.router().oneshot(get).await.unwrap();
        assert_eq!(answer.status(), http::StatusCode::OK);
        assert_eq!(answer.headers()["lambda-runtime-aws-request-id"], "a");
    }

    #[test]
    fn error_documents() {
        let headers = HeaderMap::new();
        let own = Bytes::from_static(br#"{"errorType":"E","errorMessage":"m"}"#);
        assert_eq!(error_document(&headers, own.clone(), "X"), own);
        let mut headers = HeaderMap::new();
        headers.insert(
            "lambda-runtime-function-error-type",
            HeaderValue::from_static("Custom"),
        );
        let built = error_document(&headers, Bytes::from_static(b"oops"), "X");
        let v: serde_json::Value = serde_json::from_slice(&built).unwrap();
        assert_eq!(v["errorType"], "Custom");
        assert_eq!(v["errorMessage"], "oops");
    }
}
