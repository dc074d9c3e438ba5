//! The Lambda Runtime API, one listener per function instance.
//!
//! An instance's runtime loop long-polls `GET /2018-06-01/runtime/invocation/next`, runs the
//! event and answers with `POST …/invocation/{id}/response` or `…/error`; a runtime that cannot
//! start reports `POST /2018-06-01/runtime/init/error`. Each instance gets its own listener and state,
//! so the emulator always knows which instance holds which request.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

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
use tokio::sync::{Notify, mpsc, watch};

use crate::body::{BodyError, read_limited};
use crate::clock::epoch_ms;
use crate::listen::{self, Limits};

/// Largest response (or error) body a runtime may post, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// How many answered request ids an instance remembers, to tell a second answer (403) from an
/// unknown id (400).
const ANSWERED_MEMORY: usize = 64;

/// An invocation offered to an instance, waiting for its `/next`.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) timeout: Duration,
    pub(crate) function_arn: String,
    pub(crate) trace_id: String,
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
}

/// What an instance's runtime did, in the order it did it.
#[derive(Debug)]
pub(crate) enum RuntimeEvent {
    /// `/next` handed out this request.
    Delivered { request_id: String, at: Instant },
    /// The runtime answered this request.
    Answered { request_id: String, answer: Answer },
    /// The runtime could not initialise (`/runtime/init/error`); the body is its error JSON,
    /// `header_type` its `Lambda-Runtime-Function-Error-Type`, if sent.
    InitError {
        body: Bytes,
        header_type: Option<String>,
    },
}

/// A runtime's answer to one invocation.
#[derive(Debug)]
pub(crate) enum Answer {
    /// `/response` with this body.
    Response(Bytes),
    /// `/error` with this error JSON.
    Error(Bytes),
    /// `/response` or `/error` over [`MAX_RESPONSE_BYTES`].
    TooLarge,
}

/// The state one instance's Runtime API shares with the code driving that instance.
#[derive(Debug)]
pub(crate) struct Channel {
    state: Mutex<Slot>,
    /// Wakes the `/next` long poll when an invocation is offered.
    wake: Notify,
    /// Set when the instance is discarded: pending long polls end instead of lingering.
    closed: AtomicBool,
    events: mpsc::UnboundedSender<RuntimeEvent>,
    /// How many `/next` long polls wait with nothing to hand out (an idle instance is frozen).
    polling: watch::Sender<usize>,
}

#[derive(Debug, Default)]
struct Slot {
    pending: Option<Pending>,
    in_flight: Option<String>,
    answered: VecDeque<String>,
    /// `/next` was called or init failed: a later `/init/error` is a state error.
    initialized: bool,
    /// When `/next` was first called: the end of the instance's init phase.
    first_poll: Option<Instant>,
}

impl Channel {
    /// A channel and the stream of its runtime's events.
    pub(crate) fn new() -> (Arc<Channel>, mpsc::UnboundedReceiver<RuntimeEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let channel = Channel {
            state: Mutex::new(Slot::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            events,
            polling: watch::Sender::new(0),
        };
        (Arc::new(channel), rx)
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // Nothing panics while holding the lock, but a poisoned slot is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Offers an invocation to the runtime's next (or current) `/next`.
    pub(crate) fn offer(&self, pending: Pending) {
        self.slot().pending = Some(pending);
        self.wake.notify_one();
    }

    /// Takes back the offered invocation if `/next` has not taken it yet.
    pub(crate) fn withdraw(&self, request_id: &str) -> bool {
        let mut slot = self.slot();
        if slot
            .pending
            .as_ref()
            .is_some_and(|p| p.request_id == request_id)
        {
            slot.pending = None;
            true
        } else {
            false
        }
    }

    /// When the runtime first asked for an invocation, if it has.
    pub(crate) fn first_poll(&self) -> Option<Instant> {
        self.slot().first_poll
    }

    /// How many `/next` long polls wait with nothing to hand out, as it changes.
    pub(crate) fn polling(&self) -> watch::Receiver<usize> {
        self.polling.subscribe()
    }

    /// Ends every `/next` long poll; called when the instance is discarded.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    /// Waits for an offered invocation and marks it in flight (the `/next` long poll), with the
    /// invocation's deadline in epoch milliseconds; `None` once the channel is closed.
    async fn next(&self) -> Option<(Pending, u64)> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            // Registered before the checks, so a close or offer in between is not missed.
            notified.as_mut().enable();
            if self.closed.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(delivery) = self.take_pending() {
                return Some(delivery);
            }
            // Counted while waiting, however the wait ends (a runtime may hang up).
            self.polling.send_modify(|waiting| *waiting += 1);
            let _waiting = Waiting(&self.polling);
            notified.await;
        }
    }

    fn take_pending(&self) -> Option<(Pending, u64)> {
        let mut slot = self.slot();
        if !slot.initialized {
            slot.initialized = true;
            slot.first_poll = Some(Instant::now());
        }
        let pending = slot.pending.take()?;
        slot.in_flight = Some(pending.request_id.clone());
        let timeout_ms = u64::try_from(pending.timeout.as_millis()).unwrap_or(u64::MAX);
        let deadline = epoch_ms(SystemTime::now()).saturating_add(timeout_ms);
        let _ = self.events.send(RuntimeEvent::Delivered {
            request_id: pending.request_id.clone(),
            at: Instant::now(),
        });
        Some((pending, deadline))
    }

    /// Moves `request_id` from in flight to answered, or says why it cannot be answered.
    fn claim(&self, request_id: &str) -> Result<(), ApiError> {
        let mut slot = self.slot();
        if slot.in_flight.as_deref() == Some(request_id) {
            slot.in_flight = None;
            if slot.answered.len() == ANSWERED_MEMORY {
                slot.answered.pop_front();
            }
            slot.answered.push_back(request_id.to_owned());
            Ok(())
        } else if slot.answered.iter().any(|id| id == request_id) {
            Err(ApiError::already_answered())
        } else {
            Err(ApiError::invalid_request_id())
        }
    }

    fn answer(&self, request_id: String, answer: Answer) {
        // The receiver is gone only when the instance is being discarded.
        let _ = self
            .events
            .send(RuntimeEvent::Answered { request_id, answer });
    }
}

/// One waiting `/next` in [`Channel::polling`], until dropped.
struct Waiting<'a>(&'a watch::Sender<usize>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|waiting| *waiting -= 1);
    }
}

/// Serves one instance's Runtime API on `listener` until the task is dropped (its connections
/// with it).
pub(crate) async fn serve(listener: TcpListener, channel: Arc<Channel>) {
    let limits = Limits::runtime_api();
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
        // Nothing reads the runtime's events: sending them fails quietly and nothing piles up.
        let (channel, _events) = Channel::new();
        Detached { channel }
    }

    /// The instance's Runtime API, the router [`serve`] serves.
    pub fn router(&self) -> Router {
        router(self.channel.clone())
    }

    /// Offers an invocation of `payload` as `request_id` (3 s timeout) to the next `/next`.
    pub fn offer(&self, request_id: &str, payload: Bytes) {
        self.channel.offer(Pending {
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
    body: Body,
) -> Result<Response, ApiError> {
    answer(&channel, id, body, Answer::Response).await
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
    {
        let mut slot = channel.slot();
        if slot.initialized {
            return Err(ApiError::state_transition("init/error after init"));
        }
        slot.initialized = true;
    }
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
    let _ = channel.events.send(RuntimeEvent::InitError {
        body: error_document(&headers, bytes, "Runtime.InitError"),
        header_type,
    });
    Ok(accepted())
}

/// The answer was claimed but its body could not be read: the caller still gets an answer.
fn body_failed(channel: &Channel, id: String, error: BodyError) -> ApiError {
    match error {
        BodyError::TooLarge => {
            channel.answer(id, Answer::TooLarge);
            ApiError::too_large()
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
    message: &'static str,
}

impl ApiError {
    fn new(status: StatusCode, error_type: &'static str, message: &'static str) -> Self {
        ApiError {
            status,
            error_type,
            message,
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

    fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
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

    fn pending(id: &str) -> Pending {
        Pending {
            request_id: id.to_owned(),
            payload: Bytes::from_static(b"{}"),
            timeout: Duration::from_secs(3),
            function_arn: "arn".to_owned(),
            trace_id: "Root=1".to_owned(),
            client_context: None,
            cognito_identity: None,
        }
    }

    #[tokio::test]
    async fn state_transitions() {
        let (channel, mut events) = Channel::new();
        assert_eq!(
            channel.claim("a").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        channel.offer(pending("a"));
        let (p, deadline) = channel.next().await.unwrap();
        assert_eq!(p.request_id, "a");
        assert!(deadline > epoch_ms(SystemTime::now()));
        assert!(matches!(
            events.recv().await,
            Some(RuntimeEvent::Delivered { request_id, .. }) if request_id == "a"
        ));
        assert!(channel.claim("a").is_ok());
        assert_eq!(
            channel.claim("a").unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            channel.claim("b").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn withdraw_only_before_delivery() {
        let (channel, _events) = Channel::new();
        channel.offer(pending("a"));
        assert!(channel.withdraw("a"));
        channel.offer(pending("b"));
        let _ = channel.next().await;
        assert!(!channel.withdraw("b"));
        channel.close();
        assert!(channel.next().await.is_none());
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
