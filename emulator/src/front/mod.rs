//! Every public listener's HTTP surface: the front (Lambda's [Invoke API](invoke), the
//! management API, the [status page](status), [API Gateway](gateway)) and function URLs, each
//! behind the guard (`guard`).
//!
//! [`AppState`] holds what the handlers share; each handler takes only the part it uses (axum's
//! [`FromRef`] substates: the registry, the region, the gateway in force, the build state, the
//! event queues). Every error of Lambda's API leaves as an `AwsError` (`aws_error`).

mod authorize;
pub(crate) mod aws_error;
mod dashboard;
pub(crate) mod function_url;
pub mod gateway;
mod guard;
pub mod invoke;
mod invoke_stream;
mod jwks;
#[cfg(feature = "manage")]
pub(crate) mod manage;
pub mod status;
#[cfg(feature = "workflows")]
mod stepfunctions;
mod streamed;
mod url_stream;
#[cfg(feature = "websocket")]
pub(crate) mod websocket;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::apigw::{EventOptions, PayloadFormat, RouteTable};
use crate::concurrency::{DEFAULT_ACCOUNT_CONCURRENCY, DEFAULT_MAX_INSTANCES};
use crate::events::{Events, QueueLimits};
use crate::hosts::HostPolicy;
use crate::listen::Limits;
use crate::registry::{FunctionKey, Registry};
use crate::sources::Sources;
pub(crate) use aws_error::AwsError;
use aws_error::{LAMBDA_API_PREFIXES, Region};
use function_url::FunctionUrls;
use gateway::{CurrentGateway, Gateway};
use status::{BuildState, BuildStatus};

/// How an emulator is set up, given when it is built (see
/// [`Emulator::with_options`](crate::Emulator::with_options)); the defaults are the documented
/// ones of each field.
#[derive(Debug, Clone)]
pub struct Options {
    /// The API Gateway routes and settings. `None`: the default routes (one function: every
    /// path; several: `/{function}/…`), as HTTP API (payload 2.0) routes.
    pub gateway: Option<Gateway>,
    /// The limits the front and function URLs serve under (tests shorten them).
    pub limits: Limits,
    /// Where code deployed through the management API is kept (default: a directory in the
    /// system's temporary directory). It is removed when the emulator stops.
    #[cfg(feature = "manage")]
    pub state_dir: Option<std::path::PathBuf>,
    /// Caps on the functions and the bytes of code deployed through the management API
    /// (default: [`DeployLimits::default`](crate::DeployLimits)). Deployments over them are
    /// refused as AWS refuses them.
    #[cfg(feature = "manage")]
    pub deploy_limits: crate::DeployLimits,
    /// The account's concurrency limit (default [`DEFAULT_ACCOUNT_CONCURRENCY`], AWS's default
    /// quota): functions without reserved concurrency share it, less what is reserved, and are
    /// throttled (429, `ConcurrentInvocationLimitExceeded`) beyond it.
    pub account_concurrency: usize,
    /// How many instance processes one function may have at once (default
    /// [`DEFAULT_MAX_INSTANCES`]; 0 counts as 1). A local cap, not one of Lambda's limits:
    /// invocations above it wait for an instance instead of being throttled.
    pub max_instances: usize,
    /// Where `Event` invocations are kept (created with mode 0700 if missing; the directory is
    /// locked, so two emulators never share one): each accepted event is a file there until it
    /// is done, and [`serve`](crate::Emulator::serve) resumes the events it finds, with their
    /// request ids and ages. Events of functions that no longer exist, or older than their
    /// function's [`maximum_event_age`](crate::FunctionConfig::maximum_event_age), are discarded
    /// (with a log line and a count). Like AWS's, asynchronous invocation is then
    /// at-least-once: an event running at shutdown runs again at the next start.
    ///
    /// Records for destinations the emulator cannot reach (SQS, SNS, EventBridge, S3, a function
    /// not served here) and events for dead-letter queues are written to `records/` in it.
    ///
    /// `None` (the default): events live in memory only and those left at shutdown are lost;
    /// records that cannot be delivered are logged whole.
    /// A directory that cannot be used is an [`Error::EventDir`](crate::Error::EventDir).
    pub event_dir: Option<std::path::PathBuf>,
    /// Bounds on each function's asynchronous (`Event`) queue (default:
    /// [`QueueLimits::default`]); past a bound, `Event` invocations get 429
    /// `TooManyRequestsException`.
    pub event_queue_limits: QueueLimits,
    /// Other host names to answer requests for (`Host`, `Origin`), besides those every listener
    /// answers: `localhost`, `*.localhost`, `127.0.0.1`, `[::1]` and the address it listens on;
    /// any other host gets 403, a guard against DNS rebinding. Each is a host name, `*.` and a
    /// domain (its subdomains), or an IP address; no scheme, no port (any port is fine). One
    /// that is none of these is an [`Error::InvalidHost`](crate::Error::InvalidHost).
    /// Default: none.
    pub allow_hosts: Vec<String>,
    /// The WebSocket APIs to serve (feature `websocket`), each at `ws://{host}:{port}/{stage}`
    /// with its `@connections` API under `/{stage}/@connections/`. Default: none.
    pub websockets: Vec<crate::websocket::WebSocketApi>,
    /// The schedules that invoke functions (feature `schedules`), from when
    /// [`serve`](crate::Emulator::serve) starts. Default: none.
    #[cfg(feature = "schedules")]
    pub schedules: Vec<crate::sources::schedule::Schedule>,
    /// Whether schedules fire (`lambkin --schedules off`: listed, not fired). Default: `true`.
    pub run_schedules: bool,
    /// The SQS event source mappings that invoke functions, polled from when
    /// [`serve`](crate::Emulator::serve) starts (feature `sqs`; without it they are only
    /// listed, with a warning). Default: none.
    pub sqs_sources: Vec<crate::sources::sqs::SqsSource>,
    /// Where the SQS mappings' queues are: an SQS-compatible server's URL
    /// (`http://127.0.0.1:9324`). `None` (the default): AWS, in each queue's region, with the
    /// standard credential chain.
    pub sqs_endpoint: Option<String>,
    /// The clock event sources run by (default: the system's; tests move a
    /// [manual](crate::Clock::manual) one).
    pub clock: crate::Clock,
    /// The Step Functions state machines to serve (feature `workflows`), on the Step Functions
    /// API of the front. Default: none; more can be created with CreateStateMachine.
    pub state_machines: Vec<crate::state_machine::StateMachineConfig>,
    /// How many recent invocations the dashboard (`/_lambkin`) keeps, and how much of each
    /// (default: [`RecorderLimits::default`](crate::RecorderLimits)).
    pub recorder: crate::RecorderLimits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gateway: None,
            limits: Limits::default(),
            #[cfg(feature = "manage")]
            state_dir: None,
            #[cfg(feature = "manage")]
            deploy_limits: crate::DeployLimits::default(),
            account_concurrency: DEFAULT_ACCOUNT_CONCURRENCY,
            max_instances: DEFAULT_MAX_INSTANCES,
            event_dir: None,
            event_queue_limits: QueueLimits::default(),
            allow_hosts: Vec::new(),
            websockets: Vec::new(),
            #[cfg(feature = "schedules")]
            schedules: Vec::new(),
            run_schedules: true,
            sqs_sources: Vec::new(),
            sqs_endpoint: None,
            clock: crate::Clock::system(),
            state_machines: Vec::new(),
            recorder: crate::RecorderLimits::default(),
        }
    }
}

/// The functions the front serves, its API Gateway routes and the build state.
#[derive(Debug, Clone)]
pub struct AppState {
    registry: Arc<Registry>,
    /// Region of the ARNs in errors about unknown functions.
    region: Region,
    gateway: CurrentGateway,
    build: BuildStatus,
    /// Function URLs being served.
    function_urls: Arc<FunctionUrls>,
    /// Asynchronous invocations: queues, dispatchers, the event directory.
    events: Arc<Events>,
    /// Deployed functions (the management API).
    #[cfg(feature = "manage")]
    manage: Arc<manage::Store>,
    /// The host names the listeners answer to, and the front's address.
    hosts: Arc<HostPolicy>,
    /// The event sources and their statuses.
    sources: Arc<Sources>,
    /// The WebSocket APIs and their connections.
    #[cfg(feature = "websocket")]
    websockets: Arc<websocket::WebSockets>,
    /// Step Functions state machines and their executions.
    #[cfg(feature = "workflows")]
    workflows: Arc<crate::workflows::Workflows>,
    /// The dashboard's replay token and live-feed room.
    dashboard: dashboard::Dashboard,
}

/// The substates handlers extract (`State<Arc<Registry>>`, …), each a field of [`AppState`].
macro_rules! substates {
    ($($field:ident: $type:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $type {
            fn from_ref(state: &AppState) -> $type {
                state.$field.clone()
            }
        })*
    };
}

substates!(
    registry: Arc<Registry>,
    region: Region,
    gateway: CurrentGateway,
    build: BuildStatus,
    events: Arc<Events>,
    sources: Arc<Sources>,
    function_urls: Arc<FunctionUrls>,
    dashboard: dashboard::Dashboard,
);
#[cfg(feature = "websocket")]
substates!(websockets: Arc<websocket::WebSockets>);
#[cfg(feature = "workflows")]
substates!(workflows: Arc<crate::workflows::Workflows>);

impl AppState {
    /// State over `registry`'s functions, answering the hosts of `hosts`, set up as `options`
    /// says.
    pub(crate) fn new(
        registry: Registry,
        region: &str,
        hosts: Arc<HostPolicy>,
        options: &Options,
    ) -> AppState {
        let registry = Arc::new(registry);
        let gateway = options
            .gateway
            .clone()
            .unwrap_or_else(|| default_gateway(&registry));
        let build = BuildStatus::default();
        #[cfg(not(feature = "websocket"))]
        if !options.websockets.is_empty() {
            tracing::warn!(
                "WebSocket APIs are not served: lambkin-emulator was built without its `websocket` feature"
            );
        }
        AppState {
            #[cfg(feature = "websocket")]
            websockets: Arc::new(websocket::WebSockets::new(
                &options.websockets,
                options.limits.max_connections,
            )),
            events: Arc::new(Events::new(registry.clone(), registry.closing())),
            #[cfg(feature = "workflows")]
            workflows: Arc::new(crate::workflows::Workflows::new(registry.clone(), region)),
            function_urls: Arc::new(FunctionUrls::new(
                registry.clone(),
                hosts.clone(),
                build.clone(),
                options.limits.clone(),
            )),
            #[cfg(feature = "manage")]
            manage: Arc::new(manage_store(options)),
            registry,
            region: Region::new(region),
            gateway: CurrentGateway::new(gateway),
            build,
            hosts,
            sources: Arc::new(Sources::default()),
            dashboard: dashboard::Dashboard::default(),
        }
    }

    /// The gateway in force.
    pub(crate) fn gateway(&self) -> Arc<Gateway> {
        self.gateway.get()
    }

    /// Puts `gateway` in force instead of the current one (hot reload).
    pub(crate) fn replace_gateway(&self, gateway: Gateway) {
        self.gateway.replace(gateway);
    }

    /// Sets the build state the front reports.
    pub(crate) fn set_build_state(&self, state: BuildState) {
        self.build.set(state);
    }

    /// The API Gateway routes served.
    pub fn routes(&self) -> Vec<crate::apigw::Route> {
        self.gateway.get().routes().routes().to_vec()
    }

    /// The names of the functions served, sorted.
    pub fn function_names(&self) -> Vec<String> {
        self.registry.names()
    }

    /// The `$LATEST` version of the function called `name`.
    pub(crate) fn function(&self, name: &str) -> Option<Arc<crate::pool::Function>> {
        self.registry.get(&FunctionKey::latest(name))
    }

    /// The functions served.
    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The asynchronous invocation queues.
    pub(crate) fn events(&self) -> &Arc<Events> {
        &self.events
    }

    /// The event sources and their statuses.
    pub(crate) fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The function URLs served.
    pub(crate) fn function_urls(&self) -> &FunctionUrls {
        &self.function_urls
    }

    /// The host names the listeners answer to, and the front's address.
    pub(crate) fn hosts(&self) -> &HostPolicy {
        &self.hosts
    }

    /// The Step Functions state machines and executions.
    #[cfg(feature = "workflows")]
    pub(crate) fn workflows(&self) -> &Arc<crate::workflows::Workflows> {
        &self.workflows
    }

    /// What the management API keeps.
    #[cfg(feature = "manage")]
    pub(crate) fn manage(&self) -> &manage::Store {
        &self.manage
    }

    /// The region of the emulator's ARNs.
    #[cfg(any(feature = "manage", feature = "schedules", feature = "sqs"))]
    pub(crate) fn region(&self) -> &str {
        &self.region
    }
}

/// The management API's store, keeping code where `options` say.
#[cfg(feature = "manage")]
fn manage_store(options: &Options) -> manage::Store {
    manage::Store::new(options.state_dir.clone(), options.deploy_limits)
}

/// The default routes of `registry`'s functions (one function: every path; several:
/// `/{function}/…`), as HTTP API (payload 2.0) routes.
fn default_gateway(registry: &Registry) -> Gateway {
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
    Gateway::new(routes, EventOptions::default())
}

/// The front router: the Invoke API, the management API (feature `manage`), the status page, AWS-shaped errors for unknown Lambda API
/// operations, and API Gateway for every other path. Every response carries the build state.
/// Requests pass the guard first: allowed `Host`s only, no cross-site browser
/// requests to the Lambda API or `/_lambkin`, SigV4-signed management calls.
pub fn app(state: AppState) -> Router {
    let router = Router::new().merge(dashboard::routes());
    #[cfg(feature = "manage")]
    let router = router.merge(manage::routes());
    router
        .route(
            "/2015-03-31/functions/{name}/invocations",
            post(invoke::invoke),
        )
        .route(
            "/2021-11-15/functions/{name}/response-streaming-invocations",
            post(invoke_stream::invoke),
        )
        .route("/_lambkin", get(status::page))
        .fallback(front_fallback)
        .method_not_allowed_fallback(unknown_operation)
        .layer(axum::middleware::from_fn_with_state(
            state.hosts.clone(),
            guard::front,
        ))
        .layer(axum::middleware::map_response_with_state(
            state.build.clone(),
            status::add_build_header,
        ))
        .with_state(state)
}

/// Lambda API paths that are not an operation get AWS's error; the rest go to API Gateway.
async fn front_fallback(
    State(registry): State<Arc<Registry>>,
    State(gateway): State<CurrentGateway>,
    #[cfg(feature = "websocket")] State(websockets): State<Arc<websocket::WebSockets>>,
    #[cfg(feature = "workflows")] State(workflows): State<Arc<crate::workflows::Workflows>>,
    request: axum::extract::Request,
) -> Response {
    #[cfg(feature = "workflows")]
    if stepfunctions::operation(request.headers()).is_some() {
        return stepfunctions::serve(&workflows, request).await;
    }
    let path = request.uri().path();
    if LAMBDA_API_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return unknown_operation().await.into_response();
    }
    #[cfg(feature = "websocket")]
    let request = match websocket::serve(&websockets, &registry, request).await {
        Ok(response) => return response,
        Err(request) => request,
    };
    let gateway = gateway.get();
    gateway::serve(
        &gateway,
        |name| registry.get(&FunctionKey::latest(name)),
        #[cfg(feature = "workflows")]
        Some(&workflows),
        request,
    )
    .await
}

/// AWS's answer to a path or method of Lambda's API that is no operation.
async fn unknown_operation() -> AwsError {
    AwsError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        "Unknown operation".to_owned(),
    )
}
