//! What an execution needs from its host: a way to invoke functions, a clock, and the task
//! tokens of `.waitForTaskToken` tasks waiting for `SendTaskSuccess`/`Failure`/`Heartbeat`.

use crate::error::StatesError;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

/// Invokes a function for a Task state.
pub trait Invoker: Send + Sync {
    /// Invokes `function` (a name, a full or partial ARN, with an optional qualifier) with
    /// `payload`: `Ok` with its result, or `Err` with the error name (a Lambda error's
    /// `errorType`, `Lambda.ResourceNotFoundException`, …) and cause.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, StatesError>>;
}

/// Time for Wait states, retry delays and timeouts, injectable so tests need not wait.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// A future that completes after `duration` (without holding a thread).
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
    /// A random delay in `[0, max]` (`JitterStrategy: FULL`).
    fn jitter(&self, max: Duration) -> Duration {
        max.mul_f64(fastrand::f64())
    }
}

/// The clock of tokio's timer: real time, or virtual time under a paused runtime
/// (`#[tokio::test(start_paused = true)]`), where sleeps complete as soon as all is idle.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: SystemTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading the system time now, then advancing with tokio's timer.
    pub fn new() -> Self {
        Self {
            base: SystemTime::now(),
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.base + self.start.elapsed()
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// What a task token receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// `SendTaskSuccess` with the task's output.
    Success(Value),
    /// `SendTaskFailure` with its error and cause.
    Failure(StatesError),
    /// `SendTaskHeartbeat`.
    Heartbeat,
}

/// Why a signal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No task waits for this token (never issued, or its task is over).
    #[error("Task Token not found or the task is no longer waiting")]
    Unknown,
}

/// The task tokens of tasks waiting for a callback.
#[derive(Default)]
pub struct Callbacks {
    waiting: Mutex<HashMap<String, mpsc::Sender<Signal>>>,
}

impl fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks").finish_non_exhaustive()
    }
}

/// A registered token; dropping it forgets the token.
pub(crate) struct Waiting<'a> {
    callbacks: &'a Callbacks,
    /// The token to hand out (`$$.Task.Token`).
    pub(crate) token: String,
    /// Signals sent to it.
    pub(crate) signals: mpsc::Receiver<Signal>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.callbacks
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}

impl Callbacks {
    /// Sends a signal to the task waiting for `token`.
    pub fn send(&self, token: &str, signal: Signal) -> Result<(), TokenError> {
        let sender = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(token)
            .cloned();
        let sender = sender.ok_or(TokenError::Unknown)?;
        // A full queue already holds a signal the task will act on; a heartbeat may be dropped.
        match sender.try_send(signal) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(TokenError::Unknown),
        }
    }

    pub(crate) fn wait(&self) -> Waiting<'_> {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let (sender, signals) = mpsc::channel(4);
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), sender);
        Waiting {
            callbacks: self,
            token,
            signals,
        }
    }
}

/// Everything an execution runs against.
#[derive(Clone)]
pub struct Env {
    /// Invokes Task states' functions.
    pub invoker: Arc<dyn Invoker>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Task tokens.
    pub callbacks: Arc<Callbacks>,
    /// Distributed Maps' Map Runs and their child executions.
    pub map_runs: Arc<crate::map_run::MapRuns>,
    /// The region in ARNs and events.
    pub region: String,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}
