//! The dashboard under `/_lambkin`: the page a browser gets at `GET /_lambkin` (the
//! [status](super::status) JSON is its model), the live invocation feed, one invocation's
//! detail, its replay, and the counters in Prometheus's text format.
//!
//! * `GET /_lambkin/assets/{file}`: the page's script and style sheet, compiled into the binary
//!   (no build step, no CDN).
//! * `GET /_lambkin/invocations`: the recorded invocations (oldest first); `…/{id}`: one of them
//!   whole (event, answer, log lines, REPORT).
//! * `GET /_lambkin/live`: Server-Sent Events, one `invocation` event per invocation as it ends;
//!   `lagged` when a slow client skipped some (it reloads the list). At most
//!   [`LIVE_CLIENTS`] at once, each at most [`Recorder`](crate::recorder::Recorder)'s feed buffer
//!   behind.
//! * `POST /_lambkin/invocations/{id}/replay`: runs the invocation's event again. Besides the
//!   guard (allowed `Host`, no cross-site request), it needs the `x-lambkin-token` the page
//!   holds: a page of another site can neither read the token nor send the header without a
//!   CORS preflight, which the emulator never grants.
//! * `GET /_lambkin/metrics`: the counters, in Prometheus's text exposition format.
//! * `GET /_lambkin/executions/{arn}` (feature `workflows`): one Step Functions execution with
//!   its state machine's definition and the path it took, which the page draws as a graph.
//!
//! Every path passes the front's guard (`/_lambkin` and below is its `Lambkin` surface). The page
//! is served with a Content-Security-Policy allowing only its own scripts and connections.

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use super::AppState;
use super::aws_error::{AwsError, with_request_id};
use super::function_url::FunctionUrls;
use super::gateway::{self, CurrentGateway};
use crate::instance::{Invocation, Trigger};
use crate::pool::Function;
use crate::recorder::Record;
use crate::registry::{FunctionKey, Registry};
use crate::sync::closed;

/// How many browsers may follow the live feed at once.
pub(crate) const LIVE_CLIENTS: usize = 16;

/// The header carrying the page's token on replays.
const TOKEN_HEADER: &str = "x-lambkin-token";

/// The page, its script and its style sheet.
const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");
const STYLE: &str = include_str!("page.css");

/// What the dashboard's handlers share: the page's token and the live feed's room.
#[derive(Debug, Clone)]
pub(crate) struct Dashboard {
    token: Arc<str>,
    live: Arc<Semaphore>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard {
            token: uuid::Uuid::new_v4().simple().to_string().into(),
            live: Arc::new(Semaphore::new(LIVE_CLIENTS)),
        }
    }
}

/// The dashboard's routes (the page itself is `GET /_lambkin`, [`page`]).
pub(crate) fn routes() -> Router<AppState> {
    let router = Router::new()
        .route("/_lambkin/assets/{file}", get(asset))
        .route("/_lambkin/invocations", get(invocations))
        .route("/_lambkin/invocations/{id}", get(invocation))
        .route("/_lambkin/invocations/{id}/replay", post(replay))
        .route("/_lambkin/live", get(live))
        .route("/_lambkin/metrics", get(metrics));
    #[cfg(feature = "workflows")]
    let router = router.route("/_lambkin/executions/{arn}", get(execution));
    router
}

/// Whether the request is a browser's asking for a page: its `Accept` names `text/html`.
/// Everything else (`*/*` of curl, `application/json`, none) gets the JSON model.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            let mut parts = media.split(';');
            let is_html = parts
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/html"));
            // `q=0` says "not this one".
            is_html && !parts.any(|p| p.trim().replace(' ', "") == "q=0")
        })
}

/// The dashboard page, holding the replay token.
pub(crate) fn page(dashboard: &Dashboard) -> Response {
    let html = PAGE.replace("@@TOKEN@@", &dashboard.token);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /_lambkin/assets/{file}`.
async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "dashboard.js" => ("text/javascript; charset=utf-8", SCRIPT),
        "dashboard.css" => ("text/css; charset=utf-8", STYLE),
        _ => return not_found(format!("No dashboard asset {file:?}")).into_response(),
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn not_found(message: String) -> AwsError {
    AwsError::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", message)
}

/// The recorded invocation `id`, or 404.
fn recorded(registry: &Registry, id: &str) -> Result<Arc<Record>, AwsError> {
    id.parse()
        .ok()
        .and_then(|id| registry.recorder().get(id))
        .ok_or_else(|| {
            not_found(format!(
                "No recorded invocation {id:?}: it is older than what the dashboard keeps"
            ))
        })
}

/// `GET /_lambkin/invocations`: the summaries of the recorded invocations, oldest first.
async fn invocations(State(registry): State<Arc<Registry>>) -> Json<Value> {
    let recent: Vec<Value> = registry
        .recorder()
        .recent()
        .iter()
        .map(|r| r.summary())
        .collect();
    Json(json!({ "invocations": recent }))
}

/// `GET /_lambkin/invocations/{id}`.
async fn invocation(
    State(registry): State<Arc<Registry>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AwsError> {
    Ok(Json(recorded(&registry, &id)?.detail()))
}

/// `POST /_lambkin/invocations/{id}/replay`: runs the invocation again, synchronously. One that
/// came through an API Gateway route or a function URL replays its HTTP request through the
/// front's gateway or the function's URL as they are now (route, authorizer, event mapping, as
/// the first time); any other runs the
/// recorded event on the function and version that ran it. Answers the new invocation's
/// summary.
async fn replay(
    State(registry): State<Arc<Registry>>,
    State(gateway): State<CurrentGateway>,
    State(urls): State<Arc<FunctionUrls>>,
    State(dashboard): State<Dashboard>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AwsError> {
    let token = headers.get(TOKEN_HEADER).map(HeaderValue::as_bytes);
    if token != Some(dashboard.token.as_bytes()) {
        return Err(AwsError::new(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            format!("A replay needs the {TOKEN_HEADER} header of the dashboard page"),
        ));
    }
    let record = recorded(&registry, &id)?;
    let request_id = uuid::Uuid::new_v4().to_string();
    if let Some(http) = record.http_request() {
        let kept = &http.request;
        let mut request = axum::extract::Request::new(axum::body::Body::from(kept.body().clone()));
        *request.method_mut() = kept.method().clone();
        *request.uri_mut() = kept.uri().clone();
        *request.headers_mut() = kept.headers().clone();
        request
            .extensions_mut()
            .insert(gateway::Replay(request_id.clone()));
        let through = if http.function_url {
            urls.get(&record.function)
                .ok_or_else(|| {
                    not_found(format!("Function {} no longer has a URL", record.function))
                })?
                .gateway()
        } else {
            gateway.get()
        };
        let answer = gateway::serve(
            &through,
            |name| registry.get(&FunctionKey::latest(name)),
            // Replays are of function invocations, never of a state machine's route.
            #[cfg(feature = "workflows")]
            None,
            request,
        )
        .await;
        let replayed = replayed(&registry, &request_id).ok_or_else(|| {
            AwsError::new(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                format!(
                    "The gateway answered {} without invoking a function: its route or authorizer changed",
                    answer.status()
                ),
            )
        })?;
        return Ok(with_request_id(Json(replayed).into_response(), &request_id));
    }
    let payload = record.replay().ok_or_else(|| {
        AwsError::invalid_request_content(
            "The event was truncated when it was recorded: it cannot be replayed".to_owned(),
        )
    })?;
    let key = FunctionKey::new(&record.function, Some(&record.version));
    let function: Arc<Function> = registry
        .get(&key)
        .ok_or_else(|| not_found(format!("Function {key} no longer exists")))?;
    let invocation = Invocation {
        request_id: request_id.clone(),
        payload,
        trace_id: crate::instance::new_trace_id(),
        client_context: None,
        cognito_identity: None,
        stream: None,
        trigger: Trigger::Replay,
    };
    function.invoke(invocation, false).await?;
    let replayed = replayed(&registry, &request_id).unwrap_or(Value::Null);
    Ok(with_request_id(Json(replayed).into_response(), &request_id))
}

/// The summary of the recorded invocation `request_id`, the newest first.
fn replayed(registry: &Registry, request_id: &str) -> Option<Value> {
    registry
        .recorder()
        .recent()
        .iter()
        .rev()
        .find(|r| r.request_id == request_id)
        .map(|r| r.summary())
}

/// `GET /_lambkin/executions/{arn}`: the execution `arn`, its definition and path.
#[cfg(feature = "workflows")]
async fn execution(
    State(workflows): State<Arc<crate::workflows::Workflows>>,
    Path(arn): Path<String>,
) -> Result<Json<Value>, AwsError> {
    workflows
        .execution(&arn)
        .map(Json)
        .map_err(|e| not_found(e.message))
}

/// `GET /_lambkin/live`: every invocation as it ends, as Server-Sent Events.
async fn live(
    State(registry): State<Arc<Registry>>,
    State(dashboard): State<Dashboard>,
) -> Result<Response, AwsError> {
    let permit = dashboard.live.clone().try_acquire_owned().map_err(|_| {
        AwsError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            format!("At most {LIVE_CLIENTS} dashboards may follow invocations at once"),
        )
    })?;
    let feed = Feed {
        invocations: registry.recorder().subscribe(),
        closing: registry.closing(),
        _permit: permit,
    };
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let event = tokio::select! {
            received = feed.invocations.recv() => match received {
                Ok(record) => Event::default().event("invocation").json_data(record.summary()).ok()?,
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    Event::default().event("lagged").data(skipped.to_string())
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            () = closed(&mut feed.closing) => return None,
        };
        Some((Ok::<_, Infallible>(event), feed))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// One live-feed client's state.
struct Feed {
    invocations: broadcast::Receiver<Arc<Record>>,
    /// The feed ends when the emulator stops.
    closing: tokio::sync::watch::Receiver<bool>,
    /// Its room among the [`LIVE_CLIENTS`].
    _permit: OwnedSemaphorePermit,
}

/// `GET /_lambkin/metrics`: the recorder's counters and the instances and concurrency now, in
/// Prometheus's text exposition format
/// (<https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format>).
async fn metrics(State(registry): State<Arc<Registry>>) -> Response {
    let mut text = String::new();
    registry.recorder().write_metrics(&mut text);
    let _ = writeln!(
        text,
        "# HELP lambkin_instances Instances by function and state.\n# TYPE lambkin_instances gauge"
    );
    for (key, function) in registry.all() {
        let name = crate::recorder::escape(&key.to_string());
        let instances = function.instances();
        for state in [
            crate::pool::InstanceState::Busy,
            crate::pool::InstanceState::Warm,
            crate::pool::InstanceState::Frozen,
        ] {
            let count = instances.iter().filter(|(_, s)| *s == state).count();
            let _ = writeln!(
                text,
                "lambkin_instances{{function=\"{name}\",state=\"{}\"}} {count}",
                state.as_str()
            );
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
