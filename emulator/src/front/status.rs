//! What the front says about the code it serves: the `x-lambkin-build` header on every
//! response, and the status page at `GET /_lambkin`.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use serde_json::json;
use tokio::sync::watch;

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

/// `GET /_lambkin`: the functions served, their routes, the event sources (each with its
/// state), and the build state.
pub(crate) async fn page(
    State(build): State<BuildStatus>,
    State(gateway): State<CurrentGateway>,
    State(registry): State<Arc<Registry>>,
    State(sources): State<Arc<Sources>>,
    #[cfg(feature = "workflows")] State(workflows): State<Arc<crate::workflows::Workflows>>,
) -> impl IntoResponse {
    let build = build.get();
    let failed = match &build {
        BuildState::Failed { functions } => functions.clone(),
        _ => Vec::new(),
    };
    let routes: Vec<_> = gateway
        .get()
        .routes()
        .routes()
        .iter()
        .map(|r| json!({ "route": r.key(), "function": r.function(), "payload": format!("{:?}", r.format()) }))
        .collect();
    let page = json!({
        "build": build.as_str(),
        "failedFunctions": failed,
        "functions": registry.names(),
        "routes": routes,
        "sources": sources.list(),
    });
    // Step Functions executions, newest first: name, state machine, status, event count.
    #[cfg(feature = "workflows")]
    let page = {
        let mut page = page;
        page["executions"] = json!(workflows.summaries());
        page
    };
    Json(page)
}
