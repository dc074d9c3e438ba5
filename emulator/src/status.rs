//! What the front says about the code it serves: the `x-lambkin-build` header on every
//! response, and the status page at `GET /_lambkin`.

use axum::{
    Json,
    extract::State,
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::invoke::AppState;

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

/// Adds [`BUILD_HEADER`] to a front response.
pub(crate) async fn add_build_header(
    State(state): State<AppState>,
    mut response: Response,
) -> Response {
    let build = state.build_state();
    response
        .headers_mut()
        .insert(BUILD_HEADER, HeaderValue::from_static(build.as_str()));
    response
}

/// `GET /_lambkin`: the functions served, their routes, and the build state.
pub(crate) async fn page(State(state): State<AppState>) -> impl IntoResponse {
    let build = state.build_state();
    let failed = match &build {
        BuildState::Failed { functions } => functions.clone(),
        _ => Vec::new(),
    };
    let routes: Vec<_> = state
        .gateway()
        .routes()
        .routes()
        .iter()
        .map(|r| json!({ "route": r.key(), "function": r.function(), "payload": format!("{:?}", r.format()) }))
        .collect();
    Json(json!({
        "build": build.as_str(),
        "failedFunctions": failed,
        "functions": state.function_names(),
        "routes": routes,
    }))
}
