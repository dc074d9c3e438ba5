//! Step Functions over the emulator's functions: the state machines and executions the Step
//! Functions API (`front/stepfunctions.rs`) manages, each execution a task running
//! `lambkin_workflow`'s interpreter with Task states invoking local functions (`invoker`).
//!
//! Operations take and give AWS's JSON (AWS JSON 1.0, the field names of the API reference:
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html>); errors
//! are [`ApiError`]s with AWS's error names. Memory is bounded: at most [`MAX_MACHINES`] state
//! machines and [`MAX_EXECUTIONS`] executions are kept (the oldest finished ones are forgotten
//! first), and a definition or an input has AWS's size limits.

mod invoker;
mod map_runs;
mod taken;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use lambkin_workflow::{
    Callbacks, Env, Execution, History, Outcome, Signal, StateMachine, StatesError, TokioClock,
};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::ACCOUNT_ID;
use crate::registry::{FunctionKey, Registry, split_name};
use crate::sync::lock;
pub(crate) use invoker::LocalFunctions;

/// The most state machines kept.
pub(crate) const MAX_MACHINES: usize = 1_000;
/// The most executions kept (running ones are never forgotten; past this many running,
/// StartExecution is refused).
pub(crate) const MAX_EXECUTIONS: usize = 1_000;
/// How many executions the status page lists.
const STATUS_EXECUTIONS: usize = 50;
/// The largest definition: 1 MiB (AWS's quota).
pub(crate) const MAX_DEFINITION: usize = 1024 * 1024;

/// A refused operation: AWS's error name and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// `InvalidDefinition`, `StateMachineDoesNotExist`, …
    pub(crate) error_type: &'static str,
    /// Why.
    pub(crate) message: String,
}

impl ApiError {
    /// StartExecution's refusal of an input that is not JSON text, saying why.
    pub(crate) fn invalid_input(why: impl std::fmt::Display) -> Self {
        ApiError::new(
            "InvalidExecutionInput",
            format!("Invalid State Machine Execution Input: '{why}'"),
        )
    }

    fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            error_type,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }
}

/// `STANDARD` or `EXPRESS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MachineType {
    Standard,
    Express,
}

impl MachineType {
    fn name(self) -> &'static str {
        match self {
            MachineType::Standard => "STANDARD",
            MachineType::Express => "EXPRESS",
        }
    }
}

#[derive(Debug, Clone)]
struct Machine {
    name: String,
    arn: String,
    /// Shared with the executions started from it (the dashboard draws theirs).
    definition: Arc<str>,
    parsed: Arc<StateMachine>,
    role_arn: String,
    kind: MachineType,
    created: SystemTime,
}

/// How an execution stands.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Running,
    Done(Outcome),
    Aborted,
}

/// One execution: who it is, its history, and how it stands.
#[derive(Debug)]
struct Run {
    info: Execution,
    /// The definition it runs (its machine's when it started).
    definition: Arc<str>,
    input: Value,
    history: Arc<History>,
    status: Mutex<(Status, Option<SystemTime>)>,
    abort: Mutex<Option<AbortHandle>>,
    /// Set once the execution has ended (StartSyncExecution waits for it).
    ended: watch::Sender<bool>,
}

impl Run {
    fn status(&self) -> (Status, Option<SystemTime>) {
        lock(&self.status).clone()
    }

    fn status_name(&self) -> &'static str {
        match self.status().0 {
            Status::Running => "RUNNING",
            Status::Done(Outcome::Succeeded(_)) => "SUCCEEDED",
            Status::Done(Outcome::Failed(_)) => "FAILED",
            Status::Done(Outcome::TimedOut(_)) => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }

    /// DescribeExecution's answer (also StartSyncExecution's, with the machine's ARN).
    fn describe(&self) -> Value {
        let (status, stopped) = self.status();
        let outcome = match &status {
            Status::Done(outcome) => Some(outcome),
            Status::Running | Status::Aborted => None,
        };
        describe(
            &self.info,
            &self.input,
            self.status_name(),
            stopped,
            outcome,
        )
    }

    /// StartExecution's answer.
    fn started(&self) -> Value {
        json!({"executionArn": self.info.arn, "startDate": epoch(self.info.start_time)})
    }

    fn summary(&self) -> Value {
        summary(&self.info, self.status_name(), self.status().1)
    }
}

/// DescribeExecution's answer for an execution: who it is, its input, status, and its output
/// or error once it has ended.
fn describe(
    info: &Execution,
    input: &Value,
    status: &str,
    stopped: Option<SystemTime>,
    outcome: Option<&Outcome>,
) -> Value {
    let mut out = summary(info, status, stopped);
    out["input"] = json!(input.to_string());
    out["inputDetails"] = json!({"included": true});
    match outcome {
        Some(Outcome::Succeeded(output)) => {
            out["output"] = json!(output.to_string());
            out["outputDetails"] = json!({"included": true});
        }
        Some(Outcome::Failed(e) | Outcome::TimedOut(e)) => {
            out["error"] = json!(e.error);
            out["cause"] = json!(e.cause);
        }
        None => {}
    }
    out
}

/// ListExecutions' entry for an execution.
fn summary(info: &Execution, status: &str, stopped: Option<SystemTime>) -> Value {
    let mut out = json!({
        "executionArn": info.arn, "stateMachineArn": info.state_machine_arn, "name": info.name,
        "status": status, "startDate": epoch(info.start_time),
    });
    if let Some(stopped) = stopped {
        out["stopDate"] = epoch(stopped);
    }
    out
}

/// The state machines and executions.
#[derive(Debug)]
pub(crate) struct Workflows {
    env: Env,
    /// The functions Task states invoke (checked for machines given at start).
    registry: Arc<Registry>,
    machines: Mutex<BTreeMap<String, Machine>>,
    /// By ARN, with the order they started in.
    runs: Mutex<Vec<Arc<Run>>>,
}

/// AWS JSON timestamps: epoch seconds.
fn epoch(time: SystemTime) -> Value {
    json!(
        time.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64 / 1000.0)
    )
}

/// A string field of a request.
fn field<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::new(
            "SerializationException",
            format!("'{name}' must be a string"),
        )),
    }
}

fn required<'a>(body: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    field(body, name)?.ok_or_else(|| {
        ApiError::validation(format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"))
    })
}

/// A state machine or execution name: 1–80 characters, none of AWS's forbidden ones.
/// <https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html>
fn check_name(name: &str, error_type: &'static str) -> Result<(), ApiError> {
    let bad = name.is_empty()
        || name.chars().count() > 80
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c));
    if bad {
        Err(ApiError::new(error_type, format!("Invalid Name: '{name}'")))
    } else {
        Ok(())
    }
}

fn parse_definition(text: &str) -> Result<StateMachine, ApiError> {
    if text.len() > MAX_DEFINITION {
        return Err(ApiError::new(
            "InvalidDefinition",
            format!(
                "Invalid State Machine Definition: the definition is over {MAX_DEFINITION} bytes"
            ),
        ));
    }
    StateMachine::from_json(text)
        .map_err(|invalid| ApiError::new("InvalidDefinition", invalid.to_string()))
}

/// An execution's input: JSON text of at most 256 KiB (`{}` if absent).
fn parse_input(input: Option<&str>) -> Result<Value, ApiError> {
    let text = input.unwrap_or("{}");
    if text.len() > lambkin_workflow::MAX_PAYLOAD {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {}",
            lambkin_workflow::MAX_PAYLOAD
        )));
    }
    serde_json::from_str(text).map_err(ApiError::invalid_input)
}

impl Workflows {
    /// Workflows whose Task states invoke `registry`'s functions; ARNs in `region`.
    pub(crate) fn new(registry: Arc<Registry>, region: &str) -> Self {
        let invoker = LocalFunctions {
            registry: registry.clone(),
            region: region.to_owned(),
        };
        let env = Env {
            invoker: Arc::new(invoker),
            clock: Arc::new(TokioClock::new()),
            callbacks: Arc::new(Callbacks::default()),
            map_runs: Arc::default(),
            region: region.to_owned(),
        };
        Workflows {
            env,
            registry,
            machines: Mutex::default(),
            runs: Mutex::default(),
        }
    }

    fn machine_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{ACCOUNT_ID}:stateMachine:{name}",
            self.env.region
        )
    }

    /// Adds a state machine from a definition read at start (a template or a `.asl.json`),
    /// replacing one of the same name; `express` for an `EXPRESS` one.
    pub(crate) fn add(
        &self,
        name: &str,
        definition: &str,
        express: bool,
    ) -> Result<String, ApiError> {
        check_name(name, "InvalidName")?;
        let parsed = parse_definition(definition)?;
        let kind = if express {
            MachineType::Express
        } else {
            MachineType::Standard
        };
        // A template's Task naming a function the emulator does not serve is most likely a typo:
        // refused at start (AWS itself finds out at run time: Lambda.ResourceNotFoundException).
        if let Some((location, function)) = parsed.task_functions().into_iter().find(|(_, f)| {
            let (name, qualifier) = split_name(f);
            self.registry
                .get(&FunctionKey::new(name, qualifier))
                .is_none()
        }) {
            return Err(ApiError::new(
                "InvalidDefinition",
                format!(
                    "the Task at {location} names function `{function}`, which the emulator does not serve"
                ),
            ));
        }
        let machine = self.machine(name, definition, parsed, None, kind);
        let arn = machine.arn.clone();
        lock(&self.machines).insert(name.to_owned(), machine);
        Ok(arn)
    }

    fn machine(
        &self,
        name: &str,
        definition: &str,
        parsed: StateMachine,
        role_arn: Option<&str>,
        kind: MachineType,
    ) -> Machine {
        Machine {
            name: name.to_owned(),
            arn: self.machine_arn(name),
            definition: definition.into(),
            parsed: Arc::new(parsed),
            role_arn: role_arn.map_or_else(
                || format!("arn:aws:iam::{ACCOUNT_ID}:role/lambkin"),
                str::to_owned,
            ),
            kind,
            created: SystemTime::now(),
        }
    }

    /// Starts an execution of the state machine `name` (a schedule's or an API route's
    /// target) with the JSON text `input`, named `execution` (else a generated name):
    /// StartExecution's answer, `{"executionArn", "startDate"}`.
    pub(crate) fn start_execution(
        &self,
        name: &str,
        input: &str,
        execution: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut body = json!({"stateMachineArn": self.machine_arn(name), "input": input});
        if let Some(execution) = execution {
            body["name"] = json!(execution);
        }
        self.start(&body).map(|run| run.started())
    }

    /// Runs one operation of the Step Functions API (`operation` is the part of
    /// `X-Amz-Target` after `AWSStepFunctions.`).
    pub(crate) async fn call(&self, operation: &str, body: &Value) -> Result<Value, ApiError> {
        match operation {
            "CreateStateMachine" => self.create(body),
            "DescribeStateMachine" => self.find_machine(required(body, "stateMachineArn")?).map(|m| {
                json!({"stateMachineArn": m.arn, "name": m.name, "status": "ACTIVE", "definition": &*m.definition,
                       "roleArn": m.role_arn, "type": m.kind.name(), "creationDate": epoch(m.created)})
            }),
            "ListStateMachines" => {
                let machines = lock(&self.machines);
                let list: Vec<Value> = machines
                    .values()
                    .map(|m| json!({"stateMachineArn": m.arn, "name": m.name, "type": m.kind.name(), "creationDate": epoch(m.created)}))
                    .collect();
                Ok(json!({"stateMachines": list}))
            }
            "UpdateStateMachine" => self.update(body),
            "DeleteStateMachine" => {
                let arn = required(body, "stateMachineArn")?;
                lock(&self.machines).retain(|_, m| m.arn != arn);
                Ok(json!({}))
            }
            "ValidateStateMachineDefinition" => {
                let definition = required(body, "definition")?;
                Ok(match StateMachine::from_json(definition) {
                    Ok(_) => json!({"result": "OK", "diagnostics": []}),
                    Err(invalid) => {
                        let diagnostics: Vec<Value> = invalid
                            .0
                            .iter()
                            .map(|d| json!({"severity": "ERROR", "code": d.code, "message": d.message, "location": d.location}))
                            .collect();
                        json!({"result": "FAIL", "diagnostics": diagnostics})
                    }
                })
            }
            "StartExecution" => self.start(body).map(|run| run.started()),
            "StartSyncExecution" => self.start_sync(body).await,
            "DescribeExecution" => self.describe_execution(required(body, "executionArn")?),
            "ListExecutions" => self.list_executions(body),
            "GetExecutionHistory" => self.history(body),
            "DescribeMapRun" => self.describe_map_run(required(body, "mapRunArn")?),
            "ListMapRuns" => self.list_map_runs(body),
            "StopExecution" => self.stop(body),
            "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat" => self.signal(operation, body),
            other => Err(ApiError::new("UnknownOperationException", format!("Unknown operation {other}"))),
        }
    }

    fn create(&self, body: &Value) -> Result<Value, ApiError> {
        let name = required(body, "name")?;
        check_name(name, "InvalidName")?;
        let definition = required(body, "definition")?;
        let kind = match field(body, "type")? {
            None | Some("STANDARD") => MachineType::Standard,
            Some("EXPRESS") => MachineType::Express,
            Some(other) => {
                return Err(ApiError::validation(format!(
                    "Invalid type '{other}': STANDARD or EXPRESS"
                )));
            }
        };
        let parsed = parse_definition(definition)?;
        let mut machines = lock(&self.machines);
        if let Some(existing) = machines.get(name) {
            // AWS makes CreateStateMachine idempotent for the same definition.
            if *existing.definition == *definition && existing.kind == kind {
                return Ok(
                    json!({"stateMachineArn": existing.arn, "creationDate": epoch(existing.created)}),
                );
            }
            return Err(ApiError::new(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{}'", existing.arn),
            ));
        }
        if machines.len() >= MAX_MACHINES {
            return Err(ApiError::new(
                "StateMachineLimitExceeded",
                format!("The emulator keeps at most {MAX_MACHINES} state machines"),
            ));
        }
        let machine = self.machine(name, definition, parsed, field(body, "roleArn")?, kind);
        let out = json!({"stateMachineArn": machine.arn, "creationDate": epoch(machine.created)});
        machines.insert(name.to_owned(), machine);
        Ok(out)
    }

    fn update(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = required(body, "stateMachineArn")?;
        let parsed = field(body, "definition")?
            .map(|d| parse_definition(d).map(|p| (d, p)))
            .transpose()?;
        let role = field(body, "roleArn")?;
        let mut machines = lock(&self.machines);
        let machine = machines
            .values_mut()
            .find(|m| m.arn == arn)
            .ok_or_else(|| not_found_machine(arn))?;
        if let Some((text, parsed)) = parsed {
            machine.definition = text.into();
            machine.parsed = Arc::new(parsed);
        }
        if let Some(role) = role {
            machine.role_arn = role.to_owned();
        }
        Ok(json!({"updateDate": epoch(SystemTime::now())}))
    }

    fn find_machine(&self, arn: &str) -> Result<Machine, ApiError> {
        lock(&self.machines)
            .values()
            .find(|m| m.arn == arn)
            .cloned()
            .ok_or_else(|| not_found_machine(arn))
    }

    fn find_run(&self, arn: &str) -> Result<Arc<Run>, ApiError> {
        lock(&self.runs)
            .iter()
            .find(|r| r.info.arn == arn)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    "ExecutionDoesNotExist",
                    format!("Execution Does Not Exist: '{arn}'"),
                )
            })
    }

    /// Starts an execution in its own task.
    fn start(&self, body: &Value) -> Result<Arc<Run>, ApiError> {
        let machine = self.find_machine(required(body, "stateMachineArn")?)?;
        let input = parse_input(field(body, "input")?)?;
        let name = match field(body, "name")? {
            Some(name) => {
                check_name(name, "InvalidName")?;
                name.to_owned()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let info = Execution {
            arn: format!(
                "arn:aws:states:{}:{ACCOUNT_ID}:execution:{}:{name}",
                self.env.region, machine.name
            ),
            name,
            state_machine_arn: machine.arn.clone(),
            state_machine_name: machine.name.clone(),
            role_arn: machine.role_arn.clone(),
            start_time: self.env.clock.now(),
        };
        let run = Arc::new(Run {
            info,
            definition: machine.definition.clone(),
            input: input.clone(),
            history: Arc::new(History::new()),
            status: Mutex::new((Status::Running, None)),
            abort: Mutex::default(),
            ended: watch::Sender::new(false),
        });
        {
            let mut runs = lock(&self.runs);
            if runs.iter().any(|r| r.info.arn == run.info.arn) {
                return Err(ApiError::new(
                    "ExecutionAlreadyExists",
                    format!("Execution Already Exists: '{}'", run.info.arn),
                ));
            }
            if runs.len() >= MAX_EXECUTIONS {
                match runs.iter().position(|r| r.status().0 != Status::Running) {
                    Some(oldest_done) => {
                        let forgotten = runs.remove(oldest_done);
                        self.env.map_runs.forget(&forgotten.info.arn);
                    }
                    None => {
                        return Err(ApiError::new(
                            "ExecutionLimitExceeded",
                            format!(
                                "The emulator runs at most {MAX_EXECUTIONS} executions at once"
                            ),
                        ));
                    }
                }
            }
            runs.push(run.clone());
        }
        let (env, task_run) = (self.env.clone(), run.clone());
        let task = tokio::spawn(async move {
            let outcome = lambkin_workflow::run(
                &machine.parsed,
                &task_run.info,
                input,
                &env,
                &task_run.history,
            )
            .await;
            {
                let mut status = lock(&task_run.status);
                if status.0 == Status::Running {
                    *status = (Status::Done(outcome), Some(env.clock.now()));
                }
            }
            task_run.ended.send_replace(true);
        });
        *lock(&run.abort) = Some(task.abort_handle());
        Ok(run)
    }

    /// StartSyncExecution (Express state machines): runs the execution and answers its end.
    async fn start_sync(&self, body: &Value) -> Result<Value, ApiError> {
        let machine = self.find_machine(required(body, "stateMachineArn")?)?;
        if machine.kind != MachineType::Express {
            return Err(ApiError::new(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            ));
        }
        let run = self.start(body)?;
        // The sender lives as long as `run`: waiting cannot fail.
        let _ = run.ended.subscribe().wait_for(|ended| *ended).await;
        let mut out = run.describe();
        out["stateMachineArn"] = json!(machine.arn);
        Ok(out)
    }

    fn list_executions(&self, body: &Value) -> Result<Value, ApiError> {
        if let Some(map_run) = field(body, "mapRunArn")? {
            return self.map_run_executions(map_run, body);
        }
        let arn = required(body, "stateMachineArn")?;
        self.find_machine(arn)?;
        let filter = field(body, "statusFilter")?;
        let runs = lock(&self.runs);
        let list: Vec<Value> = runs
            .iter()
            .rev()
            .filter(|r| {
                r.info.state_machine_arn == arn && filter.is_none_or(|f| f == r.status_name())
            })
            .map(|r| r.summary())
            .collect();
        Ok(json!({"executions": list}))
    }

    /// GetExecutionHistory, `maxResults` at a time (default 100, at most 1000), `nextToken`
    /// the offset of the next page.
    fn history(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = required(body, "executionArn")?;
        let size = match body.get("maxResults").and_then(Value::as_u64) {
            None | Some(0) => 100,
            Some(n) => usize::try_from(n.min(1000)).unwrap_or(1000),
        };
        let start = match field(body, "nextToken")? {
            None => 0,
            Some(token) => token
                .parse::<usize>()
                .map_err(|_| ApiError::new("InvalidToken", format!("Invalid Token: '{token}'")))?,
        };
        let mut events = match self.find_run(arn) {
            Ok(run) => run.history.events(),
            Err(not_found) => match self.env.map_runs.child(arn) {
                Some((_, child)) => child.history.events(),
                None => return Err(not_found),
            },
        };
        if body.get("reverseOrder") == Some(&Value::Bool(true)) {
            events.reverse();
        }
        let page: Vec<Value> = events
            .iter()
            .skip(start)
            .take(size)
            .map(|e| e.to_json())
            .collect();
        let mut out = json!({"events": page});
        if start + size < events.len() {
            out["nextToken"] = json!((start + size).to_string());
        }
        Ok(out)
    }

    fn stop(&self, body: &Value) -> Result<Value, ApiError> {
        let run = self.find_run(required(body, "executionArn")?)?;
        let now = self.env.clock.now();
        let mut status = lock(&run.status);
        if status.0 == Status::Running {
            if let Some(task) = lock(&run.abort).take() {
                task.abort();
            }
            let mut details = json!({});
            for (name, key) in [("error", "error"), ("cause", "cause")] {
                if let Some(text) = field(body, name)? {
                    details[key] = json!(text);
                }
            }
            let last = run.history.events().last().map_or(0, |e| e.id);
            run.history.record_end(
                last,
                now,
                lambkin_workflow::EventType::ExecutionAborted,
                Some(details),
            );
            *status = (Status::Aborted, Some(now));
            run.ended.send_replace(true);
        }
        Ok(json!({"stopDate": epoch(status.1.unwrap_or(now))}))
    }

    fn signal(&self, operation: &str, body: &Value) -> Result<Value, ApiError> {
        let token = required(body, "taskToken")?;
        let signal = match operation {
            "SendTaskSuccess" => {
                let output = required(body, "output")?;
                let output = serde_json::from_str(output).map_err(|e| {
                    ApiError::new("InvalidOutput", format!("Invalid Output: '{e}'"))
                })?;
                Signal::Success(output)
            }
            "SendTaskFailure" => Signal::Failure(StatesError::new(
                field(body, "error")?.unwrap_or_default(),
                field(body, "cause")?.unwrap_or_default(),
            )),
            _ => Signal::Heartbeat,
        };
        self.env
            .callbacks
            .send(token, signal)
            .map_err(|e| ApiError::new("TaskDoesNotExist", e.to_string()))?;
        Ok(json!({}))
    }

    /// The newest executions (at most [`STATUS_EXECUTIONS`]) for the status page: name,
    /// machine, status, and how many events each has.
    pub(crate) fn summaries(&self) -> Vec<Value> {
        lock(&self.runs)
            .iter()
            .rev()
            .take(STATUS_EXECUTIONS)
            .map(|r| {
                let mut summary = r.summary();
                summary["events"] = json!(r.history.len());
                summary
            })
            .collect()
    }

    /// One execution for the dashboard: DescribeExecution's fields, the definition it runs
    /// (as JSON) and the path it took so far (`taken::path`).
    pub(crate) fn execution(&self, arn: &str) -> Result<Value, ApiError> {
        let run = self.find_run(arn)?;
        let mut out = run.describe();
        // The definition was parsed when its machine was created: it is JSON.
        out["definition"] = serde_json::from_str(&run.definition).unwrap_or(Value::Null);
        out["path"] = taken::path(&run.history.events());
        out["events"] = json!(run.history.len());
        Ok(out)
    }
}

fn not_found_machine(arn: &str) -> ApiError {
    ApiError::new(
        "StateMachineDoesNotExist",
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        assert!(check_name("order-flow_1", "InvalidName").is_ok());
        for bad in ["", "has space", "a/b", "x?", &"n".repeat(81)] {
            assert_eq!(
                check_name(bad, "InvalidName").unwrap_err().error_type,
                "InvalidName",
                "{bad}"
            );
        }
    }

    #[test]
    fn inputs_are_json_within_256_kib() {
        assert_eq!(parse_input(None).unwrap(), json!({}));
        assert_eq!(
            parse_input(Some("{")).unwrap_err().error_type,
            "InvalidExecutionInput"
        );
        let big = format!("\"{}\"", "x".repeat(lambkin_workflow::MAX_PAYLOAD));
        assert_eq!(
            parse_input(Some(&big)).unwrap_err().error_type,
            "ValidationException"
        );
    }
}
