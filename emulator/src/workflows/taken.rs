//! The path an execution took, read from its history, for the dashboard's drawing of its state
//! machine: which states it entered (how often), which transitions it followed, and which
//! states it is still in (or stopped in, when it failed).
//!
//! Each history event names the one before it in the same thread (`previousEventId`: the
//! execution, a Parallel branch or a Map iteration), so a state's entry follows the chain back
//! to the last state entered or exited in its thread: that state is where the transition came
//! from (a `Next`, a Choice rule, a `Default` or a `Catch`). A thread's first state has none.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lambkin_workflow::{EventType, HistoryEvent};
use serde_json::{Value, json};

/// The events that begin a thread: the chain stops there.
const THREAD_STARTS: [EventType; 4] = [
    EventType::ExecutionStarted,
    EventType::ParallelStateStarted,
    EventType::MapStateStarted,
    EventType::MapIterationStarted,
];

/// The state an `…StateEntered` or `…StateExited` event is about.
fn state_name(event: &HistoryEvent) -> Option<&str> {
    matches!(
        event.event_type.details_key(),
        Some("stateEnteredEventDetails" | "stateExitedEventDetails")
    )
    .then(|| event.details.as_ref()?.get("name")?.as_str())
    .flatten()
}

fn is_entry(event: &HistoryEvent) -> bool {
    event.event_type.details_key() == Some("stateEnteredEventDetails")
}

/// `{"entered": {state: times}, "transitions": [{"from", "to", "times"}], "open": [state…]}`;
/// `from` is `null` for a thread's first state.
pub(crate) fn path(events: &[HistoryEvent]) -> Value {
    let by_id: HashMap<u64, &HistoryEvent> = events.iter().map(|e| (e.id, e)).collect();
    let mut entered: BTreeMap<&str, u64> = BTreeMap::new();
    let mut exited: BTreeMap<&str, u64> = BTreeMap::new();
    let mut transitions: BTreeMap<(Option<&str>, &str), u64> = BTreeMap::new();
    for event in events {
        let Some(name) = state_name(event) else {
            continue;
        };
        if !is_entry(event) {
            *exited.entry(name).or_default() += 1;
            continue;
        }
        *entered.entry(name).or_default() += 1;
        let mut from = None;
        let mut previous = by_id.get(&event.previous_event_id);
        // Ids only go down along the chain: it ends.
        while let Some(&before) = previous {
            if let Some(name) = state_name(before) {
                from = Some(name);
                break;
            }
            if THREAD_STARTS.contains(&before.event_type) || before.id <= 1 {
                break;
            }
            previous = by_id
                .get(&before.previous_event_id)
                .filter(|e| e.id < before.id);
        }
        *transitions.entry((from, name)).or_default() += 1;
    }
    let open: BTreeSet<&str> = entered
        .iter()
        .filter(|(name, times)| exited.get(*name).copied().unwrap_or_default() < **times)
        .map(|(name, _)| *name)
        .collect();
    let transitions: Vec<Value> = transitions
        .into_iter()
        .map(|((from, to), times)| json!({ "from": from, "to": to, "times": times }))
        .collect();
    json!({ "entered": entered, "transitions": transitions, "open": open })
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use lambkin_workflow::History;

    use super::*;

    /// Records `event_type` after `previous`, about state `name` if any; its id.
    fn record(history: &History, previous: u64, event_type: EventType, name: &str) -> u64 {
        let details = (!name.is_empty()).then(|| json!({ "name": name }));
        history
            .record(previous, SystemTime::UNIX_EPOCH, event_type, details)
            .unwrap()
    }

    #[test]
    fn transitions_follow_each_thread_back_to_its_last_state() {
        let h = History::new();
        let start = record(&h, 0, EventType::ExecutionStarted, "");
        // Choice → Parallel with two branches (their events interleaved) → Task, caught → Done.
        let e = record(&h, start, EventType::ChoiceStateEntered, "Route");
        let route = record(&h, e, EventType::ChoiceStateExited, "Route");
        let fan_in = record(&h, route, EventType::ParallelStateEntered, "Fan");
        let fan_started = record(&h, fan_in, EventType::ParallelStateStarted, "");
        let a = record(&h, fan_started, EventType::PassStateEntered, "A");
        let b = record(&h, fan_started, EventType::PassStateEntered, "B");
        let a = record(&h, a, EventType::PassStateExited, "A");
        let b = record(&h, b, EventType::PassStateExited, "B");
        let a2 = record(&h, a, EventType::PassStateEntered, "A2");
        record(&h, a2, EventType::PassStateExited, "A2");
        let fan_done = record(&h, b, EventType::ParallelStateSucceeded, "");
        let fan = record(&h, fan_done, EventType::ParallelStateExited, "Fan");
        let task = record(&h, fan, EventType::TaskStateEntered, "Flaky");
        let failed = record(&h, task, EventType::TaskFailed, "");
        let flaky = record(&h, failed, EventType::TaskStateExited, "Flaky");
        let done = record(&h, flaky, EventType::FailStateEntered, "Done");
        h.record_end(
            done,
            SystemTime::UNIX_EPOCH,
            EventType::ExecutionFailed,
            None,
        );

        let path = path(&h.events());
        assert_eq!(
            path["entered"],
            json!({"Route": 1, "Fan": 1, "A": 1, "A2": 1, "B": 1, "Flaky": 1, "Done": 1})
        );
        let t = |from: Option<&str>, to: &str| json!({"from": from, "to": to, "times": 1});
        assert_eq!(
            path["transitions"],
            json!([
                t(None, "A"),
                t(None, "B"),
                t(None, "Route"),
                t(Some("A"), "A2"),
                t(Some("Fan"), "Flaky"),
                t(Some("Flaky"), "Done"),
                t(Some("Route"), "Fan"),
            ])
        );
        // A Fail state never exits: the execution stopped there.
        assert_eq!(path["open"], json!(["Done"]));
    }

    #[test]
    fn loops_count_each_pass() {
        let h = History::new();
        let mut lane = record(&h, 0, EventType::ExecutionStarted, "");
        for _ in 0..3 {
            lane = record(&h, lane, EventType::WaitStateEntered, "Wait");
            lane = record(&h, lane, EventType::WaitStateExited, "Wait");
        }
        let path = path(&h.events());
        assert_eq!(path["entered"], json!({"Wait": 3}));
        assert_eq!(
            path["transitions"],
            json!([
                {"from": null, "to": "Wait", "times": 1},
                {"from": "Wait", "to": "Wait", "times": 2}
            ])
        );
        assert_eq!(path["open"], json!([]));
    }
}
