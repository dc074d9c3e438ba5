//! Functions and their instances: cold starts on demand, warm reuse (idle instances frozen),
//! idle reaping, each invocation admitted by the function's [concurrency](crate::concurrency).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde_json::json;
use tokio::sync::watch;

use crate::concurrency::Concurrency;
use crate::config::FunctionConfig;
use crate::instance::{
    self, INIT_TIMEOUT, Instance, Invocation, InvokeResult, Limit, Outcome, Ran, Refused,
};
use crate::recorder::Recorder;
use crate::sync::{closed, lock, read, write};

/// How many invocations' worth of time (init and timeout) a synchronous caller waits for an
/// instance when the function has every instance the local cap allows.
const LOCAL_WAIT_ROUNDS: u32 = 4;

/// A function as the front sees it.
#[derive(Debug, Clone)]
pub(crate) enum Function {
    /// Instances are child processes.
    Pool(Arc<Pool>),
    /// The one instance is the current process (local mode).
    Local(Arc<Local>),
}

impl Function {
    /// The function's current configuration.
    pub(crate) fn config(&self) -> Arc<FunctionConfig> {
        match self {
            Function::Pool(pool) => pool.config(),
            Function::Local(local) => local.config.clone(),
        }
    }

    /// Sets how the function's URL answers (CreateFunctionUrlConfig, UpdateFunctionUrlConfig).
    /// A function serving itself (local mode) has no function URL: nothing to set.
    #[cfg(feature = "manage")]
    pub(crate) fn set_url_invoke_mode(&self, mode: crate::config::InvokeMode) {
        if let Function::Pool(pool) = self {
            pool.set_url_invoke_mode(mode);
        }
    }

    /// Runs `invocation`. With `queue` (asynchronous invocations) it waits for a free instance
    /// instead of being throttled. Every invocation, run or refused, is
    /// [recorded](Recorder::record).
    ///
    /// The invocation runs in its own task, so a caller that hangs up does not kill an instance
    /// mid-invocation (and the invocation is still recorded).
    pub(crate) async fn invoke(
        &self,
        invocation: Invocation,
        queue: bool,
    ) -> Result<InvokeResult, Refused> {
        let function = self.clone();
        let asked = SystemTime::now();
        let task = tokio::spawn(async move {
            let result = match &function {
                Function::Pool(pool) => pool.invoke(&invocation, queue).await,
                Function::Local(local) => local.invoke(&invocation, queue).await,
            };
            let recorder = match &function {
                Function::Pool(pool) => &pool.recorder,
                Function::Local(local) => &local.recorder,
            };
            recorder.record(&function.config(), &invocation, asked, &result);
            result
        });
        task.await.unwrap_or_else(|error| {
            tracing::error!(%error, "invocation task failed");
            Err(Refused::Internal)
        })
    }

    /// The function's instances now: process id (none in local mode) and state.
    pub(crate) fn instances(&self) -> Vec<(Option<u32>, InstanceState)> {
        match self {
            Function::Pool(pool) => pool.instances(),
            Function::Local(local) => {
                let state = match local.instance.try_lock() {
                    Ok(_) => InstanceState::Warm,
                    Err(_) => InstanceState::Busy,
                };
                vec![(None, state)]
            }
        }
    }
}

/// What an instance is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InstanceState {
    /// Running an invocation.
    Busy,
    /// Idle and running (functions with several invocations per instance, local mode).
    Warm,
    /// Idle, its processes frozen until the next invocation.
    Frozen,
}

impl InstanceState {
    /// Its name on the dashboard.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            InstanceState::Busy => "busy",
            InstanceState::Warm => "warm",
            InstanceState::Frozen => "frozen",
        }
    }
}

/// The child-process instances of one function.
#[derive(Debug)]
pub(crate) struct Pool {
    /// The configuration new instances start with, and its version number.
    current: RwLock<(u64, Arc<FunctionConfig>)>,
    /// Warm instances, most recently used last.
    idle: Mutex<Vec<Instance>>,
    /// The emulator's concurrency limits and counts, shared by every pool.
    concurrency: Arc<Concurrency>,
    closing: watch::Receiver<bool>,
    /// No longer served (deleted): instances stop once their invocation is done.
    retired: AtomicBool,
    /// The process ids of the instances running an invocation.
    busy: Mutex<Vec<Option<u32>>>,
    /// Where its invocations are recorded (the emulator's recorder).
    recorder: Arc<Recorder>,
}

/// Lists an instance as busy in its pool while it lives.
struct BusyGuard<'a> {
    pool: &'a Pool,
    pid: Option<u32>,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        let mut busy = lock(&self.pool.busy);
        if let Some(at) = busy.iter().position(|pid| *pid == self.pid) {
            busy.swap_remove(at);
        }
    }
}

impl Pool {
    pub(crate) fn new(
        config: FunctionConfig,
        closing: watch::Receiver<bool>,
        concurrency: Arc<Concurrency>,
        recorder: Arc<Recorder>,
    ) -> Pool {
        Pool {
            concurrency,
            recorder,
            busy: Mutex::default(),
            current: RwLock::new((0, Arc::new(config))),
            idle: Mutex::new(Vec::new()),
            closing,
            retired: AtomicBool::new(false),
        }
    }

    fn current(&self) -> (u64, Arc<FunctionConfig>) {
        let current = read(&self.current);
        (current.0, current.1.clone())
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Instance>> {
        lock(&self.idle)
    }

    pub(crate) fn config(&self) -> Arc<FunctionConfig> {
        self.current().1
    }

    /// Sets how the function's URL answers. Instances are not concerned: they keep running.
    #[cfg(feature = "manage")]
    pub(crate) fn set_url_invoke_mode(&self, mode: crate::config::InvokeMode) {
        let mut current = write(&self.current);
        let mut config = (*current.1).clone();
        config.url_invoke_mode = mode;
        current.1 = Arc::new(config);
    }

    /// Switches to a new configuration (e.g. a rebuilt executable). An instance of it is started
    /// first and traffic moves over once it has initialised (polled `/next`), so no request
    /// waits for the new version's cold start; if it cannot initialise, traffic moves anyway and
    /// the next request reports why. Idle instances of the old version are stopped, busy ones
    /// finish and are then stopped. The function's concurrency is not the configuration's: it is
    /// kept apart, for all its versions (see [`Concurrency`]).
    pub(crate) async fn replace(&self, config: FunctionConfig) {
        let config = Arc::new(config);
        let version = self.current().0 + 1;
        let warm = match Instance::spawn(config.clone(), version).await {
            Ok(mut instance) => instance.wait_ready(INIT_TIMEOUT).await.then(|| {
                instance.park();
                instance
            }),
            Err(error) => {
                tracing::warn!(function = %config.name, %error, "the new version did not start");
                None
            }
        };
        *write(&self.current) = (version, config);
        let stale = std::mem::replace(&mut *self.idle(), warm.into_iter().collect());
        shut_down(stale);
    }

    /// The instances: busy ones, then idle ones.
    fn instances(&self) -> Vec<(Option<u32>, InstanceState)> {
        // Functions with several invocations per instance are never frozen (`Instance::park`).
        let idle = if self.config().max_concurrency > 1 {
            InstanceState::Warm
        } else {
            InstanceState::Frozen
        };
        let busy = lock(&self.busy)
            .iter()
            .map(|pid| (*pid, InstanceState::Busy))
            .collect::<Vec<_>>();
        let idle = self
            .idle()
            .iter()
            .map(|i| (i.pid(), idle))
            .collect::<Vec<_>>();
        busy.into_iter().chain(idle).collect()
    }

    async fn invoke(&self, invocation: &Invocation, queue: bool) -> Result<InvokeResult, Refused> {
        let (version, config) = self.current();
        // Over the local instance cap a synchronous caller waits about as long as the
        // invocations ahead of it may take; a queued one as long as it takes.
        let wait = if queue {
            Duration::MAX
        } else {
            (INIT_TIMEOUT + config.timeout).saturating_mul(LOCAL_WAIT_ROUNDS)
        };
        let mut closing = self.closing.clone();
        let _lease = tokio::select! {
            lease = self.concurrency.acquire(&config.name, queue, wait) => lease?,
            () = closed(&mut closing) => return Err(Refused::ShuttingDown),
        };
        let mut instance = self.warm(version);
        loop {
            let mut running = match instance.take() {
                Some(instance) => instance,
                None => match Instance::spawn(config.clone(), version).await {
                    Ok(instance) => instance,
                    Err(error) => return Ok(spawn_failed(&config, &invocation.request_id, &error)),
                },
            };
            let busy = self.busy(running.pid());
            let ran = running.invoke(invocation, INIT_TIMEOUT, &mut closing).await;
            drop(busy);
            let (result, reusable) = match ran? {
                Ran::Done { result, reusable } => (result, reusable),
                // A new instance cannot vanish (it was never warm): this loops at most once.
                Ran::Vanished => continue,
            };
            let closing = *closing.borrow() || self.retired.load(Ordering::Acquire);
            if reusable && running.version() == self.current().0 && !closing {
                running.idle_since = Instant::now();
                running.park();
                self.idle().push(running);
            }
            return Ok(result);
        }
    }

    /// Lists `pid` as busy until the guard is dropped.
    fn busy(&self, pid: Option<u32>) -> BusyGuard<'_> {
        lock(&self.busy).push(pid);
        BusyGuard { pool: self, pid }
    }

    /// The most recently used idle instance of `version` that is still alive.
    fn warm(&self, version: u64) -> Option<Instance> {
        loop {
            let mut instance = self.idle().pop()?;
            if instance.version() == version && instance.is_alive() {
                return Some(instance);
            }
            tracing::debug!(function = %self.config().name, "discarding a dead or outdated idle instance");
        }
    }

    /// Stops instances idle for longer than the keep-alive.
    pub(crate) fn reap(&self) {
        let keep_alive = self.config().keep_alive;
        let expired: Vec<Instance> = {
            let mut idle = self.idle();
            let (expired, warm) = std::mem::take(&mut *idle)
                .into_iter()
                .partition(|i| i.idle_since.elapsed() >= keep_alive);
            *idle = warm;
            expired
        };
        if !expired.is_empty() {
            tracing::debug!(function = %self.config().name, count = expired.len(), "reaping idle instances");
        }
        shut_down(expired);
    }

    /// Stops every idle instance and waits until their processes are gone (busy ones stop when
    /// they see `closing`).
    pub(crate) async fn drain(&self) {
        let idle = std::mem::take(&mut *self.idle());
        let mut ending = tokio::task::JoinSet::new();
        for mut instance in idle {
            ending.spawn(async move { instance.shut_down().await });
        }
        while ending.join_next().await.is_some() {}
    }

    /// Stops serving: idle instances stop now, busy ones once their invocation is done.
    #[cfg(feature = "manage")]
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        shut_down(std::mem::take(&mut *self.idle()));
    }
}

/// Ends `instances` with their shutdown phase ([`Instance::shut_down`]), in the background.
fn shut_down(instances: Vec<Instance>) {
    for mut instance in instances {
        tokio::spawn(async move { instance.shut_down().await });
    }
}

/// Lambda's answer when an instance cannot even start.
fn spawn_failed(config: &FunctionConfig, request_id: &str, error: &std::io::Error) -> InvokeResult {
    let message = format!(
        "RequestId: {request_id} Error: Couldn't start {}: {error}",
        config.executable.display()
    );
    instance::log_line(config, &message);
    let body = json!({ "errorType": "Runtime.InvalidEntrypoint", "errorMessage": message });
    InvokeResult {
        outcome: Outcome::Unhandled(Bytes::from(body.to_string())),
        log_tail: format!("{message}\n"),
        report: None,
    }
}

/// The single in-process instance of local mode.
#[derive(Debug)]
pub(crate) struct Local {
    config: Arc<FunctionConfig>,
    instance: tokio::sync::Mutex<Instance>,
    closing: watch::Receiver<bool>,
    recorder: Arc<Recorder>,
}

impl Local {
    pub(crate) fn new(
        instance: Instance,
        config: Arc<FunctionConfig>,
        closing: watch::Receiver<bool>,
        recorder: Arc<Recorder>,
    ) -> Local {
        Local {
            config,
            recorder,
            instance: tokio::sync::Mutex::new(instance),
            closing,
        }
    }

    /// How long a caller waits for the instance before getting 429: one timeout for the
    /// invocation ahead of it, plus a second of slack. Queued (asynchronous) callers wait
    /// forever.
    fn wait_bound(&self, queue: bool) -> Duration {
        if queue {
            Duration::MAX
        } else {
            self.config.timeout + Duration::from_secs(1)
        }
    }

    async fn invoke(&self, invocation: &Invocation, queue: bool) -> Result<InvokeResult, Refused> {
        let bound = self.wait_bound(queue);
        let started = Instant::now();
        let mut instance = tokio::time::timeout(bound, self.instance.lock())
            .await
            // Local mode's single instance is its function's whole (reserved) concurrency.
            .map_err(|_| Refused::Throttled(Limit::Reserved))?;
        let left = bound.saturating_sub(started.elapsed());
        let mut closing = self.closing.clone();
        match instance.invoke(invocation, left, &mut closing).await? {
            Ran::Done { result, .. } => Ok(result),
            // Only a child process exits; local mode's runtime loop runs in this process.
            Ran::Vanished => Err(Refused::Internal),
        }
    }
}
