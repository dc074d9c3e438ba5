//! Running a Distributed Map: its Map Run started and kept in the environment's
//! [`MapRuns`](crate::map_run::MapRuns), each item or batch a child execution run by
//! [`run`](super::run), at most the state's concurrency at once.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>

use crate::definition::StateMachine;
use crate::env::Env;
use crate::error::{self, StatesError};
use crate::execution::{Execution, Outcome};
use crate::history::History;
use crate::map_run::{ChildExecution, MapRun, RunStatus, lock};
use futures_util::{StreamExt as _, stream};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// What a Distributed Map runs: its processor over the child executions' inputs.
pub(crate) struct Plan<'a> {
    /// The item processor.
    pub(crate) processor: &'a StateMachine,
    /// `EXPRESS` child executions.
    pub(crate) express: bool,
    /// The `Label`, if given.
    pub(crate) label: Option<&'a str>,
    /// Each child execution's input, with how many items it holds.
    pub(crate) inputs: Vec<(Value, usize)>,
    /// How many child executions run at once (at least 1).
    pub(crate) limit: usize,
    /// `MaxConcurrency` as given (0: no limit).
    pub(crate) max_concurrency: u64,
    /// `ToleratedFailureCount`, `ToleratedFailurePercentage`.
    pub(crate) tolerated: (Option<u64>, Option<f64>),
}

/// Whether `failed` of `total` items exceed the tolerated count or percentage; with neither
/// given, any failure does.
pub(crate) fn exceeds(failed: usize, total: usize, tolerated: (Option<u64>, Option<f64>)) -> bool {
    match tolerated {
        (None, None) => failed > 0,
        (count, share) => {
            count.is_some_and(|n| failed as u64 > n)
                || share.is_some_and(|p| total > 0 && failed as f64 * 100.0 / total as f64 > p)
        }
    }
}

/// Starts a Map Run of `plan` for the execution whose context object is `context`, kept in
/// `env`'s Map Runs.
pub(crate) fn start(plan: &Plan<'_>, context: &Value, env: &Env) -> Arc<MapRun> {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let machine_arn = text(&context["StateMachine"]["Id"]);
    let label = plan
        .label
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let run = Arc::new(MapRun {
        arn: format!(
            "{}/{label}:{}",
            machine_arn.replacen(":stateMachine:", ":mapRun:", 1),
            uuid::Uuid::new_v4()
        ),
        execution_arn: text(&context["Execution"]["Id"]),
        state_machine_arn: format!("{machine_arn}/{label}"),
        start_date: env.clock.now(),
        max_concurrency: plan.max_concurrency,
        tolerated_failure_count: plan.tolerated.0.unwrap_or(0),
        tolerated_failure_percentage: plan.tolerated.1.unwrap_or(0.0),
        total_items: plan.inputs.iter().map(|(_, n)| n).sum(),
        total_executions: plan.inputs.len(),
        state: Mutex::new((RunStatus::Running, None, Vec::new())),
    });
    env.map_runs.add(run.clone());
    run
}

/// Ends a Map Run as aborted if it is dropped while running (its execution was stopped).
struct AbortOnDrop<'a>(&'a MapRun, &'a Env);

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        self.0.finish(RunStatus::Aborted, self.1.clock.now());
    }
}

impl MapRun {
    /// Runs the child executions, at most `plan.limit` at once: their outputs in item order
    /// (a tolerated failure's error output in its place), or
    /// `States.ExceedToleratedFailureThreshold` as soon as the failed items exceed what the
    /// state tolerates, the child executions still running then aborted.
    pub(crate) async fn run(
        &self,
        plan: Plan<'_>,
        role_arn: &str,
        env: &Env,
    ) -> Result<Vec<Value>, StatesError> {
        let guard = AbortOnDrop(self, env);
        let Plan {
            processor,
            express,
            inputs,
            limit,
            tolerated,
            ..
        } = plan;
        // `<machine>/<label>`, the last part of the ARN.
        let machine = self
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default();
        let execution_prefix = self
            .state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1);
        let runs = inputs.into_iter().map(|(input, items)| {
            let name = uuid::Uuid::new_v4().to_string();
            let child = Arc::new(ChildExecution {
                execution: Execution {
                    arn: format!("{execution_prefix}:{name}"),
                    name,
                    state_machine_arn: self.state_machine_arn.clone(),
                    state_machine_name: machine.to_owned(),
                    role_arn: role_arn.to_owned(),
                    start_time: env.clock.now(),
                },
                input,
                history: History::new(),
                items,
                express,
                end: Mutex::new((RunStatus::Running, None, None)),
            });
            async move {
                let child = {
                    let mut state = lock(&self.state);
                    state.2.push(child.clone());
                    child
                };
                let outcome = super::run(
                    processor,
                    &child.execution,
                    child.input.clone(),
                    env,
                    &child.history,
                )
                .await;
                child.finish(outcome.clone(), env.clock.now());
                (items, outcome)
            }
        });
        let mut runs = stream::iter(runs).buffered(limit.max(1));
        let mut outputs = Vec::new();
        let mut failed = 0;
        while let Some((items, outcome)) = runs.next().await {
            match outcome {
                Outcome::Succeeded(output) => outputs.push(output),
                Outcome::Failed(e) | Outcome::TimedOut(e) => {
                    failed += items;
                    if exceeds(failed, self.total_items, tolerated) {
                        drop(runs);
                        self.finish(RunStatus::Failed, env.clock.now());
                        drop(guard);
                        return Err(StatesError::new(
                            error::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            format!(
                                "The Map Run {} failed {failed} of {} items, more than it tolerates",
                                self.arn, self.total_items
                            ),
                        ));
                    }
                    outputs.push(e.to_output());
                }
            }
        }
        self.finish(RunStatus::Succeeded, env.clock.now());
        drop(guard);
        Ok(outputs)
    }
}
