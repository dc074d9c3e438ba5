//! What the generated `main` runs: environment checks, logging, the tokio runtime, the
//! cold-start `init`, and the official `lambda_runtime` loop around the handler.

use std::{fmt, future::Future, process::ExitCode};

use futures_util::FutureExt;
use http_body_util::BodyExt;
use lambda_runtime::{Context, Diagnostic, IntoFunctionResponse, LambdaEvent, service_fn};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::value::RawValue;

use crate::{IntoDiagnostic, logging, panic::catch_panic};

/// The event as the Runtime API delivered it; deserialised into the handler's type by
/// [`event`] so that a bad event is an error response naming the type, not a panic.
pub type RawEvent = Box<RawValue>;

/// How the generated `main` runs the handler; set from the attribute's options.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The tokio runtime flavor.
    pub flavor: Flavor,
    /// Install lambkin's tracing subscriber (`logging = false` opts out).
    pub logging: bool,
    /// The function's name when it serves itself locally (the binary's name).
    pub function: &'static str,
}

/// The tokio runtime the handler runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// One thread: a Lambda instance handles one event at a time, so this is the default.
    CurrentThread,
    /// tokio's work-stealing runtime, for handlers that fan out CPU-heavy work.
    MultiThread,
}

/// Why a function process stops before or instead of serving.
#[derive(Debug)]
enum Fatal {
    /// The Lambda environment is missing or invalid.
    Environment(String),
    /// `init` failed; already reported to `/runtime/init/error`.
    Init(Diagnostic),
    /// The runtime loop ended with an error (e.g. the Runtime API went away).
    Runtime(lambda_runtime::Error),
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fatal::Environment(msg) => write!(f, "invalid Lambda environment: {msg}"),
            Fatal::Init(d) => write!(f, "init failed: {}: {}", d.error_type, d.error_message),
            Fatal::Runtime(e) => write!(f, "Lambda runtime error: {e}"),
        }
    }
}

/// Runs a typed handler: `handler(state, event, context)` answers each invocation, with JSON
/// (a [`RawEvent`]) or a stream (a [`StreamResponse`](crate::stream::StreamResponse)).
#[allow(clippy::type_complexity)]
pub fn run<S, Shape, I, T, H, HF, R, B, St, D, E>(options: Options, init: I, handler: H) -> ExitCode
where
    S: 'static,
    I: FnOnce() -> T,
    T: InitResult<Shape, State = S>,
    H: Fn(&'static S, RawEvent, Context) -> HF,
    HF: Future<Output = Result<R, Diagnostic>>,
    R: IntoFunctionResponse<B, St>,
    B: Serialize,
    St: futures_util::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<lambda_runtime::Error> + Send + fmt::Debug,
{
    start(options, async move {
        let state = initialise(init).await?;
        let service = service_fn(
            move |LambdaEvent { payload, context }: LambdaEvent<RawEvent>| {
                catch_panic(handler(state, payload, context))
            },
        );
        lambda_runtime::run(service).await.map_err(Fatal::Runtime)
    })
}

/// Runs an HTTP handler over `lambda_http`: API Gateway v1/v2, ALB and function URL events
/// arrive as a [`crate::http::Request`].
pub fn run_http<S, Shape, I, T, H, HF, R>(options: Options, init: I, handler: H) -> ExitCode
where
    S: Sync + 'static,
    I: FnOnce() -> T,
    T: InitResult<Shape, State = S>,
    H: Fn(&'static S, lambda_http::Request) -> HF,
    HF: Future<Output = Result<R, Diagnostic>> + Send + 'static,
    R: lambda_http::IntoResponse,
{
    start(options, async move {
        let state = initialise(init).await?;
        let service = service_fn(move |request| catch_panic(handler(state, request)));
        lambda_http::run(service).await.map_err(Fatal::Runtime)
    })
}

/// Runs a streaming HTTP handler (`#[lambkin::handler(stream)]`) over `lambda_http`'s streaming
/// runtime: the response's status and headers go first, then its body as it is produced.
pub fn run_http_stream<S, Shape, I, T, H, HF, B>(options: Options, init: I, handler: H) -> ExitCode
where
    S: Sync + 'static,
    I: FnOnce() -> T,
    T: InitResult<Shape, State = S>,
    H: Fn(&'static S, lambda_http::Request) -> HF,
    HF: Future<Output = Result<lambda_http::Response<B>, Diagnostic>> + Send + 'static,
    B: http_body::Body + Unpin + Send + 'static,
    B::Data: Into<bytes::Bytes> + Send,
    B::Error: Into<lambda_runtime::Error> + Send + fmt::Debug,
{
    start(options, async move {
        let state = initialise(init).await?;
        let service = service_fn(move |request| catch_panic(handler(state, request)));
        lambda_http::run_with_streaming_response(service)
            .await
            .map_err(Fatal::Runtime)
    })
}

/// Everything common to every form: logging, the environment, the tokio runtime, the exit code.
fn start(options: Options, body: impl Future<Output = Result<(), Fatal>>) -> ExitCode {
    if options.logging {
        logging::init();
    }
    let outcome = host(&options).and_then(|host| {
        let mut builder = match options.flavor {
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        };
        let runtime = builder
            .enable_all()
            .build()
            .map_err(|e| Fatal::Runtime(e.into()))?;
        runtime.block_on(async move {
            host.serve_beside();
            body.await
        })
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(fatal) => {
            // stderr, not tracing: the subscriber may be off, and this must always be seen.
            eprintln!("lambkin: {fatal}");
            ExitCode::FAILURE
        }
    }
}

/// Where the function runs.
enum Host {
    /// In AWS Lambda, or under `lambkin watch`: the Runtime API is outside this process.
    Lambda,
    /// Serving itself: the in-process emulator runs beside the runtime loop.
    #[cfg(feature = "local")]
    Local(Box<lambkin_emulator::local::InProcess>),
}

impl Host {
    /// Spawns what must serve beside the runtime loop; call inside the tokio runtime.
    fn serve_beside(self) {
        match self {
            Host::Lambda => {}
            #[cfg(feature = "local")]
            Host::Local(server) => {
                tokio::spawn(async move {
                    if let Err(e) = server.serve().await {
                        eprintln!("lambkin: the local emulator stopped: {e}");
                        std::process::exit(1);
                    }
                });
            }
        }
    }
}

/// Checks the variables `lambda_runtime` would otherwise `expect`, so a bad environment is a
/// clear message instead of a panic. Without `AWS_LAMBDA_RUNTIME_API` the binary is not in
/// Lambda: with the `local` feature it serves itself, otherwise it says how to run it.
fn host(options: &Options) -> Result<Host, Fatal> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return local_host(options);
    }
    check_lambda_environment(|name| std::env::var(name).ok()).map_err(Fatal::Environment)?;
    Ok(Host::Lambda)
}

#[cfg(feature = "local")]
fn local_host(options: &Options) -> Result<Host, Fatal> {
    crate::local::start(options.function)
        .map(|server| Host::Local(Box::new(server)))
        .map_err(Fatal::Environment)
}

#[cfg(not(feature = "local"))]
fn local_host(_: &Options) -> Result<Host, Fatal> {
    Err(Fatal::Environment(
        "AWS_LAMBDA_RUNTIME_API is not set: run this binary in AWS Lambda, under `lambkin watch`, \
         or enable lambkin's `local` feature to serve it with `cargo run`"
            .into(),
    ))
}

/// The variables Lambda always sets and `lambda_runtime` requires; `var` reads one.
pub(crate) fn check_lambda_environment(var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let required = [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    ];
    let missing: Vec<_> = required.into_iter().filter(|v| var(v).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing {} (Lambda sets these for every function)",
            missing.join(", ")
        ));
    }
    let memory = var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
    if memory.parse::<i32>().map_or(true, |mb| mb <= 0) {
        return Err(format!(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE must be a positive number of MB, got {memory:?}"
        ));
    }
    // Lambda sets host:port; `lambda_runtime` also takes an http:// URL with a path prefix,
    // which other local emulators set (cargo-lambda: `http://127.0.0.1:9000/.rt/<function>`).
    let api = var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
    let usable = api.parse::<http::Uri>().is_ok_and(|uri| {
        uri.authority().is_some() && uri.scheme().is_none_or(|s| *s == http::uri::Scheme::HTTP)
    });
    if !usable {
        return Err(format!(
            "AWS_LAMBDA_RUNTIME_API must be host:port (or an http:// URL), got {api:?}"
        ));
    }
    Ok(())
}

/// Runs `init` once (the cold start). A failure or panic is reported to
/// `/runtime/init/error`, as Lambda requires, and stops the process.
async fn initialise<S, Shape, T: InitResult<Shape, State = S>>(
    init: impl FnOnce() -> T,
) -> Result<&'static S, Fatal>
where
    S: 'static,
{
    match catch_panic(async move { init().into_state().await }).await {
        // The state lives as long as the process: handlers borrow it for `'static`.
        Ok(state) => Ok(Box::leak(Box::new(state))),
        Err(diagnostic) => {
            tracing::error!(error_type = %diagnostic.error_type, "init failed: {}", diagnostic.error_message);
            if let Err(e) = report_init_error(&diagnostic).await {
                eprintln!("lambkin: could not report the init error to the Runtime API: {e}");
            }
            Err(Fatal::Init(diagnostic))
        }
    }
}

/// `POST /2018-06-01/runtime/init/error` through the official Runtime API client.
async fn report_init_error(diagnostic: &Diagnostic) -> Result<(), lambda_runtime::Error> {
    let client = lambda_runtime_api_client::Client::builder().build()?;
    let request = lambda_runtime_api_client::build_request()
        .method(http::Method::POST)
        .uri("/2018-06-01/runtime/init/error")
        .header("Lambda-Runtime-Function-Error-Type", &diagnostic.error_type)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(diagnostic)?.into())?;
    let response = client.call(request).await?;
    let status = response.status();
    // Drain the body so the connection closes cleanly before the process exits.
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the Runtime API answered {status}").into())
    }
}

/// Deserialises the event into the handler's argument type.
pub fn event<E: crate::__private::Event>(raw: &RawValue) -> Result<E, Diagnostic> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut de).map_err(|e| Diagnostic {
        error_type: "Runtime.UnmarshalError".to_owned(),
        error_message: format!(
            "could not deserialize the event into `{}`: {e}",
            std::any::type_name::<E>()
        ),
    })
}

/// Serialises the handler's result, converting its error into a Lambda error response.
pub fn respond<R, E>(result: Result<R, E>) -> Result<RawEvent, Diagnostic>
where
    R: crate::__private::Response,
    E: IntoDiagnostic,
{
    let value = result.map_err(IntoDiagnostic::into_diagnostic)?;
    serialize(&value)
}

fn serialize<R: Serialize + ?Sized>(value: &R) -> Result<RawEvent, Diagnostic> {
    serde_json::value::to_raw_value(value).map_err(|e| Diagnostic {
        error_type: "Runtime.MarshalError".to_owned(),
        error_message: format!("could not serialize the response: {e}"),
    })
}

/// Converts the error of a streaming handler; the stream itself goes to `lambda_runtime`.
pub fn respond_stream<St, E>(
    result: Result<crate::stream::StreamResponse<St>, E>,
) -> Result<crate::stream::StreamResponse<St>, Diagnostic>
where
    E: IntoDiagnostic,
{
    result.map_err(IntoDiagnostic::into_diagnostic)
}

/// Converts the error of a streaming HTTP handler; the response goes to `lambda_http`.
pub fn respond_http_stream<B, E>(
    result: Result<lambda_http::Response<B>, E>,
) -> Result<lambda_http::Response<B>, Diagnostic>
where
    E: IntoDiagnostic,
{
    result.map_err(IntoDiagnostic::into_diagnostic)
}

/// Converts the error of an HTTP handler; the response itself goes to `lambda_http`.
pub fn respond_http<R, E>(result: Result<R, E>) -> Result<R, Diagnostic>
where
    R: crate::__private::HttpResponse,
    E: IntoDiagnostic,
{
    result.map_err(IntoDiagnostic::into_diagnostic)
}

/// What an `init` fn may return; `Shape` keeps the sync and async impls apart.
#[diagnostic::on_unimplemented(
    message = "the `init` fn must return `Result<State, E>`, not `{Self}`",
    label = "`init` must name a fn or async fn returning `Result<State, E>`",
    note = "for example: `async fn setup() -> Result<State, lambkin::Error>`"
)]
pub trait InitResult<Shape> {
    /// The state the init fn builds.
    type State;
    /// The state, once ready.
    fn into_state(self) -> impl Future<Output = Result<Self::State, Diagnostic>>;
}

impl<S, E: IntoDiagnostic> InitResult<()> for Result<S, E> {
    type State = S;
    fn into_state(self) -> impl Future<Output = Result<S, Diagnostic>> {
        std::future::ready(self.map_err(IntoDiagnostic::into_diagnostic))
    }
}

impl<F, S, E> InitResult<(S, E)> for F
where
    F: Future<Output = Result<S, E>>,
    E: IntoDiagnostic,
{
    type State = S;
    fn into_state(self) -> impl Future<Output = Result<S, Diagnostic>> {
        self.map(|r| r.map_err(IntoDiagnostic::into_diagnostic))
    }
}

/// The `init` of a handler without state.
pub fn no_init() -> Result<(), std::convert::Infallible> {
    Ok(())
}

/// Deserialises `payload`, runs the handler through [`catch_panic`], and serialises the result:
/// exactly what an invocation does, for [`crate::testing`].
pub(crate) async fn invoke_typed<E, R, Err, Fut>(
    payload: &RawValue,
    handler: impl FnOnce(E) -> Fut,
) -> Result<RawEvent, Diagnostic>
where
    E: DeserializeOwned,
    R: Serialize,
    Err: IntoDiagnostic,
    Fut: Future<Output = Result<R, Err>>,
{
    catch_panic(async move {
        let event = event(payload)?;
        respond(handler(event).await)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const GOOD: [(&str, &str); 4] = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_LAMBDA_FUNCTION_NAME", "hello"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ];

    #[test]
    fn a_complete_environment_passes() {
        assert_eq!(check_lambda_environment(env(&GOOD)), Ok(()));
    }

    #[test]
    fn missing_variables_are_all_named() {
        let err = check_lambda_environment(env(&GOOD[..1])).unwrap_err();
        assert!(err.contains("AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION, AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "{err}");
    }

    #[test]
    fn invalid_values_are_explained() {
        let mut vars = GOOD;
        vars[3].1 = "lots";
        let err = check_lambda_environment(env(&vars)).unwrap_err();
        assert!(
            err.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") && err.contains("\"lots\""),
            "{err}"
        );
        for bad in ["", "https://localhost:9001", "/2018-06-01", "not a host"] {
            let mut vars = GOOD;
            vars[0].1 = bad;
            let err = check_lambda_environment(env(&vars)).unwrap_err();
            assert!(err.contains("host:port"), "{bad:?}: {err}");
        }
    }

    /// What `lambda_runtime` itself takes: Lambda's host:port, and a URL with a path prefix.
    #[test]
    fn runtime_api_urls_pass() {
        for good in ["localhost:9001", "http://127.0.0.1:9000/.rt/hello"] {
            let mut vars = GOOD;
            vars[0].1 = good;
            assert_eq!(check_lambda_environment(env(&vars)), Ok(()), "{good}");
        }
    }

    #[tokio::test]
    async fn init_accepts_sync_and_async_results() {
        let sync = Ok::<_, crate::Error>(5).into_state().await;
        assert_eq!(sync.unwrap(), 5);
        let r#async = async { Err::<u8, _>(crate::Error::new("Boom", "no db")) }
            .into_state()
            .await;
        assert_eq!(r#async.unwrap_err().error_type, "Boom");
    }

    #[test]
    fn bad_events_name_the_expected_type() {
        let raw = RawValue::from_string(r#"{"n": "x"}"#.into()).unwrap();
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Ev {
            n: u32,
        }
        let d = event::<Ev>(&raw).unwrap_err();
        assert_eq!(d.error_type, "Runtime.UnmarshalError");
        assert!(
            d.error_message.contains("Ev") && d.error_message.contains("n:"),
            "{}",
            d.error_message
        );
    }
}
