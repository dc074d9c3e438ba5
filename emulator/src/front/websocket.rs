//! WebSocket APIs on the front: the upgrade at `ws://{host}:{port}/{stage}`, each connection's
//! messages to its routes' functions, and the `@connections` management API at
//! `http://{host}:{port}/{stage}/@connections/{connectionId}`, which is
//! `https://{domainName}/{stage}` on AWS (the events' `domainName` is the `Host` the client
//! connected to, so a function builds the endpoint the same way, with `http://`).
//!
//! A request is the WebSocket API's when its first path segment is an API's stage and it is an
//! upgrade (`GET` with `Upgrade: websocket`) to `/{stage}`, or any request under
//! `/{stage}/@connections/`; every other request goes on to the HTTP routes. The guard checks
//! the upgrade's `Origin` (`guard`): a browser page may open a WebSocket to any site, so a page
//! of another site could otherwise talk to the local API with the user's cookies. It gives
//! `@connections` the management API's checks (no cross-site browser request, a SigV4-shaped
//! `Authorization` for `execute-api`), as AWS requires a signature there.
//!
//! AWS's behaviour and limits
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html>,
//! <https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html>):
//! a frame over 32 KB or a message over 128 KB closes the connection with 1009; a connection
//! idle for 10 minutes or open for 2 hours is closed (1001); `PostToConnection` over 128 KB is
//! 413 `PayloadTooLargeException`, and any call on a connection that is not open is 410
//! `GoneException`. A message no route takes, or whose function fails, gets AWS's
//! `{"message": …, "connectionId": …, "requestId": …}` back.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::AwsError;
use crate::body::{BodyError, read_limited};
use crate::clock::rfc3339;
use crate::instance::{Invocation, Outcome, Trigger};
use crate::registry::{FunctionKey, Registry};
use crate::websocket::{
    CONNECT, Connection, Connections, DISCONNECT, Disconnect, Event, EventKind, Gone, MAX_FRAME,
    MAX_MESSAGE, Outgoing, WebSocketApi, proxy_answer,
};

/// How long API Gateway waits for an integration (its WebSocket maximum, 29 s).
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);
/// A connection with no message for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// No connection stays open longer.
const MAX_DURATION: Duration = Duration::from_secs(2 * 60 * 60);
/// How long writing one message to a client may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages waiting to be written to one connection before `PostToConnection` waits.
const OUTBOX: usize = 64;
/// Messages of one connection whose functions may run at once. Each may hold up to
/// `MAX_MESSAGE` bytes for up to `INTEGRATION_TIMEOUT`; once this many are in flight the
/// connection is not read until one ends, so a fast client is held back (TCP's flow control)
/// instead of growing the emulator's memory.
const IN_FLIGHT: usize = 64;

/// The WebSocket APIs served and their open connections.
#[derive(Debug)]
pub(crate) struct WebSockets {
    apis: Vec<Arc<WebSocketApi>>,
    connections: Connections,
    /// One permit per connection that may be open at once. An upgraded connection leaves the
    /// listener's count (`Limits::max_connections`, the same number), so this bounds them. A
    /// permit is taken before `$connect` runs and held until the connection has ended, so
    /// handshakes under way count too.
    open: Arc<Semaphore>,
    /// The number of permits in `open`.
    max_open: usize,
}

impl WebSockets {
    /// Serves `apis`, with at most `max_open` connections open at once.
    pub(crate) fn new(apis: &[WebSocketApi], max_open: usize) -> WebSockets {
        WebSockets {
            apis: apis.iter().cloned().map(Arc::new).collect(),
            connections: Connections::default(),
            open: Arc::new(Semaphore::new(max_open)),
            max_open,
        }
    }

    /// The API served under `stage`.
    fn api(&self, stage: &str) -> Option<&Arc<WebSocketApi>> {
        self.apis.iter().find(|api| api.stage() == stage)
    }
}

/// Serves `request` if it is a WebSocket API's (an upgrade or a management call); otherwise
/// gives it back.
pub(crate) async fn serve(
    sockets: &Arc<WebSockets>,
    registry: &Arc<Registry>,
    request: Request,
) -> Result<Response, Request> {
    let path = request.uri().path().to_owned();
    let Some((stage, rest)) = path
        .strip_prefix('/')
        .map(|p| p.split_once('/').unwrap_or((p, "")))
    else {
        return Err(request);
    };
    let Some(api) = sockets.api(stage).cloned() else {
        return Err(request);
    };
    if rest.is_empty()
        && request.method() == Method::GET
        && super::guard::is_websocket_upgrade(request.headers())
    {
        return Ok(connect(sockets.clone(), registry.clone(), api, request).await);
    }
    match rest.strip_prefix("@connections/") {
        Some(id) if !id.is_empty() && !id.contains('/') => {
            // SDKs percent-encode the id's `=` (`%3D`) in the path.
            let id = crate::apigw::route::percent_decode(id);
            Ok(manage(&sockets.connections, &api, &id, request).await)
        }
        _ => Err(request),
    }
}

/// The upgrade: `$connect` decides, then the connection runs in its own task.
async fn connect(
    sockets: Arc<WebSockets>,
    registry: Arc<Registry>,
    api: Arc<WebSocketApi>,
    request: Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
    let (mut parts, _) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(permit) = sockets.open.clone().try_acquire_owned() else {
        tracing::warn!(
            limit = sockets.max_open,
            "WebSocket connection limit reached: upgrade refused"
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(json!({ "message": "Too Many Requests" })),
        )
            .into_response();
    };
    let now = SystemTime::now();
    let handshake = crate::apigw::request::handshake(
        &http::Request::from_parts(parts, Bytes::new()),
        peer,
        now,
    );
    let connection = Arc::new(Connection::new(handshake, now));
    let mut upgrade = upgrade
        .max_frame_size(MAX_FRAME)
        .max_message_size(MAX_MESSAGE);
    if let Some(route) = api.route(CONNECT) {
        let event = Event::new(&api, &connection, &EventKind::Connect, now);
        let answer = match invoke(&registry, route.function(), event).await {
            Ok(answer) => proxy_answer(&answer),
            Err(failure) => return failure.status_response(),
        };
        if !(200..300).contains(&answer.status) {
            tracing::info!(
                api = api.name(),
                status = answer.status,
                "$connect refused the connection"
            );
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::FORBIDDEN);
            return (status, answer.body.unwrap_or_default()).into_response();
        }
        if let Some(protocol) = answer.protocol {
            upgrade = upgrade.protocols([protocol]);
        }
    }
    upgrade.on_upgrade(move |socket| async move {
        run(sockets, registry, api, connection, socket).await;
        drop(permit);
    })
}

/// Why API Gateway could not get an answer from a function.
#[derive(Debug, Clone, Copy)]
enum Failure {
    /// The function failed, or could not run (500, "Internal server error").
    Failed,
    /// It took longer than the integration timeout (504, "Endpoint request timed out").
    TimedOut,
}

impl Failure {
    fn message(self) -> &'static str {
        match self {
            Failure::Failed => "Internal server error",
            Failure::TimedOut => "Endpoint request timed out",
        }
    }

    /// The answer to an upgrade whose `$connect` failed.
    fn status_response(self) -> Response {
        let status = match self {
            Failure::Failed => StatusCode::INTERNAL_SERVER_ERROR,
            Failure::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        };
        (status, axum::Json(json!({ "message": self.message() }))).into_response()
    }
}

/// Invokes `function` with `event` as API Gateway does: its answer, or why there is none.
async fn invoke(registry: &Registry, function: &str, event: Event) -> Result<Bytes, Failure> {
    let Some(target) = registry.get(&FunctionKey::latest(function)) else {
        tracing::error!(function, "a WebSocket route names an unknown function");
        return Err(Failure::Failed);
    };
    let invocation = Invocation {
        // API Gateway's request id is its own; the invocation has a new one.
        request_id: uuid::Uuid::new_v4().to_string(),
        payload: Bytes::from(event.json.to_string()),
        trace_id: event.trace_id,
        client_context: None,
        cognito_identity: None,
        stream: None,
        trigger: Trigger::WebSocket(
            event.json["requestContext"]["routeKey"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ),
    };
    match tokio::time::timeout(INTEGRATION_TIMEOUT, target.invoke(invocation, false)).await {
        Err(_) => Err(Failure::TimedOut),
        Ok(Ok(result)) => match result.outcome {
            Outcome::Success(body) => Ok(body),
            Outcome::Unhandled(_) => Err(Failure::Failed),
        },
        Ok(Err(_)) => Err(Failure::Failed),
    }
}

/// One connection, from the upgrade until it ends; then `$disconnect`.
async fn run(
    sockets: Arc<WebSockets>,
    registry: Arc<Registry>,
    api: Arc<WebSocketApi>,
    connection: Arc<Connection>,
    mut socket: WebSocket,
) {
    let (outbox, mut queued) = mpsc::channel(OUTBOX);
    sockets
        .connections
        .open(connection.clone(), api.name(), outbox.clone());
    let mut closing = registry.closing();
    let shutdown = async move {
        // An error: the registry is gone, so is the emulator.
        let _ = closing.wait_for(|closing| *closing).await;
    };
    tokio::pin!(shutdown);
    let ends = tokio::time::Instant::now() + MAX_DURATION;
    let mut idle_until = tokio::time::Instant::now() + IDLE_TIMEOUT;
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
    let ended = loop {
        tokio::select! {
            // The next message is read only once a permit is free (the semaphore is never
            // closed, so there always is one eventually).
            (permit, received) = async {
                let permit = in_flight.clone().acquire_owned().await.ok();
                (permit, socket.recv().await)
            } => {
                let (data, binary) = match received {
                    Some(Ok(Message::Text(text))) => (Bytes::from(text), false),
                    Some(Ok(Message::Binary(data))) => (data, true),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(frame))) => break match frame {
                        Some(frame) => closed(frame.code, &frame.reason),
                        None => closed(1005, ""),
                    },
                    Some(Err(error)) => {
                        if is_too_big(&error) {
                            break close(&mut socket, 1009, "Message too big").await;
                        }
                        tracing::debug!(%error, "WebSocket connection failed");
                        break closed(1006, "");
                    }
                    None => break closed(1006, ""),
                };
                let now = SystemTime::now();
                idle_until = tokio::time::Instant::now() + IDLE_TIMEOUT;
                sockets.connections.touch(&connection.id, now);
                tokio::spawn(message(
                    registry.clone(),
                    api.clone(),
                    connection.clone(),
                    outbox.clone(),
                    Received { data, binary, permit },
                ));
            }
            Some(out) = queued.recv() => match out {
                Outgoing::Data { data, binary } => {
                    let frame = match String::from_utf8(data) {
                        Ok(text) if !binary => Message::Text(text.into()),
                        Ok(text) => Message::Binary(text.into_bytes().into()),
                        Err(data) => Message::Binary(data.into_bytes().into()),
                    };
                    // A client that stops reading is dropped rather than let it hold up the
                    // connection (and the PostToConnection calls waiting on it) for good.
                    let sent = tokio::time::timeout(SEND_TIMEOUT, socket.send(frame)).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break closed(1006, "");
                    }
                }
                Outgoing::Close => break close(&mut socket, 1000, "").await,
            },
            () = tokio::time::sleep_until(idle_until) => break close(&mut socket, 1001, "Going away").await,
            () = tokio::time::sleep_until(ends) => break close(&mut socket, 1001, "Going away").await,
            () = &mut shutdown => break close(&mut socket, 1001, "Going away").await,
        }
    };
    sockets.connections.close(&connection.id);
    if let Some(route) = api.route(DISCONNECT) {
        let event = Event::new(
            &api,
            &connection,
            &EventKind::Disconnect(&ended),
            SystemTime::now(),
        );
        // Nothing can be told to the client any more: the answer is dropped, as on AWS.
        let _ = invoke(&registry, route.function(), event).await;
    }
}

/// A close of `code` and `reason`.
fn closed(code: u16, reason: &str) -> Disconnect {
    Disconnect {
        status: code,
        reason: reason.to_owned(),
    }
}

/// Closes `socket` with `code` and `reason` (the client may be gone already).
async fn close(socket: &mut WebSocket, code: u16, reason: &str) -> Disconnect {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
    closed(code, reason)
}

/// Whether `error` is a frame or message over the limits.
fn is_too_big(error: &axum::Error) -> bool {
    use std::error::Error as _;
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(tungstenite::Error::Capacity(_)) = cause.downcast_ref() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A message from the client, with its connection's in-flight permit (released when the
/// message has been handled).
struct Received {
    data: Bytes,
    binary: bool,
    permit: Option<OwnedSemaphorePermit>,
}

/// One message from the client: its route's function runs; a two-way route's answer, or
/// API Gateway's own message when there is no route or the function fails, goes back.
async fn message(
    registry: Arc<Registry>,
    api: Arc<WebSocketApi>,
    connection: Arc<Connection>,
    outbox: mpsc::Sender<Outgoing>,
    received: Received,
) {
    let Received {
        data,
        binary,
        permit: _permit,
    } = received;
    let text = (!binary).then(|| std::str::from_utf8(&data).ok()).flatten();
    let Some((key, route)) = api.select(text) else {
        let note = gateway_message(
            "Forbidden",
            &connection.id,
            &crate::apigw::request::new_id(),
        );
        let _ = outbox.send(note).await;
        return;
    };
    let kind = EventKind::Message {
        route_key: key,
        data: &data,
        binary,
    };
    let event = Event::new(&api, &connection, &kind, SystemTime::now());
    let request_id = event.request_id.clone();
    let reply = match invoke(&registry, route.function(), event).await {
        Ok(answer) if route.two_way() => {
            let answer = proxy_answer(&answer);
            answer.body.map(|data| Outgoing::Data {
                data,
                binary: answer.binary,
            })
        }
        Ok(_) => None,
        Err(failure) => Some(gateway_message(
            failure.message(),
            &connection.id,
            &request_id,
        )),
    };
    if let Some(reply) = reply {
        let _ = outbox.send(reply).await;
    }
}

/// API Gateway's own message to a client.
fn gateway_message(message: &str, connection_id: &str, request_id: &str) -> Outgoing {
    let body = json!({
        "message": message,
        "connectionId": connection_id,
        "requestId": request_id,
    });
    Outgoing::Data {
        data: body.to_string().into_bytes(),
        binary: false,
    }
}

/// The `@connections` management API: `POST` (PostToConnection), `GET` (GetConnection),
/// `DELETE` (DeleteConnection) on the connection `id` of `api`.
async fn manage(
    connections: &Connections,
    api: &WebSocketApi,
    id: &str,
    request: Request,
) -> Response {
    let gone = |Gone| {
        AwsError::new(
            StatusCode::GONE,
            "GoneException",
            format!("The connection {id} is not open"),
        )
        .into_response()
    };
    let method = request.method().clone();
    match method {
        Method::POST => {
            let data = match read_limited(request.into_body(), MAX_MESSAGE).await {
                Ok(data) => data,
                Err(BodyError::TooLarge) => {
                    return AwsError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "PayloadTooLargeException",
                        format!("The message is larger than {MAX_MESSAGE} bytes"),
                    )
                    .into_response();
                }
                Err(BodyError::Failed | BodyError::TimedOut) => {
                    return AwsError::new(
                        StatusCode::BAD_REQUEST,
                        "BadRequestException",
                        "The message could not be read".to_owned(),
                    )
                    .into_response();
                }
            };
            let data = Outgoing::Data {
                data: data.to_vec(),
                binary: false,
            };
            match connections.send(api.name(), id, data).await {
                Ok(()) => StatusCode::OK.into_response(),
                Err(error) => gone(error),
            }
        }
        Method::GET => match connections.get(api.name(), id) {
            Ok((connection, last_active)) => {
                let mut identity = json!({ "sourceIp": connection.source_ip });
                if let Some(agent) = &connection.user_agent {
                    identity["userAgent"] = json!(agent);
                }
                axum::Json(json!({
                    "connectedAt": rfc3339(connection.connected_at),
                    "identity": identity,
                    "lastActiveAt": rfc3339(last_active),
                }))
                .into_response()
            }
            Err(error) => gone(error),
        },
        Method::DELETE => match connections.send(api.name(), id, Outgoing::Close).await {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(error) => gone(error),
        },
        _ => AwsError::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("Unknown operation {method} on @connections"),
        )
        .into_response(),
    }
}
