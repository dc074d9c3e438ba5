#![doc = include_str!("../README.md")]

mod error;
pub mod http;
#[cfg(feature = "local")]
mod local;
mod logging;
mod panic;
mod runtime;
pub mod testing;

pub use error::{Error, IntoDiagnostic};
#[doc(inline)]
pub use lambda_runtime::{Context, Diagnostic, LambdaEvent};
/// Turns a typed async (or sync) fn into the function's `main`; see the crate docs.
pub use lambkin_macros::handler;

/// Every AWS event type, from the official `aws_lambda_events` crate (one cargo feature per
/// service; the common ones are on by default, `all-events` turns on the rest).
#[doc(inline)]
pub use aws_lambda_events as events;

/// The `tracing` crate the log subscriber is set up for: `lambkin::tracing::info!(...)`.
pub use tracing;

pub use panic::PANIC_ERROR_TYPE;

/// Not public API: what `#[lambkin::handler]` expands to. Generated code names only these
/// paths, so users depend on `lambkin` alone.
#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::{
        Flavor, Options, RawEvent, event, no_init, respond, respond_http, run, run_http,
    };
    pub use lambda_http::Request as HttpRequest;
    pub use lambda_http::RequestExt;
    pub use lambda_runtime::Context;

    /// Checks the event argument at its own span, so the error names the user's type.
    #[diagnostic::on_unimplemented(
        message = "the event type `{Self}` cannot be deserialized from JSON",
        label = "the event argument must implement `serde::Deserialize`",
        note = "derive it with `#[derive(serde::Deserialize)]`, or use a type from `lambkin::events`"
    )]
    pub trait Event: serde::de::DeserializeOwned {}
    impl<T: serde::de::DeserializeOwned> Event for T {}

    /// Checks the success type at the return type's span.
    #[diagnostic::on_unimplemented(
        message = "the handler's response type `{Self}` cannot be serialized to JSON",
        label = "the `Ok` type of the handler must implement `serde::Serialize`",
        note = "derive it with `#[derive(serde::Serialize)]`, or return `serde_json::Value`"
    )]
    pub trait Response: serde::Serialize {}
    impl<T: serde::Serialize> Response for T {}

    /// Checks the success type of an HTTP handler.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be turned into an HTTP response",
        label = "the `Ok` type of an HTTP handler must implement `lambkin::http::IntoResponse`",
        note = "return a `lambkin::http::Response<Body>`, a `String`, `&'static str` or a `serde_json::Value`"
    )]
    pub trait HttpResponse: lambda_http::IntoResponse {}
    impl<T: lambda_http::IntoResponse> HttpResponse for T {}

    /// The context of an HTTP request, which `lambda_http` keeps in its extensions.
    pub fn http_context(request: &lambda_http::Request) -> Context {
        lambda_http::RequestExt::lambda_context(request)
    }
}
