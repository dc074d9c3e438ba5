//! An execution's history: the events `GetExecutionHistory` returns, with AWS's types and
//! detail fields. <https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html>

use serde_json::{Map, Value, json};
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

/// The most events one execution records (AWS's quota); past it the execution fails.
pub const MAX_EVENTS: usize = 25_000;

macro_rules! event_types {
    ($($name:ident => $details:expr),* $(,)?) => {
        /// A history event's type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum EventType { $($name),* }

        impl EventType {
            /// The type as AWS spells it.
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$name => stringify!($name)),* }
            }

            /// The field holding this type's details (`stateEnteredEventDetails`, …).
            pub fn details_key(self) -> Option<&'static str> {
                match self { $(EventType::$name => $details),* }
            }
        }
    };
}

const ENTERED: Option<&str> = Some("stateEnteredEventDetails");
const EXITED: Option<&str> = Some("stateExitedEventDetails");

event_types! {
    ExecutionStarted => Some("executionStartedEventDetails"),
    ExecutionSucceeded => Some("executionSucceededEventDetails"),
    ExecutionFailed => Some("executionFailedEventDetails"),
    ExecutionTimedOut => Some("executionTimedOutEventDetails"),
    ExecutionAborted => Some("executionAbortedEventDetails"),
    PassStateEntered => ENTERED,
    PassStateExited => EXITED,
    TaskStateEntered => ENTERED,
    TaskStateExited => EXITED,
    ChoiceStateEntered => ENTERED,
    ChoiceStateExited => EXITED,
    WaitStateEntered => ENTERED,
    WaitStateExited => EXITED,
    SucceedStateEntered => ENTERED,
    SucceedStateExited => EXITED,
    FailStateEntered => ENTERED,
    ParallelStateEntered => ENTERED,
    ParallelStateExited => EXITED,
    ParallelStateStarted => None,
    ParallelStateSucceeded => None,
    ParallelStateFailed => None,
    MapStateEntered => ENTERED,
    MapStateExited => EXITED,
    MapStateStarted => Some("mapStateStartedEventDetails"),
    MapStateSucceeded => None,
    MapStateFailed => None,
    MapIterationStarted => Some("mapIterationStartedEventDetails"),
    MapIterationSucceeded => Some("mapIterationSucceededEventDetails"),
    MapIterationFailed => Some("mapIterationFailedEventDetails"),
    MapRunStarted => Some("mapRunStartedEventDetails"),
    MapRunSucceeded => None,
    MapRunFailed => Some("mapRunFailedEventDetails"),
    TaskScheduled => Some("taskScheduledEventDetails"),
    TaskStarted => Some("taskStartedEventDetails"),
    TaskSucceeded => Some("taskSucceededEventDetails"),
    TaskFailed => Some("taskFailedEventDetails"),
    TaskTimedOut => Some("taskTimedOutEventDetails"),
    LambdaFunctionScheduled => Some("lambdaFunctionScheduledEventDetails"),
    LambdaFunctionStarted => None,
    LambdaFunctionSucceeded => Some("lambdaFunctionSucceededEventDetails"),
    LambdaFunctionFailed => Some("lambdaFunctionFailedEventDetails"),
    LambdaFunctionTimedOut => Some("lambdaFunctionTimedOutEventDetails"),
}

impl EventType {
    /// `<Type>StateEntered` for a state type.
    pub fn entered(state_type: &str) -> Self {
        match state_type {
            "Pass" => Self::PassStateEntered,
            "Task" => Self::TaskStateEntered,
            "Choice" => Self::ChoiceStateEntered,
            "Wait" => Self::WaitStateEntered,
            "Succeed" => Self::SucceedStateEntered,
            "Fail" => Self::FailStateEntered,
            "Parallel" => Self::ParallelStateEntered,
            _ => Self::MapStateEntered,
        }
    }

    /// `<Type>StateExited` for a state type (a Fail state never exits).
    pub fn exited(state_type: &str) -> Option<Self> {
        Some(match state_type {
            "Pass" => Self::PassStateExited,
            "Task" => Self::TaskStateExited,
            "Choice" => Self::ChoiceStateExited,
            "Wait" => Self::WaitStateExited,
            "Succeed" => Self::SucceedStateExited,
            "Parallel" => Self::ParallelStateExited,
            "Map" => Self::MapStateExited,
            _ => return None,
        })
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    /// 1, 2, … in the order recorded.
    pub id: u64,
    /// The event before it in the same thread of the execution (a Parallel branch, a Map
    /// iteration); 0 for the first.
    pub previous_event_id: u64,
    /// When it happened.
    pub timestamp: SystemTime,
    /// Its type.
    pub event_type: EventType,
    /// Its details (the object under [`EventType::details_key`]).
    pub details: Option<Value>,
}

impl HistoryEvent {
    /// The event as `GetExecutionHistory` returns it (the timestamp in epoch seconds).
    pub fn to_json(&self) -> Value {
        let seconds = self
            .timestamp
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64 / 1000.0);
        let mut event = Map::new();
        event.insert("timestamp".into(), json!(seconds));
        event.insert("type".into(), json!(self.event_type.as_str()));
        event.insert("id".into(), json!(self.id));
        event.insert("previousEventId".into(), json!(self.previous_event_id));
        if let (Some(key), Some(details)) = (self.event_type.details_key(), &self.details) {
            event.insert(key.into(), details.clone());
        }
        Value::Object(event)
    }
}

/// A listener told of each event as it is recorded.
pub type Listener = Box<dyn Fn(&HistoryEvent) + Send + Sync>;

/// The events of one execution, shared by its branches and iterations.
#[derive(Default)]
pub struct History {
    events: Mutex<Vec<HistoryEvent>>,
    listener: Option<Listener>,
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("events", &self.len())
            .finish_non_exhaustive()
    }
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty history that calls `listener` with each event (`lambkin workflow run` prints
    /// them as they happen).
    pub fn with_listener(listener: Listener) -> Self {
        Self {
            events: Mutex::default(),
            listener: Some(listener),
        }
    }

    /// Records an event after `previous`; returns its id, or `None` once [`MAX_EVENTS`] are held.
    pub fn record(
        &self,
        previous: u64,
        timestamp: SystemTime,
        event_type: EventType,
        details: Option<Value>,
    ) -> Option<u64> {
        self.push(previous, timestamp, event_type, details, false)
    }

    /// Records the execution's last event (`ExecutionSucceeded`, `…Failed`, `…Aborted`, …),
    /// even past [`MAX_EVENTS`].
    pub fn record_end(
        &self,
        previous: u64,
        timestamp: SystemTime,
        event_type: EventType,
        details: Option<Value>,
    ) -> u64 {
        self.push(previous, timestamp, event_type, details, true)
            .unwrap_or_default()
    }

    fn push(
        &self,
        previous: u64,
        timestamp: SystemTime,
        event_type: EventType,
        details: Option<Value>,
        last: bool,
    ) -> Option<u64> {
        let event = {
            let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
            if events.len() >= MAX_EVENTS && !last {
                return None;
            }
            let event = HistoryEvent {
                id: events.len() as u64 + 1,
                previous_event_id: previous,
                timestamp,
                event_type,
                details,
            };
            events.push(event.clone());
            event
        };
        if let Some(listener) = &self.listener {
            listener(&event);
        }
        Some(event.id)
    }

    /// The events so far.
    pub fn events(&self) -> Vec<HistoryEvent> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no event was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the history is full: the execution must fail.
    pub fn is_full(&self) -> bool {
        self.len() >= MAX_EVENTS
    }
}
