//! Helpers for unit tests of handlers: AWS's captured sample events, a [`Context`], and
//! [`invoke`], which runs a handler through the same steps as a real invocation (the event
//! serialised and deserialised, panics caught, the response serialised).
//!
//! ```
//! use lambkin::testing;
//! use serde_json::{Value, json};
//!
//! async fn echo(event: Value) -> Result<Value, lambkin::Error> {
//!     Ok(event)
//! }
//!
//! # tokio_test(async {
//! let out = testing::invoke(echo, json!({"a": 1})).await.unwrap();
//! assert_eq!(out, json!({"a": 1}));
//! # });
//! # fn tokio_test(f: impl std::future::Future) { tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f); }
//! ```

use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use lambda_runtime::{Config, Context, Diagnostic, LambdaEvent, Service};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{IntoDiagnostic, panic::catch_panic, runtime};

/// The function name [`context`] reports.
pub const FUNCTION_NAME: &str = "test-function";

/// A context like the one Lambda gives an invocation: a fresh request id, a deadline 3 s
/// away, the ARN and configuration of a function called [`FUNCTION_NAME`].
pub fn context() -> Context {
    let deadline = SystemTime::now() + Duration::from_secs(3);
    let since_epoch = deadline.duration_since(UNIX_EPOCH).unwrap_or_default();
    let config = Config {
        function_name: FUNCTION_NAME.to_owned(),
        memory: 128,
        version: "$LATEST".to_owned(),
        log_stream: "2026/01/01/[$LATEST]0123456789abcdef".to_owned(),
        log_group: format!("/aws/lambda/{FUNCTION_NAME}"),
    };
    // `Context` is non-exhaustive: build it from Runtime API headers, as the runtime does.
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "lambda-runtime-deadline-ms",
        (since_epoch.as_millis() as u64).into(),
    );
    let arn = format!("arn:aws:lambda:us-east-1:012345678912:function:{FUNCTION_NAME}");
    if let Ok(arn) = http::HeaderValue::from_str(&arn) {
        headers.insert("lambda-runtime-invoked-function-arn", arn);
    }
    let request_id = format!("test-{:x}", since_epoch.as_nanos());
    Context::new(&request_id, Arc::new(config), &headers).unwrap_or_default()
}

/// A handler shape [`invoke`] accepts: `fn(E)` or `fn(E, Context)`, async or sync,
/// returning `Result<R, Err>`. Test a stateful handler through a closure:
/// `|event, ctx| handle(&state, event, ctx)`.
pub trait Handler<Shape> {
    /// Runs the handler on the event, as an invocation would.
    fn call(
        self,
        event: Value,
        context: Context,
    ) -> impl Future<Output = Result<Value, Diagnostic>>;
}

/// Marks the async handler shapes of [`Handler`].
#[derive(Debug)]
pub enum Async {}
/// Marks the sync handler shapes of [`Handler`].
#[derive(Debug)]
pub enum Sync {}

macro_rules! shape {
    ($marker:ident ($($arg:ident),+) [$($fut:ident)?] -> $out:ty, |$f:ident, $e:ident, $c:ident| $call:expr) => {
        impl<F, E, R, Err $(, $fut)?> Handler<($marker, $($arg),+)> for F
        where
            F: FnOnce($($arg),+) -> $out,
            $($fut: Future<Output = Result<R, Err>>,)?
            E: DeserializeOwned,
            R: Serialize,
            Err: IntoDiagnostic,
        {
            async fn call(self, event: Value, context: Context) -> Result<Value, Diagnostic> {
                let ($f, $c) = (self, context);
                through_runtime(event, |$e| async move { $call }).await
            }
        }
    };
}
shape!(Async (E) [Fut] -> Fut, |f, e, _c| f(e).await);
shape!(Async (E, Context) [Fut] -> Fut, |f, e, c| f(e, c).await);
shape!(Sync (E) [] -> Result<R, Err>, |f, e, _c| f(e));
shape!(Sync (E, Context) [] -> Result<R, Err>, |f, e, c| f(e, c));

/// The event goes through JSON both ways, exactly as over the Runtime API.
async fn through_runtime<E, R, Err, Fut>(
    event: Value,
    handler: impl FnOnce(E) -> Fut,
) -> Result<Value, Diagnostic>
where
    E: DeserializeOwned,
    R: Serialize,
    Err: IntoDiagnostic,
    Fut: Future<Output = Result<R, Err>>,
{
    let raw = runtime::respond(Ok::<_, crate::Error>(event))?;
    let out = runtime::invoke_typed(&raw, handler).await?;
    serde_json::from_str(out.get()).map_err(|e| crate::Error::from(e).into_diagnostic())
}

/// Invokes a typed handler with `event` (anything serialisable: a `json!` value, an event from
/// [`fixture`]) and a fresh [`context`]; returns the JSON response or the error response.
pub async fn invoke<Shape, H: Handler<Shape>>(
    handler: H,
    event: impl Serialize,
) -> Result<Value, Diagnostic> {
    let event = serde_json::to_value(event).map_err(|e| crate::Error::from(e).into_diagnostic())?;
    handler.call(event, context()).await
}

/// Invokes an HTTP handler (the `lambkin::http::Request` form) with an API Gateway v1/v2, ALB
/// or function URL event, through `lambda_http` as the runtime does. Returns the JSON response
/// that API Gateway would receive (`statusCode`, `headers`, `body`, …).
pub async fn invoke_http<R, Err, Fut>(
    handler: impl FnOnce(crate::http::Request) -> Fut + Send,
    event: impl Serialize,
) -> Result<Value, Diagnostic>
where
    R: lambda_http::IntoResponse,
    Err: IntoDiagnostic,
    Fut: Future<Output = Result<R, Err>> + Send,
{
    let bad_event = |e: serde_json::Error| crate::Error::from(e).into_diagnostic();
    let event: lambda_http::request::LambdaRequest =
        serde_json::from_value(serde_json::to_value(event).map_err(bad_event)?)
            .map_err(bad_event)?;
    let mut handler = Some(handler);
    let service = lambda_runtime::service_fn(move |request| {
        let handler = handler.take();
        catch_panic(async move {
            let handler = handler.ok_or_else(|| {
                crate::Error::msg("invoke_http calls the handler once").into_diagnostic()
            })?;
            runtime::respond_http(handler(request).await)
        })
    });
    let mut adapter = lambda_http::Adapter::from(service);
    let response = adapter.call(LambdaEvent::new(event, context())).await?;
    serde_json::to_value(response).map_err(bad_event)
}

/// One of the sample events AWS captured, as shipped with `aws_lambda_events`
/// (`src/fixtures/<name>.json`, e.g. `example-apigw-v2-request-no-authorizer`), deserialised
/// into `T`. Panics with a clear message if it is missing or does not fit `T`: it is for tests.
pub fn fixture<T: DeserializeOwned>(name: &str) -> T {
    let path = fixtures_dir().join(format!("{}.json", name.trim_end_matches(".json")));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "fixture {name} does not fit {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

/// Where `aws_lambda_events` keeps its captured events: found once through `cargo metadata`
/// (tests run under cargo, which sets `CARGO` and `CARGO_MANIFEST_DIR`).
fn fixtures_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command.args(["metadata", "--format-version", "1"]);
        if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
            command.current_dir(dir);
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run `cargo metadata` to find the fixtures: {e}"));
        assert!(
            output.status.success(),
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let metadata: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("bad `cargo metadata` output: {e}"));
        let manifest = metadata["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "aws_lambda_events")
            .and_then(|p| p["manifest_path"].as_str())
            .unwrap_or_else(|| {
                panic!("aws_lambda_events is not in this package's dependency graph")
            });
        Path::new(manifest).with_file_name("src").join("fixtures")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::apigw::ApiGatewayV2httpRequest;
    use serde_json::json;

    async fn double(n: u32, ctx: Context) -> Result<Value, crate::Error> {
        Ok(json!({"n": n * 2, "function": ctx.env_config.function_name}))
    }

    fn parse(s: String) -> Result<u32, std::num::ParseIntError> {
        s.parse()
    }

    #[tokio::test]
    async fn invoke_runs_every_shape_through_json() {
        assert_eq!(
            invoke(double, 4).await.unwrap(),
            json!({"n": 8, "function": FUNCTION_NAME})
        );
        assert_eq!(invoke(parse, "42").await.unwrap(), json!(42));
        let err = invoke(parse, "x").await.unwrap_err();
        assert_eq!(err.error_type, "ParseIntError");
        let err = invoke(double, "not a number").await.unwrap_err();
        assert_eq!(err.error_type, "Runtime.UnmarshalError");
        let err = invoke(
            |_: Value| -> Result<(), crate::Error> { panic!("kaput") },
            json!({}),
        )
        .await
        .unwrap_err();
        assert_eq!(
            (err.error_type.as_str(), err.error_message.as_str()),
            (crate::PANIC_ERROR_TYPE, "kaput")
        );
    }

    #[tokio::test]
    async fn fixtures_load_aws_captured_events() {
        let event: ApiGatewayV2httpRequest = fixture("example-apigw-v2-request-no-authorizer");
        assert_eq!(event.version.as_deref(), Some("2.0"));
        let path = invoke(
            |e: ApiGatewayV2httpRequest| async move { Ok::<_, crate::Error>(e.raw_path) },
            event,
        )
        .await;
        assert_eq!(path.unwrap(), json!("/"));
    }

    #[tokio::test]
    async fn invoke_http_answers_as_api_gateway_expects() {
        use crate::http::{Body, Request, RequestExt, Response};
        async fn hello(request: Request) -> Result<Response<Body>, crate::Error> {
            let ctx = request.lambda_context();
            Ok(Response::builder()
                .status(201)
                .header("x-fn", ctx.env_config.function_name.as_str())
                .body(Body::from(request.uri().path().to_owned()))?)
        }
        let event: Value = fixture("example-apigw-v2-request-no-authorizer");
        let out = invoke_http(hello, event).await.unwrap();
        assert_eq!(out["statusCode"], 201);
        assert_eq!(out["headers"]["x-fn"], FUNCTION_NAME);
        assert_eq!(out["body"], "/");
    }
}
