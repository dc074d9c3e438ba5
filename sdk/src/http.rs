//! The HTTP form of a handler, over the official `lambda_http` crate: API Gateway REST (v1),
//! HTTP API (v2), ALB and function URL events all arrive as one [`Request`].
//!
//! ```no_run
//! use lambkin::http::{Body, IntoResponse, Request, RequestExt, Response};
//!
//! #[lambkin::handler]
//! async fn hello(request: Request) -> Result<impl IntoResponse, lambkin::Error> {
//!     let who = request.query_string_parameters_ref().and_then(|q| q.first("name")).unwrap_or("world").to_owned();
//!     Ok(Response::builder().status(200).body(Body::from(format!("hello {who}")))?)
//! }
//! ```

#[doc(inline)]
pub use lambda_http::{
    Body, IntoResponse, Request, RequestExt, RequestPayloadExt, Response, http::StatusCode,
};
