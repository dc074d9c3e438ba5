//! The state one instance's Runtime API shares with the code driving the instance: the offered
//! invocations, those in flight, and the runtime's events as they happen, routed to the
//! invocation they concern (an instance may run several at once: Lambda Managed Instances).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::{Notify, mpsc, watch};

use super::{ApiError, Extensions, Tap};
use crate::clock::epoch_ms;
use crate::sync::lock;
use crate::telemetry::Telemetry;

/// How many answered request ids an instance remembers, to tell a second answer (403) from an
/// unknown id (400).
const ANSWERED_MEMORY: usize = 64;

/// How many handed-out, unanswered invocations an instance remembers. A runtime answers each
/// once; one that keeps taking events without answering (its invocations timed out where
/// timeouts do not stop the process) has its oldest forgotten.
const IN_FLIGHT_MEMORY: usize = 4096;

/// An invocation offered to an instance, waiting for its `/next`.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) timeout: Duration,
    pub(crate) function_arn: String,
    pub(crate) trace_id: String,
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
    /// Where a streamed answer goes as it arrives, if the caller takes it so.
    pub(crate) tap: Option<Tap>,
}

/// What an instance's runtime did with one offered invocation, in the order it did it.
#[derive(Debug)]
pub(crate) enum RuntimeEvent {
    /// `/next` handed it out.
    Delivered { at: Instant },
    /// The runtime answered it; its answer was whole at `at`.
    Answered { answer: Answer, at: Instant },
}

/// The runtime could not initialise (`/runtime/init/error`).
#[derive(Debug, Clone)]
pub(crate) struct InitError {
    /// Its error JSON.
    pub(crate) body: Bytes,
    /// Its `Lambda-Runtime-Function-Error-Type`, if sent.
    pub(crate) header_type: Option<String>,
}

/// A runtime's answer to one invocation.
#[derive(Debug)]
pub(crate) enum Answer {
    /// `/response` with this body.
    Response(Bytes),
    /// `/error` with this error JSON.
    Error(Bytes),
    /// `/response` or `/error` over the limit it was read under (bytes):
    /// [`MAX_RESPONSE_BYTES`](super::MAX_RESPONSE_BYTES), or
    /// [`MAX_STREAMED_RESPONSE_BYTES`](super::MAX_STREAMED_RESPONSE_BYTES) for a stream.
    TooLarge(usize),
}

/// The state one instance's Runtime API shares with the code driving that instance.
#[derive(Debug)]
pub(crate) struct Channel {
    state: Mutex<Slot>,
    /// Wakes the `/next` long poll when an invocation is offered.
    wake: Notify,
    /// Set when the instance is discarded: pending long polls end instead of lingering.
    closed: AtomicBool,
    /// The runtime's `/init/error`, once reported.
    init_error: watch::Sender<Option<InitError>>,
    /// How many `/next` long polls wait with nothing to hand out (an idle instance is frozen).
    polling: watch::Sender<usize>,
    /// The instance's extensions (the Extensions API).
    extensions: Extensions,
    /// The instance's Telemetry and Logs API subscriptions.
    telemetry: Arc<Telemetry>,
}

#[derive(Debug, Default)]
struct Slot {
    /// Offered invocations, first offered first handed out.
    pending: VecDeque<Pending>,
    /// The invocations handed out and not answered yet, with their taps, oldest first.
    in_flight: VecDeque<(String, Option<Tap>)>,
    /// Where each offered invocation's events go, until it is answered or forgotten.
    routes: HashMap<String, mpsc::UnboundedSender<RuntimeEvent>>,
    answered: VecDeque<String>,
    /// `/next` was called or init failed: a later `/init/error` is a state error.
    initialized: bool,
    /// When `/next` was first called: the end of the instance's init phase.
    first_poll: Option<Instant>,
}

impl Channel {
    /// A channel with nothing offered.
    pub(crate) fn new() -> Arc<Channel> {
        Arc::new(Channel {
            state: Mutex::new(Slot::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            init_error: watch::Sender::new(None),
            polling: watch::Sender::new(0),
            extensions: Extensions::default(),
            telemetry: Arc::default(),
        })
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        lock(&self.state)
    }

    /// Offers an invocation to a `/next` (one waiting, or the next one); its events come out of
    /// the receiver until it is answered or [forgotten](Channel::forget).
    pub(crate) fn offer(&self, pending: Pending) -> mpsc::UnboundedReceiver<RuntimeEvent> {
        let (events, rx) = mpsc::unbounded_channel();
        let mut slot = self.slot();
        slot.routes.insert(pending.request_id.clone(), events);
        slot.pending.push_back(pending);
        drop(slot);
        self.wake.notify_one();
        rx
    }

    /// Takes back the offered invocation if `/next` has not taken it yet.
    pub(crate) fn withdraw(&self, request_id: &str) -> bool {
        let mut slot = self.slot();
        let Some(at) = slot.pending.iter().position(|p| p.request_id == request_id) else {
            return false;
        };
        slot.pending.remove(at);
        slot.routes.remove(request_id);
        true
    }

    /// The invocation is over for its caller: it is withdrawn if still offered, and its events
    /// go nowhere. A late answer is still accepted (and dropped).
    pub(crate) fn forget(&self, request_id: &str) {
        if !self.withdraw(request_id) {
            self.slot().routes.remove(request_id);
        }
    }

    /// The runtime's `/init/error`, once reported; it stands for every later invocation.
    pub(crate) fn init_error(&self) -> watch::Receiver<Option<InitError>> {
        self.init_error.subscribe()
    }

    /// When the runtime first asked for an invocation, if it has.
    pub(crate) fn first_poll(&self) -> Option<Instant> {
        self.slot().first_poll
    }

    /// How many `/next` long polls wait with nothing to hand out, as it changes.
    pub(crate) fn polling(&self) -> watch::Receiver<usize> {
        self.polling.subscribe()
    }

    /// The instance's extensions.
    pub(crate) fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// The instance's Telemetry and Logs API subscriptions.
    pub(crate) fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// Ends every `/next` long poll (the runtime's and extensions'); called when the instance
    /// is discarded.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
        self.extensions.discard();
    }

    /// Waits for an offered invocation and marks it in flight (the `/next` long poll), with the
    /// invocation's deadline in epoch milliseconds; `None` once the channel is closed.
    pub(super) async fn next(&self) -> Option<(Pending, u64)> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            // Registered before the checks, so a close or offer in between is not missed.
            notified.as_mut().enable();
            if self.closed.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(delivery) = self.take_pending() {
                return Some(delivery);
            }
            // Counted while waiting, however the wait ends (a runtime may hang up).
            self.polling.send_modify(|waiting| *waiting += 1);
            let _waiting = Waiting(&self.polling);
            notified.await;
        }
    }

    fn take_pending(&self) -> Option<(Pending, u64)> {
        let mut slot = self.slot();
        if !slot.initialized {
            slot.initialized = true;
            slot.first_poll = Some(Instant::now());
        }
        let pending = slot.pending.pop_front()?;
        if slot.in_flight.len() == IN_FLIGHT_MEMORY {
            slot.in_flight.pop_front();
        }
        slot.in_flight
            .push_back((pending.request_id.clone(), pending.tap.clone()));
        let timeout_ms = u64::try_from(pending.timeout.as_millis()).unwrap_or(u64::MAX);
        let deadline = epoch_ms(SystemTime::now()).saturating_add(timeout_ms);
        // Extensions get the invocation as the runtime does.
        self.extensions.invoke(
            &pending.request_id,
            deadline,
            &pending.function_arn,
            &pending.trace_id,
        );
        if let Some(route) = slot.routes.get(&pending.request_id) {
            // The receiver is gone only when the invocation is being abandoned.
            let _ = route.send(RuntimeEvent::Delivered { at: Instant::now() });
        }
        Some((pending, deadline))
    }

    /// Moves `request_id` from in flight to answered, with its tap, or says why it cannot be
    /// answered.
    pub(super) fn claim(&self, request_id: &str) -> Result<Option<Tap>, ApiError> {
        let mut slot = self.slot();
        if let Some(at) = slot.in_flight.iter().position(|(id, _)| id == request_id) {
            let tap = slot.in_flight.remove(at).and_then(|(_, tap)| tap);
            if slot.answered.len() == ANSWERED_MEMORY {
                slot.answered.pop_front();
            }
            slot.answered.push_back(request_id.to_owned());
            Ok(tap)
        } else if slot.answered.iter().any(|id| id == request_id) {
            Err(ApiError::already_answered())
        } else {
            Err(ApiError::invalid_request_id())
        }
    }

    /// Records that init failed; refused once the runtime has asked for an invocation or
    /// already reported a failure.
    pub(super) fn fail_init(&self) -> Result<(), ApiError> {
        let mut slot = self.slot();
        if slot.initialized {
            return Err(ApiError::state_transition("init/error after init"));
        }
        slot.initialized = true;
        Ok(())
    }

    /// Passes the runtime's `/init/error` on: its error JSON and error type header.
    pub(super) fn report_init_error(&self, body: Bytes, header_type: Option<String>) {
        self.init_error
            .send_replace(Some(InitError { body, header_type }));
    }

    /// Passes the runtime's answer to `request_id` on, to whoever still waits for it.
    pub(super) fn answer(&self, request_id: String, answer: Answer) {
        let at = Instant::now();
        if let Some(route) = self.slot().routes.remove(&request_id) {
            let _ = route.send(RuntimeEvent::Answered { answer, at });
        }
    }
}

/// One waiting `/next` in [`Channel::polling`], until dropped.
struct Waiting<'a>(&'a watch::Sender<usize>);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|waiting| *waiting -= 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn pending(id: &str) -> Pending {
        Pending {
            request_id: id.to_owned(),
            payload: Bytes::from_static(b"{}"),
            timeout: Duration::from_secs(3),
            function_arn: "arn".to_owned(),
            trace_id: "Root=1".to_owned(),
            client_context: None,
            cognito_identity: None,
            tap: None,
        }
    }

    #[tokio::test]
    async fn state_transitions() {
        let channel = Channel::new();
        assert_eq!(
            channel.claim("a").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let mut events = channel.offer(pending("a"));
        let (p, deadline) = channel.next().await.unwrap();
        assert_eq!(p.request_id, "a");
        assert!(deadline > epoch_ms(SystemTime::now()));
        assert!(matches!(
            events.recv().await,
            Some(RuntimeEvent::Delivered { .. })
        ));
        assert!(channel.claim("a").is_ok());
        assert_eq!(
            channel.claim("a").unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            channel.claim("b").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn withdraw_only_before_delivery() {
        let channel = Channel::new();
        let _a = channel.offer(pending("a"));
        assert!(channel.withdraw("a"));
        let _b = channel.offer(pending("b"));
        let _ = channel.next().await;
        assert!(!channel.withdraw("b"));
        channel.close();
        assert!(channel.next().await.is_none());
    }

    #[tokio::test]
    async fn several_invocations_in_flight_are_routed_by_request_id() {
        let channel = Channel::new();
        let mut a = channel.offer(pending("a"));
        let mut b = channel.offer(pending("b"));
        // Two long polls: first offered, first handed out.
        assert_eq!(channel.next().await.unwrap().0.request_id, "a");
        assert_eq!(channel.next().await.unwrap().0.request_id, "b");
        assert!(matches!(
            b.recv().await,
            Some(RuntimeEvent::Delivered { .. })
        ));
        assert!(matches!(
            a.recv().await,
            Some(RuntimeEvent::Delivered { .. })
        ));
        // Answered out of order, each to its own invocation.
        channel.claim("b").unwrap();
        channel.answer("b".to_owned(), Answer::Response(Bytes::from_static(b"B")));
        channel.claim("a").unwrap();
        channel.answer("a".to_owned(), Answer::Response(Bytes::from_static(b"A")));
        for (events, body) in [(&mut a, "A"), (&mut b, "B")] {
            match events.recv().await {
                Some(RuntimeEvent::Answered {
                    answer: Answer::Response(got),
                    ..
                }) => assert_eq!(got, body.as_bytes()),
                other => panic!("{other:?}"),
            }
        }
        // A forgotten invocation's late answer is accepted and goes nowhere.
        let _c = channel.offer(pending("c"));
        let _ = channel.next().await;
        channel.forget("c");
        assert!(channel.claim("c").is_ok());
        channel.answer("c".to_owned(), Answer::Response(Bytes::new()));
    }
}
