//! Distributed Map: a Map Run whose items (or batches of items) run as child executions, each
//! with its own ARN, history and status, kept in [`MapRuns`] for the host's API
//! (DescribeMapRun, ListMapRuns, `ListExecutions --map-run-arn`).
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>
//!
//! ARNs are AWS's: the Map Run is `arn:aws:states:<region>:<account>:mapRun:<machine>/<label>:<id>`
//! and each child execution `arn:aws:states:<region>:<account>:execution:<machine>/<label>:<name>`,
//! its name a UUID; the label is the state's `Label`, else a generated UUID.

use crate::execution::{Execution, Outcome};
use crate::history::{EventType, History};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// The most Map Runs kept (the oldest finished ones are forgotten first).
const MAX_MAP_RUNS: usize = 1_000;
/// The most child executions of one Map Run (AWS runs millions; here each keeps its history in
/// memory): past it, batch the items with `ItemBatcher`.
pub(crate) const MAX_CHILD_EXECUTIONS: usize = 10_000;
/// The most child executions kept over all Map Runs (the oldest finished runs are forgotten
/// first).
const MAX_CHILDREN_KEPT: usize = 100_000;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How a Map Run or a child execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Under way.
    Running,
    /// Ended well.
    Succeeded,
    /// Ended with an error (a Map Run: past its tolerated failures).
    Failed,
    /// Its `TimeoutSeconds` passed.
    TimedOut,
    /// Stopped: its Map Run failed, or its parent execution was stopped.
    Aborted,
}

impl RunStatus {
    /// AWS's name: `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Succeeded => "SUCCEEDED",
            RunStatus::Failed => "FAILED",
            RunStatus::TimedOut => "TIMED_OUT",
            RunStatus::Aborted => "ABORTED",
        }
    }
}

/// One child execution of a Map Run.
#[derive(Debug)]
pub struct ChildExecution {
    /// Who it is (its ARN, name, and the Map Run's `<machine>/<label>` as its state machine).
    pub execution: Execution,
    /// Its input: an item, or `{"BatchInput": …, "Items": […]}`.
    pub input: Value,
    /// Its events.
    pub history: History,
    /// How many items it processes.
    pub items: usize,
    /// An `EXPRESS` child execution (else `STANDARD`).
    pub express: bool,
    /// How it stands, its outcome once ended, and when it stopped.
    pub(crate) end: Mutex<(RunStatus, Option<Outcome>, Option<SystemTime>)>,
}

impl ChildExecution {
    /// How it stands.
    pub fn status(&self) -> RunStatus {
        lock(&self.end).0
    }

    /// How it ended (`None` while running, or aborted).
    pub fn outcome(&self) -> Option<Outcome> {
        lock(&self.end).1.clone()
    }

    /// When it stopped.
    pub fn stop_date(&self) -> Option<SystemTime> {
        lock(&self.end).2
    }

    pub(crate) fn finish(&self, outcome: Outcome, at: SystemTime) {
        let status = match outcome {
            Outcome::Succeeded(_) => RunStatus::Succeeded,
            Outcome::Failed(_) => RunStatus::Failed,
            Outcome::TimedOut(_) => RunStatus::TimedOut,
        };
        *lock(&self.end) = (status, Some(outcome), Some(at));
    }

    /// Stops it if it still runs, recording `ExecutionAborted`.
    fn abort(&self, at: SystemTime) {
        let mut end = lock(&self.end);
        if end.0 == RunStatus::Running {
            let last = self.history.events().last().map_or(0, |e| e.id);
            self.history
                .record_end(last, at, EventType::ExecutionAborted, None);
            *end = (RunStatus::Aborted, None, Some(at));
        }
    }
}

/// Items or child executions by status, as DescribeMapRun's `itemCounts` and
/// `executionCounts` give them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Not started yet.
    pub pending: u64,
    /// Under way.
    pub running: u64,
    /// Ended well.
    pub succeeded: u64,
    /// Ended with an error.
    pub failed: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Stopped.
    pub aborted: u64,
    /// All of them.
    pub total: u64,
}

impl Counts {
    /// AWS's JSON (nothing is written to S3 nor redriven here).
    pub fn to_json(&self) -> Value {
        json!({
            "pending": self.pending, "running": self.running, "succeeded": self.succeeded,
            "failed": self.failed, "timedOut": self.timed_out, "aborted": self.aborted,
            "total": self.total, "resultsWritten": 0, "failuresNotRedrivable": 0, "pendingRedrive": 0,
        })
    }
}

/// A Map Run: the child executions of one Distributed Map state's run.
#[derive(Debug)]
pub struct MapRun {
    /// Its ARN.
    pub arn: String,
    /// The execution that started it.
    pub execution_arn: String,
    /// `<state machine ARN>/<label>`, the state machine of its child executions.
    pub state_machine_arn: String,
    /// When it started.
    pub start_date: SystemTime,
    /// `MaxConcurrency` (0: no limit).
    pub max_concurrency: u64,
    /// `ToleratedFailureCount` (0 when not given).
    pub tolerated_failure_count: u64,
    /// `ToleratedFailurePercentage` (0 when not given).
    pub tolerated_failure_percentage: f64,
    /// How many items it processes.
    pub total_items: usize,
    /// How many child executions it runs.
    pub total_executions: usize,
    /// How it stands, when it stopped, and its child executions so far.
    pub(crate) state: Mutex<(RunStatus, Option<SystemTime>, Vec<Arc<ChildExecution>>)>,
}

impl MapRun {
    /// How it stands.
    pub fn status(&self) -> RunStatus {
        lock(&self.state).0
    }

    /// When it stopped.
    pub fn stop_date(&self) -> Option<SystemTime> {
        lock(&self.state).1
    }

    /// Its child executions, in the order they started.
    pub fn children(&self) -> Vec<Arc<ChildExecution>> {
        lock(&self.state).2.clone()
    }

    /// Its items by status (a batch's items take their child execution's).
    pub fn item_counts(&self) -> Counts {
        self.counts(|c| c.items as u64, self.total_items as u64)
    }

    /// Its child executions by status.
    pub fn execution_counts(&self) -> Counts {
        self.counts(|_| 1, self.total_executions as u64)
    }

    fn counts(&self, weight: impl Fn(&ChildExecution) -> u64, total: u64) -> Counts {
        let mut counts = Counts {
            total,
            ..Counts::default()
        };
        let mut started = 0;
        for child in self.children() {
            let n = weight(&child);
            started += n;
            *match child.status() {
                RunStatus::Running => &mut counts.running,
                RunStatus::Succeeded => &mut counts.succeeded,
                RunStatus::Failed => &mut counts.failed,
                RunStatus::TimedOut => &mut counts.timed_out,
                RunStatus::Aborted => &mut counts.aborted,
            } += n;
        }
        // Items never started: pending while the run goes on, aborted once it has stopped.
        let left = total.saturating_sub(started);
        if self.status() == RunStatus::Running {
            counts.pending = left;
        } else {
            counts.aborted += left;
        }
        counts
    }

    /// Ends the run as `status`, aborting the child executions still running.
    pub(crate) fn finish(&self, status: RunStatus, at: SystemTime) {
        let children = {
            let mut state = lock(&self.state);
            if state.0 != RunStatus::Running {
                return;
            }
            state.0 = status;
            state.1 = Some(at);
            state.2.clone()
        };
        for child in children {
            child.abort(at);
        }
    }
}

/// The Map Runs of every execution, for the host's API.
#[derive(Debug, Default)]
pub struct MapRuns {
    runs: Mutex<Vec<Arc<MapRun>>>,
}

impl MapRuns {
    /// The Map Runs `execution_arn` started, in the order they started.
    pub fn of_execution(&self, execution_arn: &str) -> Vec<Arc<MapRun>> {
        (lock(&self.runs).iter())
            .filter(|r| r.execution_arn == execution_arn)
            .cloned()
            .collect()
    }

    /// The Map Run of `arn`.
    pub fn find(&self, arn: &str) -> Option<Arc<MapRun>> {
        lock(&self.runs).iter().find(|r| r.arn == arn).cloned()
    }

    /// The child execution of `arn`, and its Map Run.
    pub fn child(&self, arn: &str) -> Option<(Arc<MapRun>, Arc<ChildExecution>)> {
        let runs = lock(&self.runs).clone();
        runs.into_iter().find_map(|run| {
            let child = run
                .children()
                .into_iter()
                .find(|c| c.execution.arn == arn)?;
            Some((run, child))
        })
    }

    /// Forgets the Map Runs of `execution_arn` (the host forgot the execution).
    pub fn forget(&self, execution_arn: &str) {
        lock(&self.runs).retain(|r| r.execution_arn != execution_arn);
    }

    pub(crate) fn add(&self, run: Arc<MapRun>) {
        let mut runs = lock(&self.runs);
        let kept = |runs: &[Arc<MapRun>]| runs.iter().map(|r| r.total_executions).sum::<usize>();
        while runs.len() >= MAX_MAP_RUNS || kept(&runs) + run.total_executions > MAX_CHILDREN_KEPT {
            match runs.iter().position(|r| r.status() != RunStatus::Running) {
                Some(oldest) => drop(runs.remove(oldest)),
                None => break,
            }
        }
        runs.push(run);
    }
}
