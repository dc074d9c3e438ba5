//! The API Gateway front's core: routes, HTTP → event mapping, result → HTTP mapping.
//!
//! Pure functions over `http` types, no I/O: [`RouteTable::find`] picks the route for a request,
//! [`to_event`] builds the event API Gateway (REST payload 1.0, HTTP API payload 2.0), a Lambda
//! function URL or an ALB would send, and [`from_result`] turns the function's result into the
//! HTTP response those services would return. The `not_found`, `integration_error`,
//! `integration_timeout` and `payload_too_large` helpers are the answers API Gateway gives on its
//! own; [`Cors`] is an API's (or a function URL's) CORS configuration, applied as API Gateway
//! (or Lambda) applies it; [`Stage`] is a route's API stage, its variables and path prefix;
//! [`auth`] holds the authorizers a route may require.

pub mod auth;
pub mod cors;
pub mod request;
pub mod response;
pub mod route;

pub use auth::RouteAuth;
pub use cors::{Cors, UrlCorsError};
pub use request::{
    API_ID, EventError, EventOptions, MappedEvent, accepts_binary, to_event, to_event_as,
};
pub use response::{
    MAX_REQUEST_BODY, ResultError, from_result, from_result_with, integration_error,
    integration_timeout, internal_server_error, not_found, payload_too_large, request_timeout,
    try_from_result, try_from_result_with,
};
pub use route::{
    DEFAULT_STAGE, HTTP_INTEGRATION_TIMEOUT, Integration, METHODS, PayloadFormat,
    REST_INTEGRATION_TIMEOUT, Route, RouteError, RouteKey, RouteMatch, RouteTable, SAM_REST_STAGE,
    Stage,
};

#[cfg(test)]
mod tests;
