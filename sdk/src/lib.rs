//! Typed AWS Lambda handlers: `#[lambkin::handler]` turns an async (or sync) fn into the
//! binary's `main`. In AWS Lambda (or under `lambkin watch`) that `main` runs the official
//! [`lambda_runtime`] loop; started anywhere else, with a plain `cargo run`, the binary serves
//! itself on `127.0.0.1:9000`. The same binary ships to the `provided.al2023` runtime.
//!
//! # A function
//!
//! A binary crate depending on `lambkin` and `serde_json` (and `serde`, with its `derive`
//! feature, for your own event types). There is no `main` of your own: the attribute
//! generates it beside the handler, which stays an ordinary fn.
//!
//! ```no_run
//! use lambkin::{Context, Error};
//! use serde_json::{Value, json};
//!
//! #[lambkin::handler]
//! async fn greet(event: Value, ctx: Context) -> Result<Value, Error> {
//!     let name = event["name"].as_str().unwrap_or("world");
//!     lambkin::tracing::info!(%name, "greeting"); // logged with the request id
//!     Ok(json!({ "message": format!("Hello, {name}!"), "requestId": ctx.request_id }))
//! }
//! ```
//!
//! # Handler forms
//!
//! The event is anything [`Deserialize`](serde::Deserialize), the response anything
//! [`Serialize`](serde::Serialize), the error anything listed under
//! [Errors and panics](#errors-and-panics). The attribute accepts these signatures; any other
//! is a compile error that points at the offending tokens and says how to fix it.
//!
//! | form | signature |
//! | --- | --- |
//! | event | `async fn f(event: E) -> Result<R, Err>` |
//! | event and context | `async fn f(event: E, ctx: lambkin::Context) -> Result<R, Err>` |
//! | sync | either of the above without `async` |
//! | state | `#[lambkin::handler(init = setup)] async fn f(state: &State, event: E, [ctx: Context])` |
//! | HTTP | `async fn f(request: lambkin::http::Request, [ctx: Context]) -> Result<impl IntoResponse, Err>` |
//! | stream | `async fn f(event: E, [ctx: Context]) -> Result<lambkin::stream::StreamResponse<S>, Err>` |
//! | HTTP stream | `#[lambkin::handler(stream)] async fn f(request: Request, [ctx]) -> Result<Response<B>, Err>` |
//!
//! The handler cannot be named `main`, be generic, take `self` or take the event by reference.
//!
//! ## A typed event
//!
//! Your own types, checked by serde: an event that does not fit is answered with
//! `Runtime.UnmarshalError`, naming the type and the field, and the handler is not called.
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Order {
//!     item: String,
//!     quantity: u32,
//! }
//!
//! #[derive(Serialize)]
//! struct Receipt {
//!     summary: String,
//! }
//!
//! #[lambkin::handler]
//! async fn order(order: Order) -> Result<Receipt, lambkin::Error> {
//!     Ok(Receipt { summary: format!("{} x {}", order.quantity, order.item) })
//! }
//! ```
//!
//! ## With the invocation context
//!
//! A [`Context`] after the event: the request id, the deadline, the function's ARN and
//! configuration, the X-Ray trace id.
//!
//! ```no_run
//! use lambkin::{Context, Error};
//! use serde_json::{Value, json};
//!
//! #[lambkin::handler]
//! async fn describe(_event: Value, ctx: Context) -> Result<Value, Error> {
//!     let function = &ctx.env_config.function_name;
//!     Ok(json!({ "function": function, "deadlineMs": ctx.deadline }))
//! }
//! ```
//!
//! ## An AWS event
//!
//! [`events`] re-exports the official `aws_lambda_events` types, one cargo feature per
//! service (see [Cargo features](#cargo-features)). An SQS handler reporting partial batch
//! failures (the event source mapping needs `ReportBatchItemFailures`; see
//! <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>):
//!
//! ```no_run
//! use lambkin::events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
//!
//! #[lambkin::handler]
//! async fn drain(event: SqsEvent) -> Result<SqsBatchResponse, lambkin::Error> {
//!     let mut response = SqsBatchResponse::default();
//!     for message in event.records {
//!         if message.body.as_deref().is_none_or(str::is_empty) {
//!             let mut failure = BatchItemFailure::default();
//!             failure.item_identifier = message.message_id.unwrap_or_default();
//!             response.batch_item_failures.push(failure);
//!         }
//!     }
//!     Ok(response)
//! }
//! ```
//!
//! ## A sync fn
//!
//! A handler without `async` runs on the runtime's thread; fine for work that never waits.
//!
//! ```no_run
//! use lambkin::Context;
//!
//! #[lambkin::handler]
//! fn add(numbers: Vec<i64>, _ctx: Context) -> Result<i64, std::num::TryFromIntError> {
//!     let sum: i128 = numbers.into_iter().map(i128::from).sum();
//!     i64::try_from(sum)
//! }
//! ```
//!
//! ## State built once per cold start
//!
//! `init = setup` names a fn or async fn returning `Result<State, Err>`. It runs once per
//! instance, before the first event; the handler then takes `&State` first (shared by every
//! invocation: use atomics or a `Mutex` to change it). A failing or panicking `init` is
//! reported to the Runtime API's `/runtime/init/error` and the process exits non-zero, as
//! Lambda expects.
//!
//! ```no_run
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! use lambkin::{Context, Error};
//! use serde_json::{Value, json};
//!
//! struct State {
//!     table: String,
//!     invocations: AtomicU64,
//! }
//!
//! async fn setup() -> Result<State, Error> {
//!     let table = std::env::var("TABLE_NAME")?; // errorType "VarError" if unset
//!     Ok(State { table, invocations: AtomicU64::new(0) })
//! }
//!
//! #[lambkin::handler(init = setup)]
//! async fn count(state: &State, _event: Value, ctx: Context) -> Result<Value, Error> {
//!     let n = state.invocations.fetch_add(1, Ordering::Relaxed) + 1;
//!     Ok(json!({ "table": state.table, "invocation": n, "requestId": ctx.request_id }))
//! }
//! ```
//!
//! ## HTTP
//!
//! A [`http::Request`] argument selects the HTTP form, over the official [`lambda_http`]:
//! API Gateway REST (v1) and HTTP API (v2), ALB and function URL events all arrive as one
//! request, and the response is anything [`http::IntoResponse`] (a [`http::Response`], a
//! `String`, a `serde_json::Value`). State and a [`Context`] work as in the typed form.
//!
//! ```no_run
//! use lambkin::http::{Body, IntoResponse, Request, RequestExt, Response};
//! use lambkin::{Context, Error};
//!
//! #[lambkin::handler]
//! async fn hello(request: Request, ctx: Context) -> Result<impl IntoResponse, Error> {
//!     let query = request.query_string_parameters();
//!     let who = query.first("name").unwrap_or("world");
//!     Ok(Response::builder()
//!         .status(200)
//!         .header("x-request-id", ctx.request_id.as_str())
//!         .body(Body::from(format!("hello {who}")))?)
//! }
//! ```
//!
//! ## Streaming
//!
//! A handler returning a [`stream::StreamResponse`] answers as it writes (a function URL with
//! `InvokeMode: RESPONSE_STREAM`, InvokeWithResponseStream; the buffered Invoke API gets the
//! whole stream), in Lambda and locally alike. An HTTP handler streams its [`http::Response`]'s
//! body with `#[lambkin::handler(stream)]`; see [`stream`].
//!
//! ```no_run
//! use lambkin::stream::{Body, StreamResponse, channel};
//!
//! #[lambkin::handler]
//! async fn count(to: u32) -> Result<StreamResponse<Body>, lambkin::Error> {
//!     let (mut tx, body) = channel();
//!     tokio::spawn(async move {
//!         for n in 1..=to {
//!             if tx.send_data(format!("{n}\n").into()).await.is_err() {
//!                 return;
//!             }
//!         }
//!     });
//!     Ok(StreamResponse::from(body))
//! }
//! ```
//!
//! ## Options
//!
//! `stream` selects the streaming HTTP form (above). `flavor = "multi_thread"` builds tokio's work-stealing runtime (the default,
//! `"current_thread"`, suits an instance that handles one event at a time); `logging = false`
//! leaves the tracing subscriber to you. (The example spawns tasks, so it names `tokio`, which
//! the function's crate then depends on.)
//!
//! ```no_run
//! use serde_json::Value;
//!
//! #[lambkin::handler(flavor = "multi_thread", logging = false)]
//! async fn fan_out(event: Vec<Value>) -> Result<usize, lambkin::Error> {
//!     let tasks = event.into_iter().map(|item| tokio::spawn(async move { item.is_object() }));
//!     let mut objects = 0;
//!     for task in tasks {
//!         objects += usize::from(task.await?);
//!     }
//!     Ok(objects)
//! }
//! ```
//!
//! # Errors and panics
//!
//! Every failure is a Lambda error response, `{"errorType": …, "errorMessage": …}` (the
//! invoker sees `X-Amz-Function-Error: Unhandled`; API Gateway answers 5xx), and the instance
//! keeps serving:
//!
//! | what | `errorType` |
//! | --- | --- |
//! | `Err` of a [`std::error::Error`] | the type's own name: `ParseIntError`, `OrderError` |
//! | `Err` of an [`Error`] | the name of the error it was converted from with `?`, or the one given to [`Error::new`] |
//! | `Err` of your type implementing [`IntoDiagnostic`] | whatever it says |
//! | an event that does not deserialize | `Runtime.UnmarshalError` |
//! | a response that does not serialize | `Runtime.MarshalError` |
//! | a panic in the handler | [`PANIC_ERROR_TYPE`] (`Runtime.Panic`), with the panic's message |
//!
//! ```no_run
//! use lambkin::{Diagnostic, IntoDiagnostic};
//!
//! /// Not a `std::error::Error`: it chooses its own `errorType`.
//! enum Refusal {
//!     TooLarge(usize),
//! }
//!
//! impl IntoDiagnostic for Refusal {
//!     fn into_diagnostic(self) -> Diagnostic {
//!         let Refusal::TooLarge(n) = self;
//!         Diagnostic {
//!             error_type: "Refusal.TooLarge".into(),
//!             error_message: format!("{n} items, at most 10"),
//!         }
//!     }
//! }
//!
//! #[lambkin::handler]
//! async fn check(items: Vec<String>) -> Result<usize, Refusal> {
//!     if items.len() > 10 {
//!         return Err(Refusal::TooLarge(items.len()));
//!     }
//!     Ok(items.len())
//! }
//! ```
//!
//! # Logging
//!
//! Unless `logging = false`, `main` installs a [`tracing`] subscriber writing to stdout, as
//! Lambda's advanced logging controls configure it: Text or JSON per
//! `AWS_LAMBDA_LOG_FORMAT`, the level per `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else
//! `info`. Every line logged during an invocation carries its `requestId`, panics included.
//! Log through the re-exported crate: `lambkin::tracing::info!(...)`.
//!
//! # Running locally
//!
//! Without `AWS_LAMBDA_RUNTIME_API` the binary is not in Lambda, and with the `local` feature
//! (on by default) it serves itself: the emulator runs in-process with a Runtime API and an
//! Invoke API on `127.0.0.1:9000` (`PORT` or `LAMBKIN_PORT` change the port,
//! `LAMBKIN_ALLOW_HOSTS=a,b` adds host names it answers besides loopback), and the
//! same runtime loop that runs in AWS polls it. The function's name is the binary's.
//!
//! ```sh
//! cargo run &
//! curl -d '{"name":"Ada"}' localhost:9000/2015-03-31/functions/greet/invocations
//! ```
//!
//! Without the `local` feature such a start is an error that says how to run the binary. In
//! Lambda, or under `lambkin watch`, the Lambda environment is checked first, so a missing
//! variable is a clear message rather than a panic.
//!
//! # Testing
//!
//! [`testing`] runs a handler as an invocation does (the event through JSON, panics caught,
//! the response through JSON) without a runtime: [`testing::invoke`] for the typed forms,
//! [`testing::invoke_http`] for the HTTP form, [`testing::fixture`] for the sample events AWS
//! captured, [`testing::context`] for a [`Context`]. In a function's crate this is a
//! `#[tokio::test]`:
//!
//! ```
//! use lambkin::{Context, Error};
//! use serde_json::{Value, json};
//!
//! #[lambkin::handler]
//! async fn greet(event: Value, _ctx: Context) -> Result<Value, Error> {
//!     let name = event["name"].as_str().unwrap_or("world");
//!     Ok(json!({ "message": format!("Hello, {name}!") }))
//! }
//!
//! async fn greets() {
//!     let out = lambkin::testing::invoke(greet, json!({"name": "Ada"})).await.unwrap();
//!     assert_eq!(out["message"], "Hello, Ada!");
//! }
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(greets());
//! ```
//!
//! # Cargo features
//!
//! - `local` (default): serve the function in-process when started outside Lambda.
//! - One per `aws_lambda_events` service, enabling its module in [`events`]: `apigw`, `alb`,
//!   `lambda_function_urls`, `sqs`, `sns`, `s3`, `eventbridge`, `cloudwatch_events`,
//!   `dynamodb`, `kinesis` and `cloudwatch_logs` are on by default; `all-events` turns on
//!   every service.
//!
//! # Shipping
//!
//! The `lambkin` command (crate `lambkin-emulator`) serves a workspace of functions
//! (`lambkin watch`), builds `bootstrap.zip` for `provided.al2023` (`lambkin build`) and
//! deploys it (`lambkin deploy`).

#![warn(missing_docs)]

mod error;
pub mod http;
#[cfg(feature = "local")]
mod local;
mod logging;
mod panic;
mod runtime;
pub mod stream;
pub mod testing;

/// The crate's README (its crates.io page), so that its example is compiled too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct Readme;

pub use error::{Error, IntoDiagnostic};
#[doc(inline)]
pub use lambda_runtime::{Context, Diagnostic, LambdaEvent};
/// Turns a typed async (or sync) fn into the binary's `main`: see [the handler
/// forms](crate#handler-forms) it accepts and its [options](crate#options).
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
        Flavor, Options, RawEvent, event, no_init, respond, respond_http, respond_http_stream,
        respond_stream, run, run_http, run_http_stream,
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
