//! The Telemetry API and the older Logs API: extensions subscribe to an instance's platform
//! events and its function's and extensions' output, and get them as JSON batches posted to a
//! listener of theirs inside the sandbox.
//!
//! * [`subscription`] reads and checks a subscription request (`PUT /2022-07-01/telemetry`,
//!   `PUT /2020-08-15/logs`; the handlers are in `runtime_api/telemetry.rs`).
//! * [`schema`] has the records each API delivers, written from the instance's [`Event`]s.
//! * [`delivery`] buffers each subscription's records and posts them (the only HTTP here is that
//!   client).
//!
//! Each instance has one [`Telemetry`]. The instance emits events where it writes its log
//! (START, END, REPORT, the function's lines); with no subscriber, emitting is one atomic load.
//! AWS: <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html>.

mod delivery;
pub(crate) mod schema;
pub(crate) mod subscription;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use delivery::Subscriber;
pub(crate) use schema::{Api, Event, ReportMetrics, Status, Stream};
use subscription::Subscription;

use crate::sync::lock;

/// The Telemetry and Logs API subscriptions of one instance.
#[derive(Debug, Default)]
pub(crate) struct Telemetry {
    /// Someone subscribed: the one check on the hot path.
    active: AtomicBool,
    subscribers: Mutex<Vec<Subscriber>>,
    origin: OnceLock<Origin>,
    /// The init phase ended (the runtime's first `/next`, or a failed init): subscriptions are
    /// closed.
    init_done: AtomicBool,
}

/// What the instance tells its telemetry when it starts.
#[derive(Debug)]
struct Origin {
    function_name: String,
    function_version: String,
    /// When the init started.
    at: SystemTime,
    /// The function logs JSON: its lines that are objects are delivered as objects.
    json_logs: bool,
}

/// Why a subscription is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The extension already subscribed through the other API ("After subscribing using one of
    /// these APIs, any attempt to subscribe using the other API returns an error",
    /// <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html>).
    OtherApi,
    /// The init phase is over: "After the initialization phase completes, Lambda does not
    /// process subscription requests" (same page).
    Closed,
}

impl Telemetry {
    /// The instance's init starts now: a subscriber that comes during the init gets
    /// `platform.initStart`, although it subscribed after it happened.
    pub(crate) fn started(&self, function_name: &str, function_version: &str, json_logs: bool) {
        let _ = self.origin.set(Origin {
            function_name: function_name.to_owned(),
            function_version: function_version.to_owned(),
            at: SystemTime::now(),
            json_logs,
        });
    }

    /// Whether anyone subscribed.
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Subscribes extension `name` (again: its earlier subscription through the same API is
    /// replaced; an identical one is kept as it is).
    pub(crate) fn subscribe(&self, name: &str, subscription: Subscription) -> Result<(), Refusal> {
        let api = subscription.api;
        let types = subscription.types.clone();
        {
            let mut subscribers = lock(&self.subscribers);
            // Under the lock: the init cannot end (see `init_done`) between check and subscribe.
            if self.init_done.load(Ordering::SeqCst) {
                return Err(Refusal::Closed);
            }
            if let Some(at) = subscribers.iter().position(|s| s.name == name) {
                let same_api = matches!(
                    (subscribers[at].subscription.api, api),
                    (Api::Telemetry, Api::Telemetry) | (Api::Logs { .. }, Api::Logs { .. })
                );
                if !same_api {
                    return Err(Refusal::OtherApi);
                }
                if subscribers[at].subscription == subscription {
                    return Ok(());
                }
                subscribers.remove(at);
            }
            let origin = self.origin.get();
            let function = origin.map_or_else(String::new, |o| o.function_name.clone());
            let subscriber = Subscriber::start(name.to_owned(), subscription, function);
            if let Some(origin) = origin.filter(|_| subscriber.wants(Stream::Platform)) {
                let init_start = Event::InitStart {
                    function_name: origin.function_name.clone(),
                    function_version: origin.function_version.clone(),
                };
                subscriber.push(&init_start, origin.at);
            }
            subscribers.push(subscriber);
            self.active.store(true, Ordering::SeqCst);
        }
        self.emit(|| Event::Subscribed {
            api,
            name: name.to_owned(),
            types,
        });
        Ok(())
    }

    /// Delivers the event `make` builds to the subscribers of its stream; builds nothing when
    /// nobody subscribed.
    pub(crate) fn emit(&self, make: impl FnOnce() -> Event) {
        if !self.is_active() {
            return;
        }
        let event = make();
        let now = SystemTime::now();
        let stream = event.stream();
        for subscriber in lock(&self.subscribers).iter() {
            if subscriber.wants(stream) {
                subscriber.push(&event, now);
            }
        }
    }

    /// The init phase ended with `make`'s `platform.initRuntimeDone`/`initReport` (built only
    /// for subscribers).
    pub(crate) fn init_done(&self, make: impl FnOnce() -> Event) {
        // Every invocation passes here: after the first, one atomic load.
        if self.init_done.load(Ordering::SeqCst) {
            return;
        }
        let first = {
            let _subscribing = lock(&self.subscribers);
            !self.init_done.swap(true, Ordering::SeqCst)
        };
        if first {
            self.emit(make);
        }
    }

    /// Sends what every subscription buffered now, without waiting for its `timeoutMs` (the
    /// instance shuts down).
    pub(crate) fn flush(&self) {
        for subscriber in lock(&self.subscribers).iter() {
            subscriber.flush();
        }
    }

    /// A line the function (or, `stream` `Extension`, an extension) wrote.
    pub(crate) fn log(&self, stream: Stream, line: &str) {
        self.emit(|| {
            let json = self.origin.get().is_some_and(|o| o.json_logs);
            let object = json
                .then(|| serde_json::from_str::<serde_json::Value>(line).ok())
                .flatten()
                .filter(serde_json::Value::is_object);
            Event::Log {
                stream,
                text: line.to_owned(),
                object,
            }
        });
    }
}

#[cfg(test)]
mod tests;
