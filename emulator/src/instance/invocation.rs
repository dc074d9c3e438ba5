//! What an instance is asked to run and what comes back: the vocabulary shared by the instance,
//! the pool, the queues and the front.

use std::sync::Arc;

use bytes::Bytes;

use crate::telemetry::ReportMetrics;

/// One request for a function.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) trace_id: String,
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
    /// Where a streamed answer goes as it arrives (a function URL in `RESPONSE_STREAM` mode);
    /// `None` for callers that take the whole answer.
    pub(crate) stream: Option<crate::runtime_api::Tap>,
    /// What asked for it (shown by the dashboard).
    pub(crate) trigger: Trigger,
}

/// What started an invocation: the dashboard's "trigger" column. Event sources and workflows
/// add their own variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Lambda's Invoke API; `asynchronous` for an `Event` invocation run from its queue.
    Invoke {
        /// An `Event` invocation.
        asynchronous: bool,
    },
    /// An API Gateway route (its route key, `GET /users/{id}`).
    Route(String, HttpRequest),
    /// A function URL.
    FunctionUrl(HttpRequest),
    /// An API Gateway Lambda authorizer.
    Authorizer,
    /// A WebSocket API route (its route key, `$connect`).
    #[cfg(feature = "websocket")]
    WebSocket(String),
    /// The dashboard's replay of an earlier invocation, by direct invocation.
    Replay,
    /// An event source: a schedule (its name).
    #[cfg(feature = "schedules")]
    Schedule(String),
    /// An event source: an SQS event source mapping (its name).
    #[cfg(feature = "sqs")]
    Queue(String),
    /// An asynchronous invocation's destination, given its record.
    Destination,
    /// A Step Functions Task state.
    #[cfg(feature = "workflows")]
    Workflow,
}

/// The HTTP request an API Gateway route or a function URL turned into the event, kept so the
/// dashboard can replay it through the same route (authorizer, mapping, response).
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    /// The request (no extensions).
    pub(crate) request: Arc<http::Request<Bytes>>,
    /// Whether it came to a function URL (else to the front's API Gateway).
    pub(crate) function_url: bool,
    /// Whether this is the dashboard's replay of an earlier request.
    pub(crate) replay: bool,
}

impl HttpRequest {
    /// A copy of `request`'s method, URI, version, headers and body.
    pub(crate) fn new(
        request: &http::Request<Bytes>,
        function_url: bool,
        replay: bool,
    ) -> HttpRequest {
        let mut copy = http::Request::new(request.body().clone());
        *copy.method_mut() = request.method().clone();
        *copy.uri_mut() = request.uri().clone();
        *copy.version_mut() = request.version();
        *copy.headers_mut() = request.headers().clone();
        HttpRequest {
            request: Arc::new(copy),
            function_url,
            replay,
        }
    }

    /// The bytes it holds: body, URI and headers.
    pub(crate) fn size(&self) -> usize {
        let headers: usize = self
            .request
            .headers()
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        self.request.body().len() + self.request.uri().to_string().len() + headers
    }

    /// "replay of " for a replay.
    fn prefix(&self) -> &'static str {
        if self.replay { "replay of " } else { "" }
    }
}

/// The same request (not merely an equal one).
impl PartialEq for HttpRequest {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.request, &other.request)
            && (self.function_url, self.replay) == (other.function_url, other.replay)
    }
}

impl Eq for HttpRequest {}

impl Trigger {
    /// The HTTP request behind an API Gateway or function URL invocation.
    pub(crate) fn http_request(&self) -> Option<&HttpRequest> {
        match self {
            Trigger::Route(_, request) | Trigger::FunctionUrl(request) => Some(request),
            _ => None,
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trigger::Invoke {
                asynchronous: false,
            } => f.write_str("Invoke API"),
            Trigger::Invoke { asynchronous: true } => f.write_str("Invoke API (Event)"),
            Trigger::Route(key, request) => write!(f, "{}API Gateway {key}", request.prefix()),
            Trigger::FunctionUrl(request) => write!(f, "{}function URL", request.prefix()),
            Trigger::Authorizer => f.write_str("API Gateway authorizer"),
            #[cfg(feature = "websocket")]
            Trigger::WebSocket(key) => write!(f, "WebSocket {key}"),
            Trigger::Replay => f.write_str("replay"),
            #[cfg(feature = "schedules")]
            Trigger::Schedule(name) => write!(f, "schedule {name}"),
            #[cfg(feature = "sqs")]
            Trigger::Queue(name) => write!(f, "SQS {name}"),
            Trigger::Destination => f.write_str("destination"),
            #[cfg(feature = "workflows")]
            Trigger::Workflow => f.write_str("Step Functions"),
        }
    }
}

impl Invocation {
    /// An invocation of `payload` by `trigger`, with a new request id and trace header, and no
    /// context.
    pub(crate) fn new(payload: Bytes, trigger: Trigger) -> Invocation {
        Invocation {
            trigger,
            request_id: crate::ids::uuid().to_string(),
            payload,
            trace_id: new_trace_id(),
            client_context: None,
            cognito_identity: None,
            stream: None,
        }
    }
}

/// An X-Ray trace header for a request that came without one.
pub(crate) fn new_trace_id() -> String {
    let root = crate::ids::trace_root(std::time::SystemTime::now());
    format!("{root};Parent={};Sampled=0", crate::ids::hex(16))
}

/// What the caller gets back.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The function's response.
    Success(Bytes),
    /// An error JSON; the caller sees `X-Amz-Function-Error: Unhandled`.
    Unhandled(Bytes),
}

/// An invocation's outcome and the tail of its log.
#[derive(Debug)]
pub(crate) struct InvokeResult {
    pub(crate) outcome: Outcome,
    pub(crate) log_tail: String,
    /// Which instance ran it and its REPORT's numbers; `None` for answers made without one.
    pub(crate) report: Option<RunReport>,
}

/// Which instance ran an invocation, and what its REPORT line says.
#[derive(Debug)]
pub(crate) struct RunReport {
    /// The runtime's process id (`None` in local mode).
    pub(crate) instance: Option<u32>,
    pub(crate) metrics: ReportMetrics,
}

/// Why an invocation was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Over one of Lambda's concurrency limits.
    Throttled(Limit),
    /// Admitted, but no instance became free within the wait (the local instance cap).
    NoInstance,
    /// The emulator is stopping.
    ShuttingDown,
    /// The emulator failed (a bug); logged where it happened.
    Internal,
}

/// Which of Lambda's limits throttled an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// The function's reserved concurrency.
    Reserved,
    /// The account's unreserved pool.
    Account,
}

impl Limit {
    /// The 429's `Reason` (`ThrottleReason` in the Invoke API reference).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Limit::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
            Limit::Account => "ConcurrentInvocationLimitExceeded",
        }
    }
}
