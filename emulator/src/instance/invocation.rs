//! What an instance is asked to run and what comes back: the vocabulary shared by the instance,
//! the pool, the queues and the front.

use bytes::Bytes;

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
}

impl Invocation {
    /// An invocation of `payload` with a new request id and trace header, and no context.
    #[cfg_attr(not(feature = "schedules"), allow(dead_code))] // event sources only
    pub(crate) fn new(payload: Bytes) -> Invocation {
        Invocation {
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
