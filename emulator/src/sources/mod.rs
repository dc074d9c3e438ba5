//! Event sources: what invokes functions besides callers, as AWS's services do.
//!
//! * [`schedule`] (feature `schedules`): EventBridge rules and EventBridge Scheduler schedules
//!   (SAM `Schedule` / `ScheduleV2` events, serverless.yml `schedule`), fired by a [`Clock`]
//!   and invoking their function asynchronously, through the `Event` queue (`events/`), as
//!   EventBridge does.
//! * [`sqs`]: SQS event source mappings (SAM `SQS` events, serverless.yml `sqs` events), polled
//!   with the AWS SDK for Rust (feature `sqs`) and invoking their function synchronously with
//!   each batch, as Lambda's pollers do.
//!
//! Each running source reports a [`SourceStatus`] (its kind, function, state, next fire time,
//! messages in flight and last error); the emulator lists them at `GET /_lambkin`.

#[cfg(feature = "schedules")]
pub mod schedule;
pub mod sqs;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::watch;

use crate::sync::lock;

/// The time sources run by: the system's, or one a test moves by hand.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    manual: Option<Arc<watch::Sender<SystemTime>>>,
}

/// The longest a source sleeps on the system clock before looking at it again (the wall clock
/// may be set while it sleeps).
#[cfg_attr(not(feature = "schedules"), allow(dead_code))]
const RECHECK: Duration = Duration::from_secs(30);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock standing at `now` until [`advance`](Clock::advance)d.
    pub fn manual(now: SystemTime) -> Clock {
        Clock {
            manual: Some(Arc::new(watch::channel(now).0)),
        }
    }

    /// The time now.
    pub fn now(&self) -> SystemTime {
        match &self.manual {
            Some(time) => *time.borrow(),
            None => SystemTime::now(),
        }
    }

    /// Moves a manual clock forward by `by` (a system clock is left alone); sources waiting for
    /// a time now passed wake up.
    pub fn advance(&self, by: Duration) {
        if let Some(time) = &self.manual {
            time.send_modify(|now| *now += by);
        }
    }

    /// Resolves once the clock reads `at` or later.
    #[cfg_attr(not(feature = "schedules"), allow(dead_code))]
    pub(crate) async fn sleep_until(&self, at: SystemTime) {
        match &self.manual {
            Some(time) => {
                let mut time = time.subscribe();
                // The sender lives as long as this clock: no error while we hold it.
                let _ = time.wait_for(|now| *now >= at).await;
            }
            None => loop {
                let Ok(left) = at.duration_since(SystemTime::now()) else {
                    return;
                };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(RECHECK)).await;
            },
        }
    }
}

/// What a source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SourceState {
    /// Running: it fires or polls.
    Enabled,
    /// Configured off (`Enabled: false`, `State: DISABLED`).
    Disabled,
    /// Turned off for this run (`lambkin --schedules off`; SQS pollers not built in).
    Off,
    /// A one-time or bounded schedule with nothing left to fire.
    Done,
}

/// One source as `GET /_lambkin` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// `schedule` (an EventBridge rule), `scheduler` (an EventBridge Scheduler schedule), `sqs`
    /// (an SQS event source mapping).
    pub kind: &'static str,
    /// The rule's, schedule's or mapping's name.
    pub name: String,
    /// The function it invokes.
    pub function: String,
    /// What it does.
    pub state: SourceState,
    /// When it fires next (RFC 3339), for schedules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_fire: Option<String>,
    /// The invocations it started so far (for a queue: the batches it ran).
    pub fired: u64,
    /// Messages received and not yet deleted or returned (queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<usize>,
    /// The last thing that went wrong, if anything did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A source's status, shared by the source (which updates it) and [`Sources`].
pub(crate) type Status = Arc<Mutex<SourceStatus>>;

/// The sources of an emulator and their statuses.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    statuses: Mutex<Vec<Status>>,
}

impl Sources {
    /// Adds a source's status to the list.
    pub(crate) fn add(&self, status: SourceStatus) -> Status {
        let status = Arc::new(Mutex::new(status));
        lock(&self.statuses).push(status.clone());
        status
    }

    /// Every source's status, in the order they were added.
    pub(crate) fn list(&self) -> Vec<SourceStatus> {
        lock(&self.statuses)
            .iter()
            .map(|status| lock(status).clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_advanced() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = Clock::manual(start);
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(start + Duration::from_secs(60)).await }
        });
        clock.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(1));
        sleeper.await.unwrap();
        assert_eq!(clock.now(), start + Duration::from_secs(60));
        // Already passed: at once.
        clock.sleep_until(start).await;
    }
}
