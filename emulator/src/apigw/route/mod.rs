//! Routes: which function, in which payload format, answers a method and a path.
//!
//! Routes are written as API Gateway writes route keys: `GET /users/{id}`, `ANY /files/{proxy+}`,
//! or `$default` ([`RouteKey`], the one grammar of route keys). Matching follows API Gateway's
//! priority ([`RouteTable`]): a route whose path has no variables beats one with `{param}`
//! segments, which beats one ending in a greedy `{proxy+}`; for the same path a specific method
//! beats `ANY`; `$default` only catches what nothing else matched. Each route carries its API's
//! [`Stage`]; a request path may start with the stage name (see `stage.rs`).

mod format;
mod key;
mod stage;
mod table;

use std::time::Duration;

use http::Method;

use super::{Cors, RouteAuth};

pub use format::{HTTP_INTEGRATION_TIMEOUT, PayloadFormat, REST_INTEGRATION_TIMEOUT};
pub use key::{METHODS, RouteError, RouteKey};
pub use stage::{DEFAULT_STAGE, SAM_REST_STAGE, Stage};
pub use table::{RouteMatch, RouteTable};

pub(crate) use table::percent_decode;

/// What a route calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Integration {
    /// A function, through a Lambda proxy integration.
    #[default]
    Function,
    /// Step Functions' StartExecution of a state machine, through the AWS service integration
    /// (`states:action/StartExecution`) SAM's `Api` events and serverless-step-functions'
    /// `http` events of a state machine generate: the request body is the execution's input,
    /// the answer StartExecution's.
    StartExecution {
        /// The execution is named after API Gateway's request id (serverless-step-functions'
        /// `"name": "$context.requestId"`); else it gets a generated name (SAM's).
        named_by_request: bool,
    },
}

/// One route: a method (or `ANY`) and a path template, or `$default`, and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    key: RouteKey,
    /// The function, or the state machine of a `StartExecution` integration.
    function: String,
    integration: Integration,
    format: PayloadFormat,
    /// The integration timeout set on the route; `None` takes the format's default.
    integration_timeout: Option<Duration>,
    /// The `binaryMediaTypes` of the REST API the route belongs to.
    binary_media_types: Vec<String>,
    /// The CORS configuration of the API the route belongs to.
    cors: Option<Cors>,
    /// The stage of the API the route belongs to.
    stage: Stage,
    /// The authorizer the route requires, if any.
    auth: Option<RouteAuth>,
}

impl Route {
    /// The route key of the catch-all route.
    pub const DEFAULT_KEY: &'static str = "$default";

    /// Parses a route key (`GET /users/{id}`, `ANY /files/{proxy+}`, `$default`; the method is
    /// case-insensitive, runs of spaces are allowed) for `function` in `format`.
    pub fn parse(
        key: &str,
        function: impl Into<String>,
        format: PayloadFormat,
    ) -> Result<Self, RouteError> {
        Ok(Self::with_key(RouteKey::parse(key)?, function, format))
    }

    /// Builds a route from a method (`GET`, `any`, `ANY`, …) and a path template (`/users/{id}`).
    pub fn new(
        method: &str,
        path: &str,
        function: impl Into<String>,
        format: PayloadFormat,
    ) -> Result<Self, RouteError> {
        Ok(Self::with_key(
            RouteKey::new(method, path)?,
            function,
            format,
        ))
    }

    /// The route of `key` for `function` in `format`.
    fn with_key(key: RouteKey, function: impl Into<String>, format: PayloadFormat) -> Self {
        Self {
            key,
            function: function.into(),
            integration: Integration::Function,
            format,
            integration_timeout: None,
            binary_media_types: Vec::new(),
            cors: None,
            stage: Stage::of_format(format),
            auth: None,
        }
    }

    /// The route key as API Gateway reports it in `routeKey`: `GET /users/{id}` or `$default`.
    pub fn key(&self) -> &str {
        self.key.as_str()
    }

    /// The route's method; `None` for `ANY` and `$default`.
    pub fn method(&self) -> Option<&Method> {
        self.key.method()
    }

    /// The path template (`/users/{id}`); `None` for `$default`.
    pub fn path(&self) -> Option<&str> {
        self.key.path()
    }

    /// Whether this is the `$default` route.
    pub fn is_default(&self) -> bool {
        self.key.is_default()
    }

    /// The function this route invokes (the state machine it starts, for a `StartExecution`
    /// integration).
    pub fn function(&self) -> &str {
        &self.function
    }

    /// Makes the route call `integration` on its target instead of invoking a function.
    pub fn with_integration(mut self, integration: Integration) -> Self {
        self.integration = integration;
        self
    }

    /// What the route calls.
    pub fn integration(&self) -> Integration {
        self.integration
    }

    /// The payload format of the events this route sends.
    pub fn format(&self) -> PayloadFormat {
        self.format
    }

    /// Sets the integration timeout (SAM `TimeoutInMillis`): how long API Gateway waits for the
    /// function before answering on its own.
    pub fn with_integration_timeout(mut self, timeout: Duration) -> Self {
        self.integration_timeout = Some(timeout);
        self
    }

    /// How long API Gateway waits for the function: the route's own setting, else the default
    /// of its API type (29 s for REST APIs, 30 s for HTTP APIs). `None` for function URLs and
    /// ALBs, which wait as long as the function runs.
    pub fn integration_timeout(&self) -> Option<Duration> {
        let default = self.format.integration_timeout();
        default.map(|d| self.integration_timeout.unwrap_or(d))
    }

    /// Sets the `binaryMediaTypes` of the route's REST API (`image/png`, `image/*`, `*/*`).
    pub fn with_binary_media_types(mut self, types: Vec<String>) -> Self {
        self.binary_media_types = types;
        self
    }

    /// The `binaryMediaTypes` of the route's REST API (empty for other formats).
    pub fn binary_media_types(&self) -> &[String] {
        &self.binary_media_types
    }

    /// Sets the CORS configuration of the route's API.
    pub fn with_cors(mut self, cors: Option<Cors>) -> Self {
        self.cors = cors;
        self
    }

    /// The CORS configuration of the route's API, if it has one.
    pub fn cors(&self) -> Option<&Cors> {
        self.cors.as_ref()
    }

    /// Sets the stage of the route's API.
    pub fn with_stage(mut self, stage: Stage) -> Self {
        self.stage = stage;
        self
    }

    /// The stage of the route's API: as set, else `Prod` for a REST API (the stage of SAM's
    /// implicit API) and `$default` for the others.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// Sets the authorizer the route requires.
    pub fn with_auth(mut self, auth: Option<RouteAuth>) -> Self {
        self.auth = auth;
        self
    }

    /// The authorizer the route requires, if any.
    pub fn auth(&self) -> Option<&RouteAuth> {
        self.auth.as_ref()
    }
}

#[cfg(test)]
mod tests;
