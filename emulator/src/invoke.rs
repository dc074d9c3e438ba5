//! The public front: Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`).
//!
//! Every error leaves through one type, `AwsError`, in the shape AWS sends: the status, an
//! `x-amzn-ErrorType` header and a `{"Type": …, "message": …}` body. Routes Lambda does not have
//! are answered the same way, so SDKs and the AWS CLI always get an error they understand.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::json;
use tracing::Instrument;

use tokio::sync::watch;

use crate::ACCOUNT_ID;
use crate::apigw::{EventOptions, PayloadFormat, RouteTable};
use crate::body::{BodyError, read_limited};
use crate::events::{Events, Rejected};
use crate::gateway::{self, Gateway};
use crate::instance::{Invocation, Outcome, Refused};
use crate::pool::Function;
use crate::registry::{FunctionKey, Registry};
use crate::status::{self, BuildState};

/// Largest synchronous (`RequestResponse`, `DryRun`) request body.
pub const MAX_REQUEST_BYTES: usize = 6_291_456;

/// Largest asynchronous (`Event`) request body.
pub const MAX_EVENT_BYTES: usize = 1_048_576;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// The functions the front serves, its API Gateway routes and the build state.
#[derive(Debug, Clone)]
pub struct AppState {
    registry: Arc<Registry>,
    /// Region of the ARNs in errors about unknown functions.
    region: Arc<str>,
    /// Swapped whole when the configuration is reloaded.
    gateway: Arc<RwLock<Arc<Gateway>>>,
    build: Arc<watch::Sender<BuildState>>,
    /// Function URLs being served.
    function_urls: Arc<crate::function_url::FunctionUrls>,
    /// Asynchronous invocations: queues, dispatchers, the event directory.
    events: Arc<Events>,
    /// Deployed functions (the management API).
    #[cfg(feature = "manage")]
    manage: Arc<crate::manage::Store>,
    /// The host names the listeners answer to, and the front's address.
    hosts: Arc<crate::guard::HostPolicy>,
}

impl AppState {
    /// State over `functions`, with the default routes (one function: every path; several:
    /// `/{function}/…`) as HTTP API (payload 2.0) routes until others are set.
    pub(crate) fn new(registry: Registry, region: &str) -> AppState {
        let names: Vec<(String, PayloadFormat)> = registry
            .names()
            .into_iter()
            .map(|name| (name, PayloadFormat::Http))
            .collect();
        let routes = RouteTable::default_for(&names).unwrap_or_else(|error| {
            // Only names the Invoke API accepts but a path cannot hold; those stay Invoke-only.
            tracing::warn!(%error, "no default API Gateway routes");
            RouteTable::default()
        });
        let registry = Arc::new(registry);
        let events = Arc::new(Events::new(registry.clone(), registry.closing()));
        AppState {
            registry,
            events,
            region: region.into(),
            gateway: Arc::new(RwLock::new(Arc::new(Gateway::new(
                routes,
                EventOptions::default(),
            )))),
            build: Arc::new(watch::Sender::new(BuildState::Ready)),
            function_urls: Arc::default(),
            #[cfg(feature = "manage")]
            manage: Arc::default(),
            hosts: Arc::default(),
        }
    }

    /// The same state answering the hosts of `hosts`.
    pub(crate) fn with_hosts(mut self, hosts: Arc<crate::guard::HostPolicy>) -> AppState {
        self.hosts = hosts;
        self
    }

    /// The API Gateway in force.
    pub(crate) fn gateway(&self) -> Arc<Gateway> {
        self.gateway
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the API Gateway routes and settings.
    pub(crate) fn set_gateway(&self, gateway: Gateway) {
        *self.gateway.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(gateway);
    }

    /// The build state the front reports.
    pub(crate) fn build_state(&self) -> BuildState {
        self.build.borrow().clone()
    }

    /// Sets the build state the front reports.
    pub(crate) fn set_build_state(&self, state: BuildState) {
        self.build.send_replace(state);
    }

    /// The API Gateway routes served.
    pub fn routes(&self) -> Vec<crate::apigw::Route> {
        self.gateway().routes().routes().to_vec()
    }

    /// The names of the functions served, sorted.
    pub fn function_names(&self) -> Vec<String> {
        self.registry.names()
    }

    /// The `$LATEST` version of the function called `name`.
    pub(crate) fn function(&self, name: &str) -> Option<Arc<Function>> {
        self.registry.get(&FunctionKey::latest(name))
    }

    /// The functions served.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The asynchronous invocation queues.
    pub(crate) fn events(&self) -> &Arc<Events> {
        &self.events
    }

    /// The function URLs served.
    pub(crate) fn function_urls(&self) -> &crate::function_url::FunctionUrls {
        &self.function_urls
    }

    /// The host names the listeners answer to, and the front's address.
    pub(crate) fn hosts(&self) -> &crate::guard::HostPolicy {
        &self.hosts
    }

    /// What the management API keeps.
    #[cfg(feature = "manage")]
    pub(crate) fn manage(&self) -> &crate::manage::Store {
        &self.manage
    }

    /// The region of the emulator's ARNs.
    #[cfg(feature = "manage")]
    pub(crate) fn region(&self) -> &str {
        &self.region
    }
}

/// The path prefixes of Lambda's REST API, one per API version (functions, URLs, tags, layers, …).
pub(crate) const LAMBDA_API_PREFIXES: [&str; 5] = [
    "/2015-03-31/",
    "/2021-10-31/",
    "/2017-03-31/",
    "/2018-10-31/",
    "/2019-09-25/",
];

/// The front router: the Invoke API, the management API (feature `manage`), the status page, AWS-shaped errors for unknown Lambda API
/// operations, and API Gateway for every other path. Every response carries the build state.
/// Requests pass [the guard](crate::guard) first: allowed `Host`s only, no cross-site browser
/// requests to the Lambda API or `/_lambkin`, SigV4-signed management calls.
pub fn app(state: AppState) -> Router {
    let router = Router::new();
    #[cfg(feature = "manage")]
    let router = router.merge(crate::manage::routes());
    router
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route("/_lambkin", get(status::page))
        .fallback(front_fallback)
        .method_not_allowed_fallback(unknown_operation)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::guard::front,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            status::add_build_header,
        ))
        .with_state(state)
}

/// Lambda API paths that are not an operation get AWS's error; the rest go to API Gateway.
async fn front_fallback(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Response {
    let path = request.uri().path();
    if LAMBDA_API_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return unknown_operation().await.into_response();
    }
    let gateway = state.gateway();
    gateway::serve(&gateway, |name| state.function(name), request).await
}

async fn unknown_operation() -> AwsError {
    AwsError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        "Unknown operation".to_owned(),
    )
}

/// The three kinds of `X-Amz-Invocation-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

async fn invoke(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AwsError> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("invoke", %request_id);
    async move {
        let Path(name) = name.map_err(|e| AwsError::invalid_parameter(e.body_text()))?;
        let (key, function) = resolve(&state, &name, query.as_deref())?;
        let kind = match header(&headers, "x-amz-invocation-type")? {
            None | Some("RequestResponse") => InvocationType::RequestResponse,
            Some("Event") => InvocationType::Event,
            Some("DryRun") => InvocationType::DryRun,
            Some(other) => {
                return Err(AwsError::invalid_parameter(format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]"
                )));
            }
        };
        let tail = match header(&headers, "x-amz-log-type")? {
            None | Some("None") => false,
            Some("Tail") => true,
            Some(other) => {
                return Err(AwsError::invalid_parameter(format!(
                    "1 validation error detected: Value '{other}' at 'logType' failed to satisfy constraint: Member must satisfy enum value set: [None, Tail]"
                )));
            }
        };
        let client_context = header(&headers, "x-amz-client-context")?
            .map(decode_client_context)
            .transpose()?;
        let trace_id = header(&headers, "x-amzn-trace-id")?
            .map_or_else(new_trace_id, str::to_owned);
        let (limit, operation) = match kind {
            InvocationType::Event => (MAX_EVENT_BYTES, "InvokeAsync"),
            _ => (MAX_REQUEST_BYTES, "InvokeFunction"),
        };
        let payload = match read_limited(body, limit).await {
            Ok(payload) => payload,
            Err(BodyError::TooLarge) => return Err(AwsError::too_large(limit, operation)),
            Err(BodyError::TimedOut) => return Err(AwsError::request_timeout()),
            Err(BodyError::Failed) => {
                return Err(AwsError::invalid_request_content(
                    "Could not read the request body".to_owned(),
                ));
            }
        };
        let payload = json_payload(payload)?;
        let invocation = Invocation {
            request_id: request_id.clone(),
            payload,
            trace_id,
            client_context,
            cognito_identity: None,
        };
        match kind {
            InvocationType::DryRun => Ok(with_request_id(StatusCode::NO_CONTENT.into_response(), &request_id)),
            InvocationType::Event => {
                state.events.enqueue(key, invocation).await?;
                Ok(with_request_id(StatusCode::ACCEPTED.into_response(), &request_id))
            }
            InvocationType::RequestResponse => {
                let version = function.config().version.clone();
                let result = function.invoke(invocation, false).await.map_err(AwsError::from)?;
                let (body, unhandled) = match result.outcome {
                    Outcome::Success(body) => (body, false),
                    Outcome::Unhandled(body) => (body, true),
                };
                let mut response = (
                    StatusCode::OK,
                    [
                        (header::CONTENT_TYPE, "application/json"),
                        (HeaderName::from_static("x-amz-executed-version"), version.as_str()),
                    ],
                    body,
                )
                    .into_response();
                let headers = response.headers_mut();
                if unhandled {
                    headers.insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
                }
                if tail {
                    if let Ok(value) = HeaderValue::from_str(&BASE64.encode(result.log_tail)) {
                        headers.insert("x-amz-log-result", value);
                    }
                }
                Ok(with_request_id(response, &request_id))
            }
        }
    }
    .instrument(span)
    .await
}

/// The payload Lambda runs with: `{}` for an empty body, else the body if it is JSON.
///
/// The whole body must be UTF-8: serde_json does not check the contents of strings it skips.
fn json_payload(payload: Bytes) -> Result<Bytes, AwsError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        // Lambda invokes with `{}` when the caller sends no payload.
        return Ok(Bytes::from_static(b"{}"));
    }
    let invalid = |error: &dyn std::fmt::Display| {
        AwsError::invalid_request_content(format!(
            "Could not parse request body into json: Could not parse payload into json: {error}"
        ))
    };
    let text = std::str::from_utf8(&payload)
        .map_err(|error| invalid(&format_args!("Invalid UTF-8: {error}")))?;
    serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|error| invalid(&error))?;
    Ok(payload)
}

/// A header as text; a value that is not text is an invalid parameter.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, AwsError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| AwsError::invalid_parameter(format!("Invalid {name} header")))
        })
        .transpose()
}

/// The function a (possibly qualified, possibly ARN) name refers to, and its registry key.
fn resolve(
    state: &AppState,
    name: &str,
    query: Option<&str>,
) -> Result<(FunctionKey, Arc<Function>), AwsError> {
    let (bare, qualifier) = crate::registry::split_name(name);
    let query_qualifier = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("Qualifier="))
        .map(|q| q.replace("%24", "$"));
    let qualifier = qualifier.map(str::to_owned).or(query_qualifier);
    let key = FunctionKey::new(bare, qualifier.as_deref());
    let function = state
        .registry
        .get(&key)
        .ok_or_else(|| AwsError::function_not_found(&state.region, bare, qualifier.as_deref()))?;
    Ok((key, function))
}

/// `X-Amz-Client-Context` is base64 JSON; the Runtime API passes on the JSON itself.
fn decode_client_context(encoded: &str) -> Result<String, AwsError> {
    let invalid = || {
        AwsError::invalid_request_content(
            "Client context must be a valid Base64-encoded JSON object.".to_owned(),
        )
    };
    let decoded = BASE64.decode(encoded.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(decoded).map_err(|_| invalid())?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        _ => Err(invalid()),
    }
}

/// An X-Ray trace header for a request that came without one.
fn new_trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let root = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &root[..24],
        &parent[..16]
    )
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// An Invoke API error, answered as AWS answers it.
#[derive(Debug)]
pub(crate) struct AwsError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
    /// The `Reason` of a `TooManyRequestsException` (one of AWS's `ThrottleReason` values).
    reason: Option<&'static str>,
}

impl AwsError {
    pub(crate) fn new(status: StatusCode, error_type: &'static str, message: String) -> Self {
        AwsError {
            status,
            error_type,
            message,
            reason: None,
        }
    }

    /// 429 `TooManyRequestsException` for `reason`, with AWS's message.
    fn throttled(reason: &'static str) -> Self {
        AwsError {
            reason: Some(reason),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded.".to_owned(),
            )
        }
    }

    fn shutting_down() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceException",
            "The emulator is shutting down".to_owned(),
        )
    }

    /// 404 `ResourceNotFoundException` for `name` (at `qualifier`).
    pub(crate) fn function_not_found(region: &str, name: &str, qualifier: Option<&str>) -> Self {
        let mut arn = format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}");
        if let Some(qualifier) = qualifier {
            arn.push(':');
            arn.push_str(qualifier);
        }
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {arn}"),
        )
    }

    pub(crate) fn invalid_parameter(message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            message,
        )
    }

    pub(crate) fn invalid_request_content(message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            message,
        )
    }

    /// 408 `RequestTimeoutException`: the request body came too slowly (the listener's
    /// limits). AWS's SDKs retry this error type as transient (`TRANSIENT_ERRORS` in
    /// aws-runtime's retry classifiers).
    pub(crate) fn request_timeout() -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "RequestTimeoutException",
            "The request body was not received in time".to_owned(),
        )
    }

    pub(crate) fn too_large(limit: usize, operation: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!("Request must be smaller than {limit} bytes for the {operation} operation"),
        )
    }
}

impl From<Refused> for AwsError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Throttled(limit) => Self::throttled(limit.reason()),
            Refused::ShuttingDown => Self::shutting_down(),
            // The local instance cap, not a Lambda limit: not a 429, which would say the caller
            // went over a limit AWS has. SDKs retry a `ServiceException`.
            Refused::NoInstance => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "No instance of the function became free in time: every instance lambkin may run for it locally is busy (raise --max-instances)".to_owned(),
            ),
            Refused::Internal => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "The emulator failed to run the invocation".to_owned(),
            ),
        }
    }
}

impl From<Rejected> for AwsError {
    fn from(rejected: Rejected) -> Self {
        match rejected {
            // AWS's asynchronous queue throttles on the invocation rate it accepts, not on
            // concurrency: the rate reasons of `ThrottleReason` (Invoke API reference,
            // https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors;
            // https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html: requests per
            // second are limited as well as concurrency). Each emulated function has its own
            // limits, as a function with reserved concurrency does.
            Rejected::Full => Self::throttled("ReservedFunctionInvocationRateLimitExceeded"),
            Rejected::ShuttingDown => Self::shutting_down(),
            Rejected::Store(error) => {
                tracing::error!(%error, "cannot store an asynchronous invocation");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceException",
                    format!("The emulator could not store the event: {error}"),
                )
            }
        }
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() {
            "Service"
        } else {
            "User"
        };
        let mut body = json!({ "Type": kind, "message": self.message });
        if let Some(reason) = self.reason {
            body["Reason"] = json!(reason);
        }
        let response = (
            self.status,
            [
                (header::CONTENT_TYPE, "application/json"),
                (HeaderName::from_static("x-amzn-errortype"), self.error_type),
            ],
            body.to_string(),
        )
            .into_response();
        with_request_id(response, &uuid::Uuid::new_v4().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concurrency::Limit;

    #[test]
    fn client_context_must_be_base64_json() {
        let encoded = BASE64.encode(r#"{"custom":{"a":"b"}}"#);
        assert_eq!(
            decode_client_context(&encoded).unwrap(),
            r#"{"custom":{"a":"b"}}"#
        );
        assert!(decode_client_context("%%%").is_err());
        assert!(decode_client_context(&BASE64.encode("[1]")).is_err());
    }

    #[test]
    fn trace_ids_look_like_xray() {
        let id = new_trace_id();
        assert!(id.starts_with("Root=1-"), "{id}");
        assert!(id.ends_with(";Sampled=0"), "{id}");
    }

    #[test]
    fn errors_have_aws_shape() {
        let response = AwsError::from(Refused::Throttled(Limit::Account)).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers()["x-amzn-ErrorType"],
            "TooManyRequestsException"
        );
        assert!(response.headers().contains_key("x-amzn-RequestId"));
    }

    /// The `Reason` of a 429 says which limit was hit; other errors have none.
    #[tokio::test]
    async fn throttle_reasons_come_from_the_cause() {
        async fn reason(error: AwsError) -> serde_json::Value {
            let body = error.into_response().into_body();
            let bytes = http_body_util::BodyExt::collect(body)
                .await
                .unwrap()
                .to_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["Reason"].clone()
        }
        assert_eq!(
            reason(Refused::Throttled(Limit::Reserved).into()).await,
            "ReservedFunctionConcurrentInvocationLimitExceeded"
        );
        assert_eq!(
            reason(Refused::Throttled(Limit::Account).into()).await,
            "ConcurrentInvocationLimitExceeded"
        );
        assert!(reason(Refused::NoInstance.into()).await.is_null());
        assert_eq!(
            reason(Rejected::Full.into()).await,
            "ReservedFunctionInvocationRateLimitExceeded"
        );
        assert!(reason(Rejected::ShuttingDown.into()).await.is_null());
        assert!(
            reason(AwsError::invalid_parameter("x".to_owned()))
                .await
                .is_null()
        );
    }

    #[test]
    fn payloads_must_be_utf8_json() {
        assert_eq!(json_payload(Bytes::from_static(b" \n")).unwrap(), "{}");
        assert_eq!(json_payload(Bytes::from_static(b"[1]")).unwrap(), "[1]");
        for bad in [&b"{\"a\":\"\xff\"}"[..], b"{", b"\"\xed\xa0\x80\""] {
            let error = json_payload(Bytes::copy_from_slice(bad)).unwrap_err();
            assert_eq!(error.error_type, "InvalidRequestContentException");
            assert!(
                error
                    .message
                    .starts_with("Could not parse request body into json: ")
            );
        }
    }
}
