//! Asynchronous (`Event`) invocations, queued and run as Lambda runs them.
//!
//! * **Bounded.** Each function has a queue holding at most [`QueueLimits`] (events and bytes,
//!   counting those waiting, waiting for a retry and running). A full queue answers 429
//!   `TooManyRequestsException`; the caller may retry, as it would when AWS throttles.
//! * **Dispatched.** A dispatcher per function drains its queue into the function's instances, at
//!   most as many at a time as the function may have instances locally; each attempt waits for
//!   a unit of the function's concurrency (reserved, or the account's unreserved pool), as AWS's
//!   queue holds events back while the function is at its
//!   limit. A function error is retried with the same request id as many times as the function's
//!   `MaximumRetryAttempts` says (2 unless set), after `event_retry_delay` (Lambda's minute) and
//!   then twice as long each time. A
//!   throttled attempt or an emulator failure goes back to the queue, not counted as a retry,
//!   after a wait growing from 1 second to 5 minutes. An event older than the function's
//!   maximum event age, or whose function was deleted, is discarded. Every discarded event
//!   gets a log line. (AWS: <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html>.)
//! * **Configured.** Retries (`MaximumRetryAttempts`), maximum age (`MaximumEventAgeInSeconds`)
//!   and destinations come from the function's configuration, or from the API at run time
//!   ([`settings`]).
//! * **Recorded.** A success goes to the `OnSuccess` destination, an event given up (retries
//!   exhausted, or too old) to the `OnFailure` destination, as AWS's invocation record
//!   ([`destination`]); an event given up goes to the dead-letter target too, as the event alone.
//!   A destination that is a local function gets the record as an asynchronous invocation of
//!   its own. Any other destination (an SQS queue, an SNS topic, an EventBridge bus, an S3
//!   bucket, a function not served here) is not reached locally: a log line says so and the
//!   record is written to `records/` in the event directory (without one, the log line holds
//!   the record).
//! * **Persistent.** With an event directory ([`Options::event_dir`](crate::Options::event_dir))
//!   every accepted event is a file there, written (temporary file, then rename) before the 202
//!   is sent and removed once the event is done (succeeded, given up, or discarded). When the
//!   emulator serves again from that directory, the events found are resumed with their request
//!   ids, ages and failed attempts. Events that had not run, and events that were running at
//!   shutdown, run again: like AWS's, asynchronous invocation is at-least-once. Without a
//!   directory events live in memory only, and those left at shutdown are lost (with a log line
//!   saying how many). The files survive the emulator being killed, not the machine crashing
//!   (they are not synced to disk).
//!
//! The queue's model: an event, its failed attempts, and one place where it ends
//! ([`Events::finish`]), which sends the records.

mod destination;
mod settings;
mod store;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument;

use crate::config::FunctionConfig;
use crate::instance::{Invocation, InvokeResult, Outcome, Refused, Trigger};
use crate::pool::Function;
use crate::registry::{FunctionKey, Registry};
use crate::sync::{closed, lock};
use destination::Condition;
#[cfg(feature = "manage")]
pub(crate) use settings::Current;
use settings::Settings;
use store::Store;

/// How much one function's asynchronous queue holds: events waiting to run, waiting for a retry,
/// and running. Past either limit, new `Event` invocations of the function get 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most events (default 10,000).
    pub max_events: usize,
    /// Most payload bytes (default 64 MiB: 64 of the largest, 1 MB, events).
    pub max_bytes: usize,
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_events: 10_000,
            max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// First wait before a throttled event is tried again; it doubles up to [`MAX_BACKOFF`] (AWS:
/// "from 1 second after the first attempt to a maximum of 5 minutes").
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Largest record sent to a local function: the limit of an `Event` invocation's payload
/// (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>). A larger one is
/// kept like a record for a destination that is not local.
const MAX_RECORD_BYTES: usize = 1_048_576;

/// Why an event was not accepted.
#[derive(Debug)]
pub(crate) enum Rejected {
    /// The function's queue is full.
    Full,
    /// The emulator is stopping.
    ShuttingDown,
    /// The event could not be written to the event directory.
    Store(io::Error),
}

/// An accepted event and what happened to it so far.
#[derive(Debug)]
struct Event {
    /// The function (at a version) the event is for.
    key: FunctionKey,
    invocation: Invocation,
    enqueued: SystemTime,
    /// Attempts that ended in a function error.
    failures: u32,
    /// Attempts in a row that could not run (throttled, emulator failure); not persisted.
    refusals: u32,
    /// The error the last failed attempt answered, for the failure record; not persisted.
    last_error: Option<Bytes>,
}

impl Event {
    fn age(&self) -> Duration {
        self.enqueued.elapsed().unwrap_or_default()
    }

    fn size(&self) -> usize {
        self.invocation.payload.len()
    }
}

/// How an event left the queue.
#[derive(Debug, Clone)]
enum Ending {
    /// With the function's response.
    Succeeded(Bytes),
    /// Failed on its last retry.
    Failed,
    /// Older than its function's maximum event age.
    Expired,
    /// Its function was deleted.
    Orphaned,
}

/// One function's queue. It exists while it holds events; its dispatcher runs as long.
#[derive(Debug)]
struct Queue {
    ready: VecDeque<Event>,
    /// Events accepted and not yet done (ready, waiting for a retry, or running).
    held: usize,
    held_bytes: usize,
    /// Wakes the dispatcher: an event is ready, or one is done.
    wake: Arc<Notify>,
}

/// The asynchronous queues of every function, and where events are kept.
#[derive(Debug)]
pub(crate) struct Events {
    registry: Arc<Registry>,
    closing: watch::Receiver<bool>,
    limits: Mutex<QueueLimits>,
    store: Mutex<Option<Arc<Store>>>,
    queues: Mutex<HashMap<FunctionKey, Queue>>,
    settings: Settings,
}

impl Events {
    pub(crate) fn new(registry: Arc<Registry>, closing: watch::Receiver<bool>) -> Events {
        Events {
            registry,
            closing,
            limits: Mutex::new(QueueLimits::default()),
            store: Mutex::new(None),
            queues: Mutex::new(HashMap::new()),
            settings: Settings::new(),
        }
    }

    /// The asynchronous invocation settings of `key` (configuration `config`), `None` when none
    /// are set.
    #[cfg(feature = "manage")]
    pub(crate) fn invoke_config(
        &self,
        key: &FunctionKey,
        config: &FunctionConfig,
    ) -> Option<Current> {
        self.settings.get(key, config)
    }

    /// Sets (`None`: removes) the asynchronous invocation settings of `key` from now on.
    #[cfg(feature = "manage")]
    pub(crate) fn set_invoke_config(
        &self,
        key: FunctionKey,
        config: Option<crate::config::EventInvokeConfig>,
    ) {
        self.settings.set(key, config);
    }

    /// The versions of `name` whose settings were changed at run time.
    #[cfg(feature = "manage")]
    pub(crate) fn invoke_config_changed(&self, name: &str) -> Vec<FunctionKey> {
        self.settings.changed_versions(name)
    }

    /// Forgets the run-time settings of every version of `name` (the function was deleted).
    #[cfg(feature = "manage")]
    pub(crate) fn forget(&self, name: &str) {
        self.settings.forget(name);
    }

    /// Keeps events under `dir` from now on (created 0700 if missing). Fails when another
    /// emulator uses it.
    pub(crate) fn set_dir(&self, dir: PathBuf) -> io::Result<()> {
        let store = Store::open(dir)?;
        *lock(&self.store) = Some(Arc::new(store));
        Ok(())
    }

    pub(crate) fn set_limits(&self, limits: QueueLimits) {
        *lock(&self.limits) = limits;
    }

    fn store(&self) -> Option<Arc<Store>> {
        lock(&self.store).clone()
    }

    /// Accepts an event for the function registered under `key`: once this returns `Ok`, it is
    /// queued, and written to the event directory if there is one.
    pub(crate) async fn enqueue(
        self: &Arc<Self>,
        key: FunctionKey,
        mut invocation: Invocation,
    ) -> Result<(), Rejected> {
        if *self.closing.borrow() {
            return Err(Rejected::ShuttingDown);
        }
        // An exact-size copy: the body may sit in a larger buffer, and the limit counts bytes held.
        invocation.payload = Bytes::copy_from_slice(&invocation.payload);
        let event = Event {
            key,
            invocation,
            enqueued: SystemTime::now(),
            failures: 0,
            refusals: 0,
            last_error: None,
        };
        let limits = *lock(&self.limits);
        if !self.reserve(&event, Some(limits)) {
            return Err(Rejected::Full);
        }
        if let Some(store) = self.store() {
            if let Err(error) = store.write(&event).await {
                self.release(&event);
                return Err(Rejected::Store(error));
            }
        }
        self.push(event);
        Ok(())
    }

    /// Counts `event` in its queue (created, with its dispatcher, if needed), unless that would
    /// pass `limits`.
    fn reserve(self: &Arc<Self>, event: &Event, limits: Option<QueueLimits>) -> bool {
        let mut queues = lock(&self.queues);
        let queue = queues.entry(event.key.clone()).or_insert_with(|| {
            // One permit per attempt under way: no more than the function's instances; its
            // concurrency, which may change at run time, is the pool's to apply.
            let slots = Arc::new(Semaphore::new(
                self.registry
                    .concurrency()
                    .max_instances()
                    .min(Semaphore::MAX_PERMITS),
            ));
            let wake = Arc::new(Notify::new());
            let dispatcher = self
                .clone()
                .dispatch(event.key.clone(), slots, wake.clone());
            tokio::spawn(
                dispatcher.instrument(tracing::info_span!("events", function = %event.key)),
            );
            Queue {
                ready: VecDeque::new(),
                held: 0,
                held_bytes: 0,
                wake,
            }
        });
        let size = event.size();
        if let Some(limits) = limits {
            if queue.held >= limits.max_events
                || queue.held_bytes.saturating_add(size) > limits.max_bytes
            {
                return false;
            }
        }
        queue.held += 1;
        queue.held_bytes += size;
        true
    }

    /// Puts a reserved event (back) in its queue.
    fn push(&self, event: Event) {
        let mut queues = lock(&self.queues);
        // The reservation keeps the queue alive.
        if let Some(queue) = queues.get_mut(&event.key) {
            queue.ready.push_back(event);
            queue.wake.notify_one();
        }
    }

    /// Uncounts a reserved event.
    fn release(&self, event: &Event) {
        let mut queues = lock(&self.queues);
        if let Some(queue) = queues.get_mut(&event.key) {
            queue.held = queue.held.saturating_sub(1);
            queue.held_bytes = queue.held_bytes.saturating_sub(event.size());
            queue.wake.notify_one();
        }
    }

    /// Drains the queue of `key` into the function's instances until it is empty or the emulator
    /// closes; an empty queue is removed.
    async fn dispatch(self: Arc<Self>, key: FunctionKey, slots: Arc<Semaphore>, wake: Arc<Notify>) {
        let mut closing = self.closing.clone();
        loop {
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = closed(&mut closing) => return,
            };
            let event = loop {
                {
                    let mut queues = lock(&self.queues);
                    let Some(queue) = queues.get_mut(&key) else {
                        return;
                    };
                    if let Some(event) = queue.ready.pop_front() {
                        break event;
                    }
                    if queue.held == 0 {
                        queues.remove(&key);
                        return;
                    }
                }
                tokio::select! {
                    () = wake.notified() => {}
                    () = closed(&mut closing) => return,
                }
            };
            let Some(function) = self.registry.get(&key) else {
                self.finish(event, Ending::Orphaned, None).await;
                continue;
            };
            let config = function.config();
            if event.age() > self.settings.effective(&key, &config).maximum_event_age {
                self.finish(event, Ending::Expired, Some(&config)).await;
                continue;
            }
            let span = tracing::info_span!("event", request_id = %event.invocation.request_id);
            tokio::spawn(
                self.clone()
                    .attempt(function, event, permit)
                    .instrument(span),
            );
        }
    }

    /// Runs one attempt of `event`, then ends it or schedules the next.
    async fn attempt(
        self: Arc<Self>,
        function: Arc<Function>,
        mut event: Event,
        permit: OwnedSemaphorePermit,
    ) {
        let result = function.invoke(event.invocation.clone(), true).await;
        drop(permit);
        let config = function.config();
        let retries = self
            .settings
            .effective(&event.key, &config)
            .maximum_retry_attempts;
        let delay = match result {
            Ok(InvokeResult {
                outcome: Outcome::Success(response),
                ..
            }) => {
                let ending = Ending::Succeeded(response);
                return self.finish(event, ending, Some(&config)).await;
            }
            Ok(InvokeResult {
                outcome: Outcome::Unhandled(error),
                ..
            }) if event.failures < retries => {
                event.failures += 1;
                event.refusals = 0;
                event.last_error = Some(error);
                let delay = config
                    .event_retry_delay
                    .saturating_mul(2u32.saturating_pow(event.failures - 1));
                tracing::warn!(?delay, "asynchronous invocation failed; retrying");
                if let Some(store) = self.store() {
                    // So a restart does not grant it more retries.
                    if let Err(error) = store.write(&event).await {
                        tracing::warn!(%error, "cannot record the failed attempt");
                    }
                }
                delay
            }
            Ok(InvokeResult {
                outcome: Outcome::Unhandled(error),
                ..
            }) => {
                event.failures += 1;
                event.last_error = Some(error);
                return self.finish(event, Ending::Failed, Some(&config)).await;
            }
            // Left in the event directory, if any: it runs again at the next start.
            Err(Refused::ShuttingDown) => return,
            Err(refused) => {
                event.refusals += 1;
                let delay = FIRST_BACKOFF
                    .saturating_mul(2u32.saturating_pow(event.refusals - 1))
                    .min(MAX_BACKOFF);
                tracing::warn!(
                    ?refused,
                    ?delay,
                    "asynchronous invocation could not run; back to the queue"
                );
                delay
            }
        };
        let mut closing = self.closing.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => self.push(event),
            () = closed(&mut closing) => {}
        }
    }

    /// Ends an event: logged, its records sent (`config`: its function's, when it still
    /// exists), removed from the event directory, uncounted.
    async fn finish(
        self: &Arc<Self>,
        event: Event,
        ending: Ending,
        config: Option<&FunctionConfig>,
    ) {
        let request_id = event.invocation.request_id.as_str();
        match ending {
            Ending::Succeeded(_) => {}
            Ending::Failed => tracing::warn!(
                request_id,
                attempts = event.failures,
                "asynchronous invocation failed; giving up"
            ),
            Ending::Expired => tracing::warn!(
                request_id,
                age = ?event.age(),
                "asynchronous invocation discarded: older than the function's maximum event age"
            ),
            Ending::Orphaned => tracing::warn!(
                request_id,
                "asynchronous invocation discarded: its function no longer exists"
            ),
        }
        if let Some(config) = config {
            // Sent before the event's file goes: a record is never lost to a crash in between.
            self.send_records(&event, &ending, config).await;
        }
        if let Some(store) = self.store() {
            store
                .remove(std::slice::from_ref(&event.invocation.request_id))
                .await;
        }
        self.release(&event);
    }

    /// Sends the records an ending calls for: to the `OnSuccess` or `OnFailure` destination,
    /// and, for an event given up, the event to the dead-letter target.
    async fn send_records(
        self: &Arc<Self>,
        event: &Event,
        ending: &Ending,
        config: &FunctionConfig,
    ) {
        let settings = self.settings.effective(&event.key, config);
        let (condition, destination, response) = match ending {
            Ending::Succeeded(response) => (
                Condition::Success,
                settings.on_success.as_deref(),
                Some(response),
            ),
            Ending::Failed => (
                Condition::RetriesExhausted,
                settings.on_failure.as_deref(),
                event.last_error.as_ref(),
            ),
            Ending::Expired => (
                Condition::EventAgeExceeded,
                settings.on_failure.as_deref(),
                event.last_error.as_ref(),
            ),
            Ending::Orphaned => return,
        };
        if let Some(destination) = destination {
            let outcome = destination::Outcome {
                function_arn: format!("{}:{}", config.arn(), event.key.version()),
                version: event.key.version(),
                request_id: &event.invocation.request_id,
                condition,
                attempts: event.failures + u32::from(condition == Condition::Success),
                request: &event.invocation.payload,
                response,
            };
            let record = outcome.record(SystemTime::now()).to_string();
            let kind = if condition == Condition::Success {
                "OnSuccess"
            } else {
                "OnFailure"
            };
            self.deliver(event, kind, destination, Bytes::from(record))
                .await;
        }
        if condition != Condition::Success
            && let Some(target) = &config.dead_letter_target
        {
            let payload = event.invocation.payload.clone();
            self.deliver(event, "DeadLetter", target, payload).await;
        }
    }

    /// Sends `body` to `target` for `event` (`kind`: `OnSuccess`, `OnFailure`, `DeadLetter`):
    /// an asynchronous invocation of a local function, else a file in `records/` of the event
    /// directory, else (no directory) a log line holding it.
    async fn deliver(self: &Arc<Self>, event: &Event, kind: &str, target: &str, body: Bytes) {
        let request_id = event.invocation.request_id.as_str();
        let local = destination::function(target).filter(|key| self.registry.get(key).is_some());
        let why = match local {
            Some(_) if body.len() > MAX_RECORD_BYTES => "the record is larger than 1 MB",
            Some(key) => {
                let invocation = Invocation {
                    // One trace from the event to its record, as X-Ray shows it.
                    trace_id: event.invocation.trace_id.clone(),
                    ..Invocation::new(body.clone(), Trigger::Destination)
                };
                let record_id = invocation.request_id.clone();
                match self.enqueue(key, invocation).await {
                    Ok(()) => {
                        tracing::info!(
                            request_id,
                            destination = target,
                            record_request_id = record_id,
                            "{kind} record sent to a local function"
                        );
                        return;
                    }
                    Err(Rejected::Full) => "the destination's queue is full",
                    Err(Rejected::ShuttingDown) => "the emulator is stopping",
                    Err(Rejected::Store(_)) => "the destination's event could not be written",
                }
            }
            None => "it is not a function served here",
        };
        let Some(store) = self.store() else {
            tracing::warn!(
                request_id,
                destination = target,
                record = %String::from_utf8_lossy(&body),
                "{kind} record not delivered locally ({why}); no event directory to keep it"
            );
            return;
        };
        let name = format!("{}-{request_id}-{kind}.json", event.key.name());
        match store.write_record(name, body.clone()).await {
            Ok(path) => tracing::warn!(
                request_id,
                destination = target,
                file = %path.display(),
                "{kind} record not delivered locally ({why}); kept in a file"
            ),
            Err(error) => tracing::error!(
                request_id,
                destination = target,
                %error,
                record = %String::from_utf8_lossy(&body),
                "{kind} record not delivered locally ({why}) and could not be written"
            ),
        }
    }

    /// Queues the events found in the event directory, except those of functions that no longer
    /// exist and those past their maximum age, which are removed; each group is logged with a
    /// count.
    pub(crate) async fn resume(self: &Arc<Self>) {
        let Some(store) = self.store() else {
            return;
        };
        let loaded = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.load()).await
        };
        let (events, unreadable) = match loaded {
            Ok(Ok(loaded)) => loaded,
            Ok(Err(error)) => {
                tracing::error!(dir = %store.dir().display(), %error, "cannot read the event directory");
                return;
            }
            Err(error) => {
                tracing::error!(%error, "reading the event directory failed");
                return;
            }
        };
        let (mut resumed, mut expired, mut orphaned) = (0, Vec::new(), Vec::new());
        // Grouped for the counts below; removed before they are logged.
        for event in events {
            match self.registry.get(&event.key) {
                None => orphaned.push(event.invocation.request_id),
                Some(function)
                    if event.age()
                        > self
                            .settings
                            .effective(&event.key, &function.config())
                            .maximum_event_age =>
                {
                    self.send_records(&event, &Ending::Expired, &function.config())
                        .await;
                    expired.push(event.invocation.request_id);
                }
                Some(_) => {
                    // Accepted before: never refused for the limits.
                    self.reserve(&event, None);
                    self.push(event);
                    resumed += 1;
                }
            }
        }
        let discarded = [expired.as_slice(), orphaned.as_slice()].concat();
        store.remove(&discarded).await;
        let dir = store.dir().display();
        if resumed > 0 {
            tracing::info!(count = resumed, %dir, "resuming asynchronous invocations");
        }
        if !expired.is_empty() {
            tracing::warn!(
                count = expired.len(),
                %dir,
                "discarded asynchronous invocations older than their function's maximum event age"
            );
        }
        if !orphaned.is_empty() {
            tracing::warn!(
                count = orphaned.len(),
                %dir,
                "discarded asynchronous invocations of functions that no longer exist"
            );
        }
        if unreadable > 0 {
            tracing::warn!(count = unreadable, %dir, "left unreadable event files alone");
        }
    }

    /// Says what becomes of the events still held when the emulator stops.
    pub(crate) fn report_shutdown(&self) {
        let held: usize = lock(&self.queues).values().map(|q| q.held).sum();
        if held == 0 {
            return;
        }
        match self.store() {
            Some(store) => tracing::info!(
                count = held,
                dir = %store.dir().display(),
                "asynchronous invocations kept for the next start"
            ),
            None => tracing::warn!(
                count = held,
                "asynchronous invocations dropped at shutdown: no event directory is set"
            ),
        }
    }
}
