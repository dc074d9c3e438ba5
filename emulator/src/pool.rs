//! Functions and their instances: cold starts on demand, warm reuse (idle instances frozen),
//! idle reaping, each invocation admitted by the function's [concurrency](crate::concurrency).
//! An instance takes one invocation at a time, or as many as its function's
//! `max_concurrency` (Lambda Managed Instances): an invocation goes to an instance with room
//! before a new one is started.

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
            let (result, recorder) = match &function {
                Function::Pool(pool) => (pool.invoke(&invocation, queue).await, &pool.recorder),
                Function::Local(local) => (local.invoke(&invocation, queue).await, &local.recorder),
            };
            recorder.record(&function.config(), &invocation, asked, &result);
            result
        });
        task.await.unwrap_or_else(|error| {
            tracing::error!(%error, "invocation task failed");
            Err(Refused::Internal)
        })
    }

    /// How many invocations run now (an instance of a function with several invocations per
    /// instance may run more than one): its used concurrency.
    pub(crate) fn running(&self) -> usize {
        match self {
            Function::Pool(pool) => pool.entries().iter().map(|entry| entry.running).sum(),
            Function::Local(local) => usize::from(local.instance.try_lock().is_err()),
        }
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
    /// Running an invocation (or several).
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
    /// Live instances, busy or idle; the most recently idle last.
    instances: Mutex<Vec<Entry>>,
    /// Held while an instance of a function running several invocations per instance starts,
    /// so that a burst of invocations shares one new instance instead of starting one each.
    starting: tokio::sync::Mutex<()>,
    /// The emulator's concurrency limits and counts, shared by every pool.
    concurrency: Arc<Concurrency>,
    closing: watch::Receiver<bool>,
    /// No longer served (deleted): instances stop once their invocation is done.
    retired: AtomicBool,
    /// Where its invocations are recorded (the emulator's recorder).
    recorder: Arc<Recorder>,
}

/// An instance in its pool.
#[derive(Debug)]
struct Entry {
    instance: Arc<Instance>,
    /// Invocations it runs now.
    running: usize,
    /// When it last finished its last invocation.
    idle_since: Instant,
}

impl Entry {
    fn busy(instance: Arc<Instance>) -> Entry {
        Entry {
            instance,
            running: 1,
            idle_since: Instant::now(),
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
            current: RwLock::new((0, Arc::new(config))),
            instances: Mutex::new(Vec::new()),
            starting: tokio::sync::Mutex::new(()),
            closing,
            retired: AtomicBool::new(false),
        }
    }

    fn current(&self) -> (u64, Arc<FunctionConfig>) {
        let current = read(&self.current);
        (current.0, current.1.clone())
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        lock(&self.instances)
    }

    /// Takes the idle instances for which `stale` holds out of the pool.
    fn take_idle(&self, stale: impl Fn(&Entry) -> bool) -> Vec<Arc<Instance>> {
        let mut instances = self.entries();
        let (taken, kept) = std::mem::take(&mut *instances)
            .into_iter()
            .partition(|entry| entry.running == 0 && stale(entry));
        *instances = kept;
        taken.into_iter().map(|entry| entry.instance).collect()
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
            Ok(instance) => instance.wait_ready(INIT_TIMEOUT).await.then(|| {
                instance.park();
                instance
            }),
            Err(error) => {
                tracing::warn!(function = %config.name, %error, "the new version did not start");
                None
            }
        };
        *write(&self.current) = (version, config);
        // Busy instances of the old version leave the pool as their invocations end.
        let stale = self.take_idle(|_| true);
        if let Some(warm) = warm {
            self.entries().push(Entry {
                running: 0,
                ..Entry::busy(Arc::new(warm))
            });
        }
        shut_down(stale);
    }

    /// The instances: process id and state.
    pub(crate) fn instances(&self) -> Vec<(Option<u32>, InstanceState)> {
        // Functions with several invocations per instance are never frozen (`Instance::park`).
        let idle = if self.config().per_instance() > 1 {
            InstanceState::Warm
        } else {
            InstanceState::Frozen
        };
        self.entries()
            .iter()
            .map(|entry| {
                let state = if entry.running > 0 {
                    InstanceState::Busy
                } else {
                    idle
                };
                (entry.instance.pid(), state)
            })
            .collect()
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
        let per_instance = config.per_instance();
        let _lease = tokio::select! {
            lease = self.concurrency.acquire(&config.name, queue, wait, per_instance) => lease?,
            () = closed(&mut closing) => return Err(Refused::ShuttingDown),
        };
        loop {
            // Each round either drops a warm instance that vanished or starts a new one, which
            // cannot vanish (it was never warm): this ends.
            let instance = match self.warm(version) {
                Some(instance) => instance,
                None => match self.start(&config, version).await {
                    Ok(instance) => instance,
                    Err(error) => return Ok(spawn_failed(&config, &invocation.request_id, &error)),
                },
            };
            let ran = instance
                .invoke(invocation, INIT_TIMEOUT, &mut closing)
                .await;
            let reusable = matches!(ran, Ok(Ran::Done { reusable: true, .. }));
            self.release(&instance, reusable);
            match ran? {
                Ran::Done { result, .. } => return Ok(result),
                Ran::Vanished => {}
            }
        }
    }

    /// A new instance of `config` (`version`) with this invocation counted in; for a function
    /// running several invocations per instance, one started meanwhile with room, if any.
    async fn start(
        &self,
        config: &Arc<FunctionConfig>,
        version: u64,
    ) -> std::io::Result<Arc<Instance>> {
        let _starting = if config.per_instance() > 1 {
            let starting = self.starting.lock().await;
            if let Some(instance) = self.warm(version) {
                return Ok(instance);
            }
            Some(starting)
        } else {
            None
        };
        let instance = Arc::new(Instance::spawn(config.clone(), version).await?);
        self.entries().push(Entry::busy(instance.clone()));
        Ok(instance)
    }

    /// A live instance of `version` with room for one more invocation, counted in; the most
    /// recently idle first. Dead or outdated idle instances are dropped on the way.
    fn warm(&self, version: u64) -> Option<Arc<Instance>> {
        let mut instances = self.entries();
        instances.retain(|entry| {
            let keep = entry.running > 0
                || (entry.instance.version() == version && entry.instance.is_alive());
            if !keep {
                tracing::debug!(function = %self.config().name, "discarding a dead or outdated idle instance");
            }
            keep
        });
        let entry = instances.iter_mut().rev().find(|entry| {
            entry.instance.version() == version && entry.running < entry.instance.capacity()
        })?;
        entry.running += 1;
        Some(entry.instance.clone())
    }

    /// An invocation on `instance` ended. The instance goes idle (parked) once it runs none,
    /// or leaves the pool if it may not serve again (not `reusable`, outdated, the pool
    /// closing); invocations still running on it finish first.
    fn release(&self, instance: &Arc<Instance>, reusable: bool) {
        let closing = *self.closing.borrow() || self.retired.load(Ordering::Acquire);
        let current = self.current().0;
        let mut instances = self.entries();
        let Some(at) = instances
            .iter()
            .position(|entry| Arc::ptr_eq(&entry.instance, instance))
        else {
            return;
        };
        if !reusable || instance.version() != current || closing {
            // Stopped once its last invocation lets go of it.
            instances.remove(at);
            return;
        }
        let entry = &mut instances[at];
        entry.running = entry.running.saturating_sub(1);
        if entry.running == 0 {
            entry.idle_since = Instant::now();
            instance.park();
            let entry = instances.remove(at);
            instances.push(entry);
        }
    }

    /// Stops instances idle for longer than the keep-alive.
    pub(crate) fn reap(&self) {
        let keep_alive = self.config().keep_alive;
        let expired = self.take_idle(|entry| entry.idle_since.elapsed() >= keep_alive);
        if !expired.is_empty() {
            tracing::debug!(function = %self.config().name, count = expired.len(), "reaping idle instances");
        }
        shut_down(expired);
    }

    /// Stops every idle instance and waits until their processes are gone (busy ones stop when
    /// they see `closing`).
    pub(crate) async fn drain(&self) {
        let idle = self.take_idle(|_| true);
        let mut ending = tokio::task::JoinSet::new();
        for instance in idle {
            ending.spawn(async move { instance.shut_down().await });
        }
        while ending.join_next().await.is_some() {}
    }

    /// Stops serving: idle instances stop now, busy ones once their invocation is done.
    #[cfg(feature = "manage")]
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
        shut_down(self.take_idle(|_| true));
    }
}

/// Ends `instances` with their shutdown phase ([`Instance::shut_down`]), in the background.
fn shut_down(instances: Vec<Arc<Instance>>) {
    for instance in instances {
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
        let instance = tokio::time::timeout(bound, self.instance.lock())
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
