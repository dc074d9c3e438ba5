//! What an instance is asked to run and what comes back: the vocabulary shared by the instance,
//! the pool, the queues and the front.

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
    Route(String),
    /// A function URL.
    FunctionUrl,
    /// An API Gateway Lambda authorizer.
    Authorizer,
    /// A WebSocket API route (its route key, `$connect`).
    #[cfg(feature = "websocket")]
    WebSocket(String),
    /// The dashboard's replay of an earlier invocation.
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

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trigger::Invoke {
                asynchronous: false,
            } => f.write_str("Invoke API"),
            Trigger::Invoke { asynchronous: true } => f.write_str("Invoke API (Event)"),
            Trigger::Route(key) => write!(f, "API Gateway {key}"),
            Trigger::FunctionUrl => f.write_str("function URL"),
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
            request_id: uuid::Uuid::new_v4().to_string(),
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
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let root = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &root[..24],
        &parent[..16]
    )
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
