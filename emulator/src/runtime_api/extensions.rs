//! The Extensions API of one instance, served on its Runtime API listener:
//! `POST /2020-01-01/extension/register`, `GET …/extension/event/next`,
//! `POST …/extension/init/error` and `POST …/extension/exit/error`, as AWS documents them
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html>).
//!
//! * An extension registers with `Lambda-Extension-Name` and `{"events": [...]}`, and gets its
//!   `Lambda-Extension-Identifier`, which every later call carries. An extension is *external*
//!   when its name is the file name of an executable the instance started from its
//!   `extensions/` directory; any other name registers an *internal* extension (one the runtime
//!   process runs), which may not subscribe to `SHUTDOWN`. Registration closes when the
//!   instance's init phase ends; at most 10 extensions register.
//! * `/event/next` says the extension is done with its last event (or with its init) and long
//!   polls for the next one: `INVOKE` when the runtime takes an invocation, `SHUTDOWN` when the
//!   instance ends.
//! * The instance reads the state: init is over once every external extension registered and
//!   every registered extension waits in `/event/next` ([`Extensions::settled`]); an
//!   invocation is over once the extensions it was given to ask for their next event again.
//!
//! Errors have Lambda's shape and types (`Extension.InvalidExtensionName`,
//! `Extension.RegistrationClosed`, `Extension.UnknownExtensionIdentifier`, …: those of
//! `lambda/rapi/handler/constants.go` in aws/aws-lambda-runtime-interface-emulator).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use super::{ApiError, Channel, accepted};
use crate::body::read_limited;
use crate::sync::lock;

/// How many extensions may register with one instance ("Extensions: 10", Lambda's quota at
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>).
pub(crate) const MAX_EXTENSIONS: usize = 10;

/// Largest register or error body read, in bytes.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The header an extension is known by after registering.
pub(crate) const IDENTIFIER: &str = "lambda-extension-identifier";

/// The Extensions API routes, merged into the instance's Runtime API.
pub(super) fn routes() -> Router<Arc<Channel>> {
    Router::new()
        .route("/2020-01-01/extension/register", post(register))
        .route("/2020-01-01/extension/event/next", get(next))
        .route("/2020-01-01/extension/init/error", post(init_error))
        .route("/2020-01-01/extension/exit/error", post(exit_error))
}

/// What the register answer tells an extension about its function.
#[derive(Debug, Clone, Default)]
pub(crate) struct FunctionInfo {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) handler: String,
    pub(crate) account_id: String,
}

/// A registered extension, as other parts of the emulator (the Telemetry API) see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registration {
    /// Its `Lambda-Extension-Name`.
    pub(crate) name: String,
    /// Started by the instance from its `extensions/` directory (else run by the runtime).
    pub(crate) external: bool,
}

/// An error an extension reported (`/init/error` or `/exit/error`).
#[derive(Debug, Clone)]
pub(crate) struct ExtensionError {
    /// The extension's name.
    pub(crate) name: String,
    /// Its `Lambda-Extension-Function-Error-Type`.
    pub(crate) error_type: String,
    /// Reported during init (`/init/error`), else on exit.
    pub(crate) init: bool,
}

/// The extensions of one instance.
#[derive(Debug)]
pub(crate) struct Extensions {
    state: Mutex<Registry>,
    /// Bumped on every change the instance waits for (a registration, a `/event/next`, an exit).
    changed: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Registry {
    function: FunctionInfo,
    /// File names of the external extensions the instance started.
    expected: Vec<String>,
    registered: Vec<Extension>,
    /// The init phase is over: no more registrations.
    closed: bool,
    /// The instance is discarded: long polls end.
    discarded: bool,
    /// Errors reported and not yet taken by the instance.
    errors: Vec<ExtensionError>,
}

impl Registry {
    /// The external extensions started and not registered (yet).
    fn unregistered(&self) -> impl Iterator<Item = &String> {
        self.expected
            .iter()
            .filter(|name| !self.registered.iter().any(|e| &e.name == *name))
    }
}

#[derive(Debug)]
struct Extension {
    id: String,
    name: String,
    external: bool,
    invoke: bool,
    shutdown: bool,
    /// Events not yet handed out.
    queue: VecDeque<Value>,
    /// Not back in `/event/next` since registering or since its last event.
    busy: bool,
    /// Its process exited or it reported `/exit/error`: nothing waits for it any more.
    gone: bool,
    wake: Arc<Notify>,
}

impl Extension {
    fn idle(&self) -> bool {
        self.gone || (!self.busy && self.queue.is_empty())
    }

    fn events(&self) -> Vec<&'static str> {
        [(self.invoke, "INVOKE"), (self.shutdown, "SHUTDOWN")]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect()
    }
}

/// An extension as Lambda reports it once init is over: the `EXTENSION` log line, and what the
/// Telemetry API's `platform.extension` event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) name: String,
    /// `Ready`, `Exited` (it already exited or reported an error) or `LaunchError` (started,
    /// never registered).
    pub(crate) state: &'static str,
    /// The events it subscribed to: `INVOKE`, `SHUTDOWN`.
    pub(crate) events: Vec<&'static str>,
}

impl Summary {
    /// `EXTENSION\tName: my-ext\tState: Ready\tEvents: [INVOKE,SHUTDOWN]`.
    pub(crate) fn log_line(&self) -> String {
        format!(
            "EXTENSION\tName: {}\tState: {}\tEvents: [{}]",
            self.name,
            self.state,
            self.events.join(",")
        )
    }
}

impl Default for Extensions {
    fn default() -> Self {
        Extensions {
            state: Mutex::default(),
            changed: watch::Sender::new(0),
        }
    }
}

impl Extensions {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        lock(&self.state)
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Sets what registering extensions learn about the function, and the names of the external
    /// extensions the instance is about to start.
    pub(crate) fn prepare(&self, function: FunctionInfo, external: Vec<String>) {
        let mut registry = self.registry();
        registry.function = function;
        registry.expected = external;
    }

    /// The extension `identifier` (a `Lambda-Extension-Identifier` value) is registered with
    /// this instance: its name and kind.
    pub(crate) fn registration(&self, identifier: &str) -> Option<Registration> {
        self.registry()
            .registered
            .iter()
            .find(|e| e.id == identifier)
            .map(|e| Registration {
                name: e.name.clone(),
                external: e.external,
            })
    }

    /// The extension a request comes from, by its `Lambda-Extension-Identifier` header, or the
    /// error Lambda answers (403 `Extension.MissingExtensionIdentifier`,
    /// `Extension.InvalidExtensionIdentifier` or `Extension.UnknownExtensionIdentifier`).
    pub(crate) fn identify(&self, headers: &HeaderMap) -> Result<(String, Registration), ApiError> {
        let Some(value) = headers.get(IDENTIFIER) else {
            return Err(forbidden(
                "Extension.MissingExtensionIdentifier",
                "Missing Lambda-Extension-Identifier header".to_owned(),
            ));
        };
        let id = value
            .to_str()
            .ok()
            .filter(|id| Uuid::try_parse(id).is_ok())
            .ok_or_else(|| {
                forbidden(
                    "Extension.InvalidExtensionIdentifier",
                    "Invalid Lambda-Extension-Identifier".to_owned(),
                )
            })?;
        let registration = self.registration(id).ok_or_else(|| {
            forbidden(
                "Extension.UnknownExtensionIdentifier",
                format!("Unknown extension {id}"),
            )
        })?;
        Ok((id.to_owned(), registration))
    }

    /// Whether any extension registered, and whether any of them is external.
    pub(crate) fn registered(&self) -> (bool, bool) {
        let registry = self.registry();
        let any = !registry.registered.is_empty();
        (any, registry.registered.iter().any(|e| e.external))
    }

    /// External extensions started and not registered (yet).
    pub(crate) fn unregistered(&self) -> Vec<String> {
        self.registry().unregistered().cloned().collect()
    }

    /// Whether every external extension registered and every registered one waits for its next
    /// event (or is gone).
    pub(crate) fn is_settled(&self) -> bool {
        let registry = self.registry();
        registry.unregistered().next().is_none() && registry.registered.iter().all(Extension::idle)
    }

    /// Resolves once [`Extensions::is_settled`] holds.
    pub(crate) async fn settled(&self) {
        let mut changed = self.changed.subscribe();
        while !self.is_settled() {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    /// Resolves once every external extension registered.
    pub(crate) async fn all_registered(&self) {
        let mut changed = self.changed.subscribe();
        while self.registry().unregistered().next().is_some() {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    /// The init phase is over: later registrations are refused.
    pub(crate) fn close_registration(&self) {
        self.registry().closed = true;
    }

    /// The instance is discarded: `/event/next` long polls with nothing to deliver end.
    pub(crate) fn discard(&self) {
        let mut registry = self.registry();
        registry.discarded = true;
        for extension in &registry.registered {
            extension.wake.notify_waiters();
        }
    }

    /// External extension `name`'s process exited: nothing waits for it any more.
    pub(crate) fn exited(&self, name: &str) {
        if let Some(extension) = self
            .registry()
            .registered
            .iter_mut()
            .find(|e| e.name == name)
        {
            extension.gone = true;
        }
        self.bump();
    }

    /// Errors extensions reported since the last call.
    pub(crate) fn take_errors(&self) -> Vec<ExtensionError> {
        std::mem::take(&mut self.registry().errors)
    }

    /// Resolves when an extension reports an error (cancel-safe; take them with
    /// [`Extensions::take_errors`]).
    pub(crate) async fn error_reported(&self) {
        let mut changed = self.changed.subscribe();
        while self.registry().errors.is_empty() {
            if changed.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Gives the `INVOKE` event of an invocation the runtime just took to every extension
    /// subscribed to it.
    pub(crate) fn invoke(&self, request_id: &str, deadline_ms: u64, arn: &str, trace_id: &str) {
        let event = json!({
            "eventType": "INVOKE",
            "deadlineMs": deadline_ms,
            "requestId": request_id,
            "invokedFunctionArn": arn,
            "tracing": { "type": "X-Amzn-Trace-Id", "value": trace_id },
        });
        self.deliver(|e| e.invoke, &event);
    }

    /// Gives the `SHUTDOWN` event to every extension subscribed to it; false if none is.
    pub(crate) fn shutdown(&self, reason: &str, deadline_ms: u64) -> bool {
        let event = json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason,
            "deadlineMs": deadline_ms,
        });
        self.deliver(|e| e.shutdown, &event) > 0
    }

    /// Queues `event` for the live extensions `wanted` picks; how many.
    fn deliver(&self, wanted: impl Fn(&Extension) -> bool, event: &Value) -> usize {
        let mut count = 0;
        {
            let mut registry = self.registry();
            for extension in registry.registered.iter_mut() {
                if !extension.gone && wanted(extension) {
                    extension.queue.push_back(event.clone());
                    extension.wake.notify_one();
                    count += 1;
                }
            }
        }
        self.bump();
        count
    }

    /// Every extension of the instance, registered or started, as Lambda reports them once
    /// init is over.
    pub(crate) fn summaries(&self) -> Vec<Summary> {
        let registry = self.registry();
        let registered = registry.registered.iter().map(|e| Summary {
            name: e.name.clone(),
            state: if e.gone { "Exited" } else { "Ready" },
            events: e.events(),
        });
        let unregistered = registry.unregistered().map(|name| Summary {
            name: name.clone(),
            state: "LaunchError",
            events: Vec::new(),
        });
        registered.chain(unregistered).collect()
    }

    fn register(&self, name: &str, events: &[String]) -> Result<String, ApiError> {
        let mut registry = self.registry();
        let external = registry.expected.iter().any(|e| e == name);
        let (mut invoke, mut shutdown) = (false, false);
        for event in events {
            match event.as_str() {
                "INVOKE" => invoke = true,
                // "Internal extensions are started and stopped by the runtime process, so they
                // are not permitted to register for the Shutdown event" (AWS's guide).
                "SHUTDOWN" if external => shutdown = true,
                "SHUTDOWN" => {
                    return Err(forbidden(
                        "Extension.InvalidEventType",
                        "SHUTDOWN: ShutdownEventNotSupportedForInternalExtension".to_owned(),
                    ));
                }
                other => {
                    return Err(forbidden(
                        "Extension.InvalidEventType",
                        format!("{other}: ErrorInvalidEventType"),
                    ));
                }
            }
        }
        if registry.closed {
            return Err(forbidden(
                "Extension.RegistrationClosed",
                "Extension registration closed already".to_owned(),
            ));
        }
        if registry.registered.iter().any(|e| e.name == name) {
            return Err(forbidden(
                "Extension.InvalidExtensionState",
                "Extension with this name already registered".to_owned(),
            ));
        }
        if registry.registered.len() >= MAX_EXTENSIONS {
            return Err(forbidden(
                "Extension.TooManyExtensions",
                format!("Extension limit ({MAX_EXTENSIONS}) reached"),
            ));
        }
        let id = Uuid::new_v4().to_string();
        registry.registered.push(Extension {
            id: id.clone(),
            name: name.to_owned(),
            external,
            invoke,
            shutdown,
            queue: VecDeque::new(),
            busy: true,
            gone: false,
            wake: Arc::new(Notify::new()),
        });
        drop(registry);
        self.bump();
        Ok(id)
    }

    /// The extension `id` is back in `/event/next`: its next event, once there is one; `None`
    /// once the instance is discarded.
    async fn next_event(&self, id: &str) -> Option<Value> {
        let wake = {
            let mut registry = self.registry();
            let extension = registry.registered.iter_mut().find(|e| e.id == id)?;
            extension.busy = false;
            extension.wake.clone()
        };
        self.bump();
        loop {
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut registry = self.registry();
                if registry.discarded {
                    return None;
                }
                let extension = registry.registered.iter_mut().find(|e| e.id == id)?;
                if let Some(event) = extension.queue.pop_front() {
                    extension.busy = true;
                    drop(registry);
                    self.bump();
                    return Some(event);
                }
            }
            notified.await;
        }
    }

    fn report(&self, id: &str, error: ExtensionError) -> Result<(), ApiError> {
        let mut registry = self.registry();
        if error.init && registry.closed {
            return Err(forbidden(
                "Extension.InvalidExtensionState",
                format!(
                    "State transition from Ready to InitError failed for extension {id}. Error: init is over"
                ),
            ));
        }
        if let Some(extension) = registry.registered.iter_mut().find(|e| e.id == id) {
            extension.gone = true;
        }
        registry.errors.push(error);
        drop(registry);
        self.bump();
        Ok(())
    }
}

fn forbidden(error_type: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, error_type, message)
}

#[derive(serde::Deserialize)]
struct RegisterRequest {
    #[serde(default)]
    events: Vec<String>,
}

async fn register(
    State(channel): State<Arc<Channel>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let extensions = channel.extensions();
    let name = headers
        .get("lambda-extension-name")
        .and_then(|v| v.to_str().ok())
        .filter(|name| !name.is_empty())
        .ok_or_else(|| {
            forbidden(
                "Extension.InvalidExtensionName",
                "Empty extension name".to_owned(),
            )
        })?;
    let request = read_limited(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|_| {
            forbidden(
                "InvalidRequestFormat",
                "the request body could not be read".to_owned(),
            )
        })
        .and_then(|bytes| {
            serde_json::from_slice::<RegisterRequest>(&bytes)
                .map_err(|e| forbidden("InvalidRequestFormat", e.to_string()))
        })?;
    let id = extensions.register(name, &request.events)?;
    tracing::debug!(extension = name, events = ?request.events, "extension registered");
    let function = extensions.registry().function.clone();
    let mut answer = json!({
        "functionName": function.name,
        "functionVersion": function.version,
        "handler": function.handler,
    });
    // "Lambda-Extension-Accept-Feature: accountId" asks for the account id in the answer.
    let accepts_account = headers
        .get_all("lambda-extension-accept-feature")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|feature| feature.trim() == "accountId");
    if accepts_account {
        answer["accountId"] = json!(function.account_id);
    }
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_string(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(IDENTIFIER, value);
    }
    Ok(response)
}

async fn next(
    State(channel): State<Arc<Channel>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let extensions = channel.extensions();
    let (id, _) = extensions.identify(&headers)?;
    let Some(event) = extensions.next_event(&id).await else {
        return Err(ApiError::new(
            StatusCode::GONE,
            "InstanceDiscarded",
            "This function instance was discarded",
        ));
    };
    let event_id = Uuid::new_v4().to_string();
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        event.to_string(),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&event_id) {
        response
            .headers_mut()
            .insert("lambda-extension-event-identifier", value);
    }
    Ok(response)
}

async fn init_error(
    State(channel): State<Arc<Channel>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    reported(&channel, &headers, body, true).await
}

async fn exit_error(
    State(channel): State<Arc<Channel>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    reported(&channel, &headers, body, false).await
}

/// `/init/error` and `/exit/error`: the extension says why it stops.
async fn reported(
    channel: &Channel,
    headers: &HeaderMap,
    body: Body,
    init: bool,
) -> Result<Response, ApiError> {
    let extensions = channel.extensions();
    let (id, registration) = extensions.identify(headers)?;
    let error_type = headers
        .get("lambda-extension-function-error-type")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            forbidden(
                "Extension.MissingHeader",
                "Missing Lambda-Extension-Function-Error-Type header".to_owned(),
            )
        })?
        .to_owned();
    // Read whole before answering; Lambda keeps only the type.
    let body = read_limited(body, MAX_REQUEST_BYTES)
        .await
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body);
    tracing::debug!(extension = %registration.name, %error_type, init, %body, "extension reported an error");
    extensions.report(
        &id,
        ExtensionError {
            name: registration.name,
            error_type,
            init,
        },
    )?;
    Ok(accepted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn registration_rules() {
        let extensions = Extensions::default();
        extensions.prepare(FunctionInfo::default(), vec!["ext".to_owned()]);
        assert!(
            !extensions.is_settled(),
            "the external one has not registered"
        );
        let both = ["INVOKE".to_owned(), "SHUTDOWN".to_owned()];
        let refused = extensions.register("in", &both).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.error_type, "Extension.InvalidEventType");
        let id = extensions.register("ext", &both).unwrap();
        assert_eq!(
            extensions.registration(&id),
            Some(Registration {
                name: "ext".to_owned(),
                external: true
            })
        );
        let twice = extensions.register("ext", &[]).unwrap_err();
        assert_eq!(twice.error_type, "Extension.InvalidExtensionState");
        assert!(
            !extensions.is_settled(),
            "registered, not yet in /event/next"
        );
        extensions.close_registration();
        let closed = extensions.register("late", &[]).unwrap_err();
        assert_eq!(closed.error_type, "Extension.RegistrationClosed");
    }

    #[tokio::test]
    async fn an_event_keeps_an_extension_busy_until_it_asks_again() {
        let extensions = Arc::new(Extensions::default());
        let id = extensions.register("in", &["INVOKE".to_owned()]).unwrap();
        let poll = {
            let (extensions, id) = (extensions.clone(), id.clone());
            tokio::spawn(async move { extensions.next_event(&id).await })
        };
        extensions.settled().await;
        extensions.invoke("req-1", 1, "arn", "Root=1");
        assert!(!extensions.is_settled(), "given an event");
        let event = poll.await.unwrap().unwrap();
        assert_eq!(event["eventType"], "INVOKE");
        assert_eq!(event["requestId"], "req-1");
        assert!(!extensions.is_settled(), "handling its event");
        assert!(
            !extensions.shutdown("spindown", 2),
            "an internal one gets no SHUTDOWN"
        );
        let again = {
            let (extensions, id) = (extensions.clone(), id.clone());
            tokio::spawn(async move { extensions.next_event(&id).await })
        };
        extensions.settled().await;
        extensions.discard();
        assert!(
            again.await.unwrap().is_none(),
            "a discarded instance ends the poll"
        );
    }

    /// One request to a fresh instance's Runtime API: status and `errorType`.
    async fn refusal(request: http::Request<Body>) -> (StatusCode, String) {
        use tower::ServiceExt;
        let answer = super::super::Detached::new()
            .router()
            .oneshot(request)
            .await
            .unwrap();
        let status = answer.status();
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        (status, body["errorType"].as_str().unwrap().to_owned())
    }

    #[tokio::test]
    async fn bad_requests_get_lambdas_errors_over_http() {
        let register = http::Request::post("/2020-01-01/extension/register");
        let (status, error_type) = refusal(register.body(Body::from("{}")).unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(error_type, "Extension.InvalidExtensionName");

        let register = http::Request::post("/2020-01-01/extension/register")
            .header("lambda-extension-name", "x")
            .body(Body::from("not json"))
            .unwrap();
        assert_eq!(refusal(register).await.1, "InvalidRequestFormat");

        let next = http::Request::get("/2020-01-01/extension/event/next");
        let (status, error_type) = refusal(next.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(error_type, "Extension.MissingExtensionIdentifier");

        let exit = http::Request::post("/2020-01-01/extension/exit/error")
            .header(IDENTIFIER, Uuid::new_v4().to_string())
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            refusal(exit).await.1,
            "Extension.UnknownExtensionIdentifier"
        );
    }

    #[test]
    fn identifiers_are_checked_as_lambda_checks_them() {
        let extensions = Extensions::default();
        let mut headers = HeaderMap::new();
        let error = |headers: &HeaderMap| extensions.identify(headers).unwrap_err().error_type;
        assert_eq!(error(&headers), "Extension.MissingExtensionIdentifier");
        headers.insert(IDENTIFIER, HeaderValue::from_static("nope"));
        assert_eq!(error(&headers), "Extension.InvalidExtensionIdentifier");
        let unknown = Uuid::new_v4().to_string();
        headers.insert(IDENTIFIER, HeaderValue::from_str(&unknown).unwrap());
        assert_eq!(error(&headers), "Extension.UnknownExtensionIdentifier");
        let id = extensions.register("in", &[]).unwrap();
        headers.insert(IDENTIFIER, HeaderValue::from_str(&id).unwrap());
        assert_eq!(extensions.identify(&headers).unwrap().1.name, "in");
    }
}
