//! Response streaming: a handler returning a [`StreamResponse`] answers as it writes, through a
//! function URL with `InvokeMode: RESPONSE_STREAM` or InvokeWithResponseStream
//! (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html>), up to
//! 200 MB. The types are the official `lambda_runtime` ones.
//!
//! ```no_run
//! use lambkin::stream::{StreamResponse, channel, Body};
//! use serde_json::Value;
//!
//! #[lambkin::handler]
//! async fn tokens(_event: Value) -> Result<StreamResponse<Body>, lambkin::Error> {
//!     let (mut tx, body) = channel();
//!     tokio::spawn(async move {
//!         for word in ["streamed", "word", "by", "word"] {
//!             if tx.send_data(format!("{word}\n").into()).await.is_err() {
//!                 return; // the invocation ended
//!             }
//!         }
//!     });
//!     Ok(StreamResponse::from(body))
//! }
//! ```
//!
//! An HTTP handler streams with `#[lambkin::handler(stream)]`: it returns a
//! [`Response`](crate::http::Response) whose body (any [`http_body::Body`], such as this
//! module's [`Body`]) is sent as it is produced, with the status and headers first, over
//! `lambda_http`'s streaming runtime.
//!
//! ```no_run
//! use lambkin::http::{Request, Response};
//! use lambkin::stream::{Body, channel};
//!
//! #[lambkin::handler(stream)]
//! async fn page(_request: Request) -> Result<Response<Body>, lambkin::Error> {
//!     let (mut tx, body) = channel();
//!     tokio::spawn(async move {
//!         let _ = tx.send_data("<p>first</p>".into()).await;
//!         let _ = tx.send_data("<p>second</p>".into()).await;
//!     });
//!     Ok(Response::builder().header("content-type", "text/html").body(body)?)
//! }
//! ```

#[doc(inline)]
pub use lambda_runtime::streaming::{Body, Sender, channel};
#[doc(inline)]
pub use lambda_runtime::{MetadataPrelude, StreamResponse};
