//! The state one instance's Runtime API shares with the code driving the instance: the offered
//! invocation, the one in flight, and the runtime's events as they happen.

use std::collections::VecDeque;
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

/// What an instance's runtime did, in the order it did it.
#[derive(Debug)]
pub(crate) enum RuntimeEvent {
    /// `/next` handed out this request.
    Delivered { request_id: String, at: Instant },
    /// The runtime answered this request; its answer was whole at `at`.
    Answered {
        request_id: String,
        answer: Answer,
        at: Instant,
    },
    /// The runtime could not initialise (`/runtime/init/error`); the body is its error JSON,
    /// `header_type` its `Lambda-Runtime-Function-Error-Type`, if sent.
    InitError {
        body: Bytes,
        header_type: Option<String>,
    },
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
    events: mpsc::UnboundedSender<RuntimeEvent>,
    /// How many `/next` long polls wait with nothing to hand out (an idle instance is frozen).
    polling: watch::Sender<usize>,
    /// The instance's extensions (the Extensions API).
    extensions: Extensions,
    /// The instance's Telemetry and Logs API subscriptions.
    telemetry: Arc<Telemetry>,
}

#[derive(Debug, Default)]
struct Slot {
    pending: Option<Pending>,
    /// The invocation handed out and not answered yet, with its tap.
    in_flight: Option<(String, Option<Tap>)>,
    answered: VecDeque<String>,
    /// `/next` was called or init failed: a later `/init/error` is a state error.
    initialized: bool,
    /// When `/next` was first called: the end of the instance's init phase.
    first_poll: Option<Instant>,
}

impl Channel {
    /// A channel and the stream of its runtime's events.
    pub(crate) fn new() -> (Arc<Channel>, mpsc::UnboundedReceiver<RuntimeEvent>) {
        let (events, rx) = mpsc::unbounded_channel();
        let channel = Channel {
            state: Mutex::new(Slot::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            events,
            polling: watch::Sender::new(0),
            extensions: Extensions::default(),
            telemetry: Arc::default(),
        };
        (Arc::new(channel), rx)
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        lock(&self.state)
    }

    /// Offers an invocation to the runtime's next (or current) `/next`.
    pub(crate) fn offer(&self, pending: Pending) {
        self.slot().pending = Some(pending);
        self.wake.notify_one();
    }

    /// Takes back the offered invocation if `/next` has not taken it yet.
    pub(crate) fn withdraw(&self, request_id: &str) -> bool {
        let mut slot = self.slot();
        if slot
            .pending
            .as_ref()
            .is_some_and(|p| p.request_id == request_id)
        {
            slot.pending = None;
            true
        } else {
            false
        }
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
        let pending = slot.pending.take()?;
        slot.in_flight = Some((pending.request_id.clone(), pending.tap.clone()));
        let timeout_ms = u64::try_from(pending.timeout.as_millis()).unwrap_or(u64::MAX);
        let deadline = epoch_ms(SystemTime::now()).saturating_add(timeout_ms);
        // Extensions get the invocation as the runtime does.
        self.extensions.invoke(
            &pending.request_id,
            deadline,
            &pending.function_arn,
            &pending.trace_id,
        );
        let _ = self.events.send(RuntimeEvent::Delivered {
            request_id: pending.request_id.clone(),
            at: Instant::now(),
        });
        Some((pending, deadline))
    }

    /// Moves `request_id` from in flight to answered, with its tap, or says why it cannot be
    /// answered.
    pub(super) fn claim(&self, request_id: &str) -> Result<Option<Tap>, ApiError> {
        let mut slot = self.slot();
        if slot
            .in_flight
            .as_ref()
            .is_some_and(|(id, _)| id == request_id)
        {
            let tap = slot.in_flight.take().and_then(|(_, tap)| tap);
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
        let _ = self
            .events
            .send(RuntimeEvent::InitError { body, header_type });
    }

    /// Passes the runtime's answer to `request_id` on.
    pub(super) fn answer(&self, request_id: String, answer: Answer) {
        // The receiver is gone only when the instance is being discarded.
        let _ = self.events.send(RuntimeEvent::Answered {
            request_id,
            answer,
            at: Instant::now(),
        });
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
        let (channel, mut events) = Channel::new();
        assert_eq!(
            channel.claim("a").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        channel.offer(pending("a"));
        let (p, deadline) = channel.next().await.unwrap();
        assert_eq!(p.request_id, "a");
        assert!(deadline > epoch_ms(SystemTime::now()));
        assert!(matches!(
            events.recv().await,
            Some(RuntimeEvent::Delivered { request_id, .. }) if request_id == "a"
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
        let (channel, _events) = Channel::new();
        channel.offer(pending("a"));
        assert!(channel.withdraw("a"));
        channel.offer(pending("b"));
        let _ = channel.next().await;
        assert!(!channel.withdraw("b"));
        channel.close();
        assert!(channel.next().await.is_none());
    }
}
