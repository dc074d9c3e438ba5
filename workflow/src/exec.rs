//! Running a state machine: each state's input and output processing, Retry and Catch, the
//! concurrency of Parallel and Map, and the history events of each step.
//!
//! Input and output processing, in AWS's order: `InputPath` → `Parameters` (or `ItemSelector`)
//! → the state's work → `ResultSelector` → `ResultPath` (over the state's raw input) →
//! `OutputPath`. <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html>

use crate::definition::{
    Catcher, Distributed, ItemBatcher, Kind, Limit, MAX_PAYLOAD, MapState, Retrier, Seconds, State,
    StateMachine, Task, Text, Wait,
};
use crate::env::{Env, Signal};
use crate::error::{self, StatesError};
use crate::execution::{Execution, Outcome};
use crate::history::{EventType, History};
use crate::path::Path;
use crate::template::Template;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

mod distributed;

/// The most Map iterations that run at once (Inline Map's limit on AWS).
const MAX_MAP_CONCURRENCY: usize = 40;

/// Runs an execution to its end, recording its events in `history`. Dropping the future
/// stops it (StopExecution) and every task it waits on.
pub async fn run(
    machine: &StateMachine,
    execution: &Execution,
    input: Value,
    env: &Env,
    history: &History,
) -> Outcome {
    let context = json!({
        "Execution": {
            "Id": execution.arn, "Input": input, "Name": execution.name, "RoleArn": execution.role_arn,
            "StartTime": rfc3339(execution.start_time), "RedriveCount": 0,
        },
        "StateMachine": {"Id": execution.state_machine_arn, "Name": execution.state_machine_name},
    });
    let runner = Runner {
        env,
        history,
        context,
    };
    let mut lane = 0;
    runner.event(
        &mut lane,
        EventType::ExecutionStarted,
        json!({"input": input.to_string(), "inputDetails": {"truncated": false}, "roleArn": execution.role_arn}),
    );
    let work = runner.machine(machine, input, &mut lane);
    let result = match machine.timeout_seconds {
        Some(seconds) => {
            tokio::select! {
                biased;
                result = work => Some(result),
                () = env.clock.sleep(Duration::from_secs(seconds)) => None,
            }
        }
        None => Some(work.await),
    };
    let (event, details, outcome) = match result {
        Some(Ok(output)) => (
            EventType::ExecutionSucceeded,
            json!({"output": output.to_string(), "outputDetails": {"truncated": false}}),
            Outcome::Succeeded(output),
        ),
        Some(Err(e)) => (
            EventType::ExecutionFailed,
            json!({"error": e.error, "cause": e.cause}),
            Outcome::Failed(e),
        ),
        None => {
            let e = StatesError::new(
                error::TIMEOUT,
                format!(
                    "The execution ran longer than {} seconds",
                    machine.timeout_seconds.unwrap_or(0)
                ),
            );
            (
                EventType::ExecutionTimedOut,
                json!({"error": e.error, "cause": e.cause}),
                Outcome::TimedOut(e),
            )
        }
    };
    history.record_end(lane, env.clock.now(), event, Some(details));
    outcome
}

/// An RFC 3339 timestamp with milliseconds, as the context object shows them.
pub fn rfc3339(time: SystemTime) -> String {
    let t = time::OffsetDateTime::from(time);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// What a Task's `Resource` names.
enum Resource<'r> {
    /// A Lambda function's ARN or name, invoked with the task's input.
    Function(&'r str),
    /// `arn:aws:states:::lambda:invoke` (`.waitForTaskToken`): `FunctionName` and `Payload`.
    LambdaInvoke { wait_for_token: bool },
}

impl<'r> Resource<'r> {
    fn of(resource: &'r str) -> Result<Self, StatesError> {
        match resource.strip_prefix("arn:aws:states:::") {
            Some("lambda:invoke") => Ok(Resource::LambdaInvoke {
                wait_for_token: false,
            }),
            Some("lambda:invoke.waitForTaskToken") => Ok(Resource::LambdaInvoke {
                wait_for_token: true,
            }),
            Some(_) => Err(StatesError::runtime(format!(
                "The resource '{resource}' is not supported by lambkin: only Lambda functions are"
            ))),
            None if resource.starts_with("arn:") && !resource.contains(":lambda:") => {
                Err(StatesError::runtime(format!(
                    "The resource '{resource}' is not supported by lambkin: only Lambda functions are"
                )))
            }
            None => Ok(Resource::Function(resource)),
        }
    }
}

struct Runner<'e> {
    env: &'e Env,
    history: &'e History,
    /// `$$` without its per-state parts.
    context: Value,
}

impl Runner<'_> {
    /// Records an event after `lane`'s last one, moving `lane` on.
    fn event(&self, lane: &mut u64, event_type: EventType, details: Value) {
        let details = if details.is_null() {
            None
        } else {
            Some(details)
        };
        if let Some(id) = self
            .history
            .record(*lane, self.env.clock.now(), event_type, details)
        {
            *lane = id;
        }
    }

    /// Runs a state machine (or a branch, or an iteration) from its `StartAt`.
    fn machine<'a>(
        &'a self,
        machine: &'a StateMachine,
        input: Value,
        lane: &'a mut u64,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        Box::pin(async move {
            let mut name = machine.start_at.as_str();
            let mut input = input;
            loop {
                // AWS's quota and its message: <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>
                if self.history.is_full() {
                    return Err(StatesError::runtime(format!(
                        "The execution reached the maximum number of history events ({}).",
                        crate::history::MAX_EVENTS
                    )));
                }
                let state = machine
                    .states
                    .get(name)
                    .ok_or_else(|| StatesError::runtime(format!("No state named '{name}'")))?;
                let (output, next) = self.state(state, input, lane).await?;
                match next {
                    Some(next) => {
                        name = next;
                        input = output;
                    }
                    None => return Ok(output),
                }
            }
        })
    }

    /// Runs one state: its events, retries and catchers. Returns its output and next state.
    async fn state<'a>(
        &'a self,
        state: &'a State,
        raw: Value,
        lane: &mut u64,
    ) -> Result<(Value, Option<&'a str>), StatesError> {
        let type_name = state.kind.type_name();
        self.event(lane, EventType::entered(type_name), json!({"name": state.name, "input": raw.to_string(), "inputDetails": {"truncated": false}}));
        let entered = rfc3339(self.env.clock.now());
        let mut attempts = vec![0u64; state.retry.len()];
        let mut retry_count = 0;
        let result = loop {
            let context = self.state_context(state, &entered, retry_count);
            match self.body(state, &raw, context, lane).await {
                Err(e) if !e.is_terminal() => {
                    match retry_delay(&state.retry, &mut attempts, &e, &*self.env.clock) {
                        Some(delay) => {
                            self.env.clock.sleep(delay).await;
                            retry_count += 1;
                        }
                        None => break Err(e),
                    }
                }
                other => break other,
            }
        };
        let (output, next) = match result {
            Ok((output, next)) => (output, next),
            Err(e) => match state.catch.iter().find(|c| e.matches(&c.error_equals)) {
                Some(Catcher {
                    next, result_path, ..
                }) => (place(result_path, raw, e.to_output())?, Some(next.as_str())),
                None => return Err(e),
            },
        };
        let size = output.to_string().len();
        if size > MAX_PAYLOAD {
            return Err(StatesError::new(
                error::DATA_LIMIT_EXCEEDED,
                format!(
                    "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                    state.name
                ),
            ));
        }
        if let Some(exited) = EventType::exited(type_name) {
            self.event(lane, exited, json!({"name": state.name, "output": output.to_string(), "outputDetails": {"truncated": false}}));
        }
        Ok((output, next))
    }

    fn state_context(&self, state: &State, entered: &str, retry_count: u64) -> Value {
        let mut context = self.context.clone();
        context["State"] =
            json!({"EnteredTime": entered, "Name": state.name, "RetryCount": retry_count});
        context
    }

    /// One attempt at a state's work, with its input and output processing.
    async fn body<'a>(
        &'a self,
        state: &'a State,
        raw: &Value,
        mut context: Value,
        lane: &mut u64,
    ) -> Result<(Value, Option<&'a str>), StatesError> {
        let next = state.next.as_deref();
        let input = match &state.input_path {
            Some(path) => path
                .select(raw, &context)
                .map_err(|e| StatesError::runtime(e.to_string()))?,
            None => json!({}),
        };
        let result = match &state.kind {
            Kind::Pass(result) => match result {
                Some(result) => result.clone(),
                None => parameters(&state.parameters, input, &context)?,
            },
            Kind::Task(task) => {
                let waiting = matches!(
                    Resource::of(&task.resource),
                    Ok(Resource::LambdaInvoke {
                        wait_for_token: true
                    })
                )
                .then(|| self.env.callbacks.wait());
                if let Some(waiting) = &waiting {
                    context["Task"] = json!({"Token": waiting.token});
                }
                let task_input = parameters(&state.parameters, input.clone(), &context)?;
                let result = self.task(task, &input, task_input, waiting, lane).await?;
                selector(&state.result_selector, result, &context)?
            }
            Kind::Choice(rules, default) => {
                for (rule, target) in rules {
                    if rule.holds(&input, &context)? {
                        return Ok((output(&state.output_path, input, &context)?, Some(target)));
                    }
                }
                let target = default.as_deref().ok_or_else(|| {
                    StatesError::new(
                        error::NO_CHOICE_MATCHED,
                        format!("No Matches! in the Choice state '{}'", state.name),
                    )
                })?;
                return Ok((output(&state.output_path, input, &context)?, Some(target)));
            }
            Kind::Wait(wait) => {
                let delay = self.wait_time(wait, &input, &context)?;
                self.env.clock.sleep(delay).await;
                return Ok((output(&state.output_path, input, &context)?, next));
            }
            Kind::Succeed => return Ok((output(&state.output_path, input, &context)?, None)),
            Kind::Fail(error, cause) => {
                let text = |t: &Option<Text>| -> Result<String, StatesError> {
                    Ok(match t {
                        None => String::new(),
                        Some(Text::Fixed(s)) => s.clone(),
                        Some(Text::Path(p)) => match p
                            .select(raw, &context)
                            .map_err(|e| StatesError::runtime(e.to_string()))?
                        {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                    })
                };
                return Err(StatesError::new(text(error)?, text(cause)?));
            }
            Kind::Parallel(branches) => {
                let branch_input = parameters(&state.parameters, input, &context)?;
                self.event(lane, EventType::ParallelStateStarted, Value::Null);
                let started = *lane;
                let runs = branches.iter().map(|branch| {
                    let branch_input = branch_input.clone();
                    async move {
                        let mut branch_lane = started;
                        self.machine(branch, branch_input, &mut branch_lane).await
                    }
                });
                match futures_util::future::try_join_all(runs).await {
                    Ok(results) => {
                        self.event(lane, EventType::ParallelStateSucceeded, Value::Null);
                        selector(&state.result_selector, Value::Array(results), &context)?
                    }
                    Err(e) => {
                        self.event(lane, EventType::ParallelStateFailed, Value::Null);
                        return Err(e);
                    }
                }
            }
            Kind::Map(map) => {
                let results = match &map.distributed {
                    None => self.map(state, map, &input, &context, lane).await?,
                    Some(distributed) => {
                        (self.distributed_map(map, distributed, &input, &context, lane)).await?
                    }
                };
                selector(&state.result_selector, results, &context)?
            }
        };
        let merged = place(&state.result_path, raw.clone(), result)?;
        Ok((output(&state.output_path, merged, &context)?, next))
    }

    fn wait_time(
        &self,
        wait: &Wait,
        input: &Value,
        context: &Value,
    ) -> Result<Duration, StatesError> {
        let until = |t: time::OffsetDateTime| {
            let now = time::OffsetDateTime::from(self.env.clock.now());
            Duration::try_from(t - now).unwrap_or(Duration::ZERO)
        };
        let read = |p: &Path| {
            p.select(input, context)
                .map_err(|e| StatesError::runtime(e.to_string()))
        };
        Ok(match wait {
            Wait::Seconds(s) => Duration::from_secs(*s),
            Wait::Timestamp(t) => until(*t),
            Wait::SecondsPath(p) => {
                let seconds = read(p)?;
                Duration::from_secs(seconds.as_u64().ok_or_else(|| {
                    StatesError::runtime(format!("The SecondsPath parameter does not reference a valid non-negative integer: {seconds}"))
                })?)
            }
            Wait::TimestampPath(p) => {
                let stamp = read(p)?;
                let t = stamp.as_str().and_then(crate::choice::timestamp).ok_or_else(|| {
                    StatesError::runtime(format!("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {stamp}"))
                })?;
                until(t)
            }
        })
    }

    /// A Task's invocation, with its timeout, heartbeat and events.
    async fn task(
        &self,
        task: &Task,
        input: &Value,
        task_input: Value,
        waiting: Option<crate::env::Waiting<'_>>,
        lane: &mut u64,
    ) -> Result<Value, StatesError> {
        let seconds = |s: &Option<Seconds>, what: &str| -> Result<Option<u64>, StatesError> {
            match s {
                None => Ok(None),
                Some(Seconds::Fixed(n)) => Ok(Some(*n)),
                Some(Seconds::Path(p)) => match p.select(input, &Value::Null) {
                    Ok(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => Ok(n.as_u64()),
                    _ => Err(StatesError::runtime(format!(
                        "The {what}Path '{p}' does not reference a positive integer"
                    ))),
                },
            }
        };
        let timeout = seconds(&task.timeout, "TimeoutSeconds")?;
        let heartbeat = seconds(&task.heartbeat, "HeartbeatSeconds")?;
        let timeout_sleep = timeout.map(|t| self.env.clock.sleep(Duration::from_secs(t)));
        let timed_out = || {
            StatesError::new(
                error::TIMEOUT,
                format!("The task ran longer than {} seconds", timeout.unwrap_or(0)),
            )
        };
        match Resource::of(&task.resource)? {
            Resource::Function(function) => {
                let mut details = json!({"resource": task.resource, "input": task_input.to_string(), "inputDetails": {"truncated": false}});
                if let Some(t) = timeout {
                    details["timeoutInSeconds"] = json!(t);
                }
                self.event(lane, EventType::LambdaFunctionScheduled, details);
                self.event(lane, EventType::LambdaFunctionStarted, Value::Null);
                let result = with_timeout(
                    self.env.invoker.invoke(function, task_input),
                    timeout_sleep,
                    timed_out,
                )
                .await;
                match &result {
                    Ok(output) => self.event(lane, EventType::LambdaFunctionSucceeded, json!({"output": output.to_string(), "outputDetails": {"truncated": false}})),
                    Err(e) if e.error == error::TIMEOUT => self.event(lane, EventType::LambdaFunctionTimedOut, json!({"error": e.error, "cause": e.cause})),
                    Err(e) => self.event(lane, EventType::LambdaFunctionFailed, json!({"error": e.error, "cause": e.cause})),
                }
                result
            }
            Resource::LambdaInvoke { wait_for_token } => {
                let resource = if wait_for_token {
                    "invoke.waitForTaskToken"
                } else {
                    "invoke"
                };
                let mut details = json!({"resourceType": "lambda", "resource": resource, "region": self.env.region, "parameters": task_input.to_string()});
                if let Some(t) = timeout {
                    details["timeoutInSeconds"] = json!(t);
                }
                if let Some(h) = heartbeat {
                    details["heartbeatInSeconds"] = json!(h);
                }
                self.event(lane, EventType::TaskScheduled, details);
                self.event(
                    lane,
                    EventType::TaskStarted,
                    json!({"resourceType": "lambda", "resource": resource}),
                );
                let result = match task_input.get("FunctionName").and_then(Value::as_str) {
                    None => Err(StatesError::runtime(
                        "The Lambda invoke integration needs a string 'FunctionName' in its Parameters",
                    )),
                    Some(function) => {
                        let payload = task_input
                            .get("Payload")
                            .cloned()
                            .unwrap_or_else(|| json!({}));
                        let invoked = async {
                            let output = self.env.invoker.invoke(function, payload).await?;
                            match waiting {
                                Some(waiting) => {
                                    callback(waiting, heartbeat, &*self.env.clock).await
                                }
                                None => Ok(json!({
                                    "ExecutedVersion": "$LATEST", "Payload": output, "StatusCode": 200,
                                    "SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {},
                                })),
                            }
                        };
                        with_timeout(invoked, timeout_sleep, timed_out).await
                    }
                };
                let base = json!({"resourceType": "lambda", "resource": resource});
                let (event, mut details) = match &result {
                    Ok(output) => (
                        EventType::TaskSucceeded,
                        json!({"output": output.to_string(), "outputDetails": {"truncated": false}}),
                    ),
                    Err(e) if e.error == error::TIMEOUT => (
                        EventType::TaskTimedOut,
                        json!({"error": e.error, "cause": e.cause}),
                    ),
                    Err(e) => (
                        EventType::TaskFailed,
                        json!({"error": e.error, "cause": e.cause}),
                    ),
                };
                if let (Some(details), Some(base)) = (details.as_object_mut(), base.as_object()) {
                    details.extend(base.clone());
                }
                self.event(lane, event, details);
                result
            }
        }
    }

    /// A Map state: its items, each through the item processor, at most `MaxConcurrency` at
    /// once; one failure (beyond the tolerated ones) fails the state and stops the others.
    async fn map(
        &self,
        state: &State,
        map: &MapState,
        input: &Value,
        context: &Value,
        lane: &mut u64,
    ) -> Result<Value, StatesError> {
        let items = map_items(map, input, context)?;
        self.event(
            lane,
            EventType::MapStateStarted,
            json!({"length": items.len()}),
        );
        let total = items.len();
        let started = *lane;
        let runs = items.into_iter().enumerate().map(|(index, item)| {
            let selected = select_item(map, input, context, index, item);
            async move {
                let mut item_lane = started;
                self.event(
                    &mut item_lane,
                    EventType::MapIterationStarted,
                    json!({"name": state.name, "index": index}),
                );
                let result = match selected {
                    Ok(item_input) => {
                        self.machine(&map.processor, item_input, &mut item_lane)
                            .await
                    }
                    Err(e) => Err(e),
                };
                let ended = if result.is_ok() {
                    EventType::MapIterationSucceeded
                } else {
                    EventType::MapIterationFailed
                };
                self.event(
                    &mut item_lane,
                    ended,
                    json!({"name": state.name, "index": index}),
                );
                result
            }
        });
        let (_, limit) = max_concurrency(map, input, context)?;
        let runs = stream::iter(runs).buffered(limit);
        let tolerated = tolerated(map, input, context)?;
        let results = if tolerated != (None, None) {
            let all: Vec<Result<Value, StatesError>> = runs.collect().await;
            let failed = all.iter().filter(|r| r.is_err()).count();
            if distributed::exceeds(failed, total, tolerated) {
                Err(StatesError::new(
                    error::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    format!(
                        "The Map state '{}' failed {failed} of {total} items, more than it tolerates",
                        state.name
                    ),
                ))
            } else {
                Ok(all
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|e| e.to_output()))
                    .collect())
            }
        } else {
            runs.try_collect::<Vec<_>>().await
        };
        match results {
            Ok(results) => {
                self.event(lane, EventType::MapStateSucceeded, Value::Null);
                Ok(Value::Array(results))
            }
            Err(e) => {
                self.event(lane, EventType::MapStateFailed, Value::Null);
                Err(e)
            }
        }
    }
}

impl Runner<'_> {
    /// A Map state in Distributed mode: a Map Run of child executions, one per item or batch
    /// (`ItemBatcher`), recorded as `MapRunStarted` and `MapRunSucceeded`/`MapRunFailed`.
    async fn distributed_map(
        &self,
        map: &MapState,
        distributed: &Distributed,
        input: &Value,
        context: &Value,
        lane: &mut u64,
    ) -> Result<Value, StatesError> {
        let items = map_items(map, input, context)?;
        let selected = (items.into_iter().enumerate())
            .map(|(index, item)| select_item(map, input, context, index, item))
            .collect::<Result<Vec<_>, _>>()?;
        let inputs = match &distributed.batcher {
            None => selected.into_iter().map(|item| (item, 1)).collect(),
            Some(batcher) => batches(batcher, selected, input, context)?,
        };
        if inputs.len() > crate::map_run::MAX_CHILD_EXECUTIONS {
            return Err(StatesError::runtime(format!(
                "The Map Run would start {} child executions; lambkin runs at most {} per Map Run: batch the items with 'ItemBatcher'",
                inputs.len(),
                crate::map_run::MAX_CHILD_EXECUTIONS
            )));
        }
        let (max_concurrency, limit) = max_concurrency(map, input, context)?;
        let plan = distributed::Plan {
            processor: &map.processor,
            express: distributed.express,
            label: distributed.label.as_deref(),
            inputs,
            limit,
            max_concurrency,
            tolerated: tolerated(map, input, context)?,
        };
        let run = distributed::start(&plan, &self.context, self.env);
        self.event(
            lane,
            EventType::MapRunStarted,
            json!({"mapRunArn": run.arn}),
        );
        let role = self.context["Execution"]["RoleArn"]
            .as_str()
            .unwrap_or_default();
        match run.run(plan, role, self.env).await {
            Ok(outputs) => {
                self.event(lane, EventType::MapRunSucceeded, Value::Null);
                Ok(Value::Array(outputs))
            }
            Err(e) => {
                self.event(
                    lane,
                    EventType::MapRunFailed,
                    json!({"error": e.error, "cause": e.cause}),
                );
                Err(e)
            }
        }
    }
}

/// A Map state's items: the array `ItemsPath` selects.
fn map_items(map: &MapState, input: &Value, context: &Value) -> Result<Vec<Value>, StatesError> {
    let items = map
        .items_path
        .select(input, context)
        .map_err(|e| StatesError::runtime(e.to_string()))?;
    match items {
        Value::Array(items) => Ok(items),
        _ => Err(StatesError::runtime(format!(
            "Invalid path '{}': the Map state's items must be an array",
            map.items_path
        ))),
    }
}

/// An item through `ItemSelector`, with `$$.Map.Item` set.
fn select_item(
    map: &MapState,
    input: &Value,
    context: &Value,
    index: usize,
    item: Value,
) -> Result<Value, StatesError> {
    match &map.item_selector {
        Some(t) => {
            let mut item_context = context.clone();
            item_context["Map"] = json!({"Item": {"Index": index, "Value": item}});
            t.eval(input, &item_context)
        }
        None => Ok(item),
    }
}

/// A number of the definition, or read by its path from the state's input.
fn resolve<T: Copy>(
    limit: &Limit<T>,
    input: &Value,
    context: &Value,
    read: impl Fn(&Value) -> Option<T>,
) -> Result<T, StatesError> {
    match limit {
        Limit::Fixed(n) => Ok(*n),
        Limit::Path(path) => {
            let value = path
                .select(input, context)
                .map_err(|e| StatesError::runtime(e.to_string()))?;
            read(&value).ok_or_else(|| {
                StatesError::runtime(format!(
                    "The path '{path}' does not reference a valid number: {value}"
                ))
            })
        }
    }
}

/// `MaxConcurrency` (or its path) as given, and how many iterations run at once.
fn max_concurrency(
    map: &MapState,
    input: &Value,
    context: &Value,
) -> Result<(u64, usize), StatesError> {
    let given = resolve(&map.max_concurrency, input, context, Value::as_u64)?;
    let limit = match usize::try_from(given) {
        Ok(0) | Err(_) => MAX_MAP_CONCURRENCY,
        Ok(n) => n.min(MAX_MAP_CONCURRENCY),
    };
    Ok((given, limit))
}

/// `ToleratedFailureCount` and `ToleratedFailurePercentage` (or their paths).
fn tolerated(
    map: &MapState,
    input: &Value,
    context: &Value,
) -> Result<(Option<u64>, Option<f64>), StatesError> {
    let count = (map.tolerated_failure_count.as_ref())
        .map(|l| resolve(l, input, context, Value::as_u64))
        .transpose()?;
    let share = (map.tolerated_failure_percentage.as_ref())
        .map(|l| {
            resolve(l, input, context, |v| {
                v.as_f64().filter(|p| (0.0..=100.0).contains(p))
            })
        })
        .transpose()?;
    Ok((count, share))
}

/// The items in batches of at most `MaxItemsPerBatch` items and `MaxInputBytesPerBatch` bytes
/// of input (an item larger than that alone), each child's input
/// `{"BatchInput": …, "Items": […]}`.
fn batches(
    batcher: &ItemBatcher,
    items: Vec<Value>,
    input: &Value,
    context: &Value,
) -> Result<Vec<(Value, usize)>, StatesError> {
    let max_items = (batcher.max_items.as_ref())
        .map(|l| resolve(l, input, context, Value::as_u64))
        .transpose()?
        .map_or(usize::MAX, |n| {
            usize::try_from(n.max(1)).unwrap_or(usize::MAX)
        });
    let max_bytes = (batcher.max_bytes.as_ref())
        .map(|l| resolve(l, input, context, Value::as_u64))
        .transpose()?
        .map_or(MAX_PAYLOAD, |n| {
            usize::try_from(n).map_or(MAX_PAYLOAD, |n| n.min(MAX_PAYLOAD))
        });
    let batch_input = (batcher.batch_input.as_ref())
        .map(|t| t.eval(input, context))
        .transpose()?;
    let wrap = |items: Vec<Value>| {
        let count = items.len();
        let mut batch = json!({"Items": items});
        if let Some(batch_input) = &batch_input {
            batch["BatchInput"] = batch_input.clone();
        }
        (batch, count)
    };
    // `{"BatchInput":…,"Items":[]}`, then each item and its comma.
    let base = wrap(Vec::new()).0.to_string().len();
    let mut out = Vec::new();
    let (mut batch, mut bytes) = (Vec::new(), base);
    for item in items {
        let size = item.to_string().len() + 1;
        if !batch.is_empty() && (batch.len() >= max_items || bytes + size > max_bytes) {
            out.push(wrap(std::mem::take(&mut batch)));
            bytes = base;
        }
        bytes += size;
        batch.push(item);
    }
    if !batch.is_empty() {
        out.push(wrap(batch));
    }
    Ok(out)
}

/// The delay before the next attempt, or `None` when no retrier has attempts left for `e`.
/// The first retrier whose `ErrorEquals` names the error decides.
fn retry_delay(
    retriers: &[Retrier],
    attempts: &mut [u64],
    e: &StatesError,
    clock: &dyn crate::env::Clock,
) -> Option<Duration> {
    let i = retriers.iter().position(|r| e.matches(&r.error_equals))?;
    let (retrier, done) = (&retriers[i], &mut attempts[i]);
    if *done >= retrier.max_attempts {
        return None;
    }
    let exponent = i32::try_from(*done).unwrap_or(i32::MAX);
    *done += 1;
    let mut seconds = retrier.interval_seconds as f64 * retrier.backoff_rate.powi(exponent);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max as f64);
    }
    let delay = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
    Some(if retrier.full_jitter {
        clock.jitter(delay)
    } else {
        delay
    })
}

/// Waits for a task token's success or failure, a heartbeat at least every `heartbeat` seconds.
async fn callback(
    mut waiting: crate::env::Waiting<'_>,
    heartbeat: Option<u64>,
    clock: &dyn crate::env::Clock,
) -> Result<Value, StatesError> {
    loop {
        let beat = async {
            match heartbeat {
                Some(h) => clock.sleep(Duration::from_secs(h)).await,
                None => futures_util::future::pending().await,
            }
        };
        tokio::select! {
            signal = waiting.signals.recv() => match signal {
                Some(Signal::Success(output)) => return Ok(output),
                Some(Signal::Failure(e)) => return Err(e),
                Some(Signal::Heartbeat) => continue,
                None => return Err(StatesError::runtime("The task token was dropped")),
            },
            () = beat => {
                return Err(StatesError::new(error::TIMEOUT, format!("No heartbeat came within {} seconds", heartbeat.unwrap_or(0))));
            }
        }
    }
}

async fn with_timeout<F>(
    work: F,
    timeout: Option<BoxFuture<'static, ()>>,
    timed_out: impl Fn() -> StatesError,
) -> Result<Value, StatesError>
where
    F: std::future::Future<Output = Result<Value, StatesError>>,
{
    match timeout {
        None => work.await,
        Some(sleep) => tokio::select! {
            biased;
            result = work => result,
            () = sleep => Err(timed_out()),
        },
    }
}

/// `Parameters`/`ItemSelector` over the effective input, or the input itself.
fn parameters(
    template: &Option<Template>,
    input: Value,
    context: &Value,
) -> Result<Value, StatesError> {
    match template {
        Some(t) => t.eval(&input, context),
        None => Ok(input),
    }
}

/// `ResultSelector` over the result (which is also its `$`).
fn selector(
    template: &Option<Template>,
    result: Value,
    context: &Value,
) -> Result<Value, StatesError> {
    parameters(template, result, context)
}

/// `ResultPath`: the result placed in the raw input (`null`: the raw input unchanged).
fn place(result_path: &Option<Path>, raw: Value, result: Value) -> Result<Value, StatesError> {
    match result_path {
        Some(path) => path
            .set(raw, result)
            .map_err(|e| StatesError::new(error::RESULT_PATH_MATCH_FAILURE, e.to_string())),
        None => Ok(raw),
    }
}

/// `OutputPath` (`null`: `{}`).
fn output(path: &Option<Path>, value: Value, context: &Value) -> Result<Value, StatesError> {
    match path {
        Some(path) => path
            .select(&value, context)
            .map_err(|e| StatesError::runtime(e.to_string())),
        None => Ok(json!({})),
    }
}
