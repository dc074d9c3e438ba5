//! What the front says about the code it serves: the `x-lambkin-build` header on every
//! response, and the status page at `GET /_lambkin` (the dashboard's page
//! for a browser, its model as JSON for everyone else).

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::dashboard::{Dashboard, wants_html};
use super::gateway::CurrentGateway;
use crate::registry::Registry;
use crate::sources::Sources;

/// The header that tells every caller the build state.
pub const BUILD_HEADER: HeaderName = HeaderName::from_static("x-lambkin-build");

/// Where the functions' code stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BuildState {
    /// Serving the latest successful build.
    #[default]
    Ready,
    /// A rebuild is running; the previous version keeps serving.
    Building,
    /// The last rebuild failed; the previous version keeps serving.
    Failed {
        /// The functions whose build failed.
        functions: Vec<String>,
        /// The compiler's errors (or why the build could not run), as the dashboard shows them.
        diagnostics: String,
    },
}

impl BuildState {
    /// The short form used in the header.
    pub fn as_str(&self) -> &'static str {
        match self {
            BuildState::Ready => "ready",
            BuildState::Building => "building",
            BuildState::Failed { .. } => "failed",
        }
    }
}

/// The build state the front reports, shared by the front and function URLs; the build loop
/// sets it.
#[derive(Debug, Clone, Default)]
pub(crate) struct BuildStatus(Arc<watch::Sender<BuildState>>);

impl BuildStatus {
    /// The build state now.
    pub(crate) fn get(&self) -> BuildState {
        self.0.borrow().clone()
    }

    /// Reports `state` from now on.
    pub(crate) fn set(&self, state: BuildState) {
        self.0.send_replace(state);
    }
}

/// Adds [`BUILD_HEADER`] to a response.
pub(crate) async fn add_build_header(
    State(build): State<BuildStatus>,
    mut response: Response,
) -> Response {
    let build = build.get();
    response
        .headers_mut()
        .insert(BUILD_HEADER, HeaderValue::from_static(build.as_str()));
    response
}

/// `GET /_lambkin`: the dashboard page for a browser (`Accept: text/html`), else its model as
/// JSON: the build state (with the compiler's errors when it failed), the functions served
/// (`functions`, their names; `details`, their configuration, instances and concurrency), the
/// API Gateway routes, the event sources (each with its state), the latest Step Functions
/// executions and what the charts draw.
pub(crate) async fn page(
    State(build): State<BuildStatus>,
    State(gateway): State<CurrentGateway>,
    State(registry): State<Arc<Registry>>,
    State(sources): State<Arc<Sources>>,
    #[cfg(feature = "workflows")] State(workflows): State<Arc<crate::workflows::Workflows>>,
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
) -> Response {
    if wants_html(&headers) {
        return super::dashboard::page(&dashboard);
    }
    let build = build.get();
    let (failed, diagnostics) = match &build {
        BuildState::Failed {
            functions,
            diagnostics,
        } => (functions.clone(), Some(diagnostics.clone())),
        _ => (Vec::new(), None),
    };
    let table = gateway.get();
    let routes: Vec<_> = table
        .routes()
        .routes()
        .iter()
        .map(|r| json!({ "route": r.key(), "function": r.function(), "payload": format!("{:?}", r.format()) }))
        .collect();
    let concurrency = registry.concurrency();
    let details: Vec<Value> = registry
        .all()
        .into_iter()
        .map(|(key, function)| {
            let config = function.config();
            let instances = function.instances();
            let mut env: Vec<&String> = config.env.keys().collect();
            env.sort();
            json!({
                "key": key.to_string(),
                "name": config.name,
                "version": config.version,
                "executable": config.executable,
                "handler": config.handler,
                "memoryMb": config.memory_mb,
                "timeoutMs": config.timeout.as_millis() as u64,
                "keepAliveMs": config.keep_alive.as_millis() as u64,
                "maxConcurrency": config.max_concurrency,
                "environment": env,
                "buildFailed": failed.contains(&config.name),
                "reservedConcurrency": concurrency.reserved(&config.name),
                // Invocations, not busy instances: an instance may run several at once.
                "usedConcurrency": function.running(),
                "maxInstances": concurrency.max_instances(),
                "instances": instances
                    .iter()
                    .map(|(pid, state)| json!({ "pid": pid, "state": state.as_str() }))
                    .collect::<Vec<_>>(),
                "routes": table
                    .routes()
                    .routes()
                    .iter()
                    .filter(|r| r.function() == config.name)
                    .map(|r| r.key())
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let page = json!({
        "build": build.as_str(),
        "failedFunctions": failed,
        "diagnostics": diagnostics,
        "functions": registry.names(),
        "details": details,
        "routes": routes,
        "sources": sources.list(),
        "charts": registry.recorder().charts(),
    });
    // Step Functions executions, newest first: name, state machine, status, event count.
    #[cfg(feature = "workflows")]
    let page = {
        let mut page = page;
        page["executions"] = json!(workflows.summaries());
        page
    };
    Json(page).into_response()
}
