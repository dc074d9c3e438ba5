//! A state machine's definition: Amazon States Language read into typed states, and checked
//! as `ValidateStateMachineDefinition` does, every problem a [`Diagnostic`] with its location
//! (`/States/Check/Next`).
//! <https://states-language.net/spec.html>,
//! <https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html>

use crate::choice::Rule;
use crate::path::Path;
use crate::template::Template;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The largest input or output of a state or an execution: 256 KiB.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// One problem found in a definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// AWS's code: `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`, …
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where: a JSON pointer into the definition.
    pub location: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} at {}", self.code, self.message, self.location)
    }
}

/// A definition that did not validate: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid State Machine Definition: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))]
pub struct InvalidDefinition(pub Vec<Diagnostic>);

const SCHEMA: &str = "SCHEMA_VALIDATION_FAILED";
const MISSING_TARGET: &str = "MISSING_TRANSITION_TARGET";
const UNREACHABLE: &str = "UNREACHABLE_STATE";
const NO_TERMINAL: &str = "NO_TERMINAL_STATE";
const INVALID_JSON: &str = "INVALID_JSON_DESCRIPTION";
const UNSUPPORTED: &str = "UNSUPPORTED_FEATURE";

/// A state machine (or a Parallel branch, or a Map's item processor).
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    /// The first state.
    pub start_at: String,
    /// The states by name.
    pub states: BTreeMap<String, State>,
    /// The execution's time limit (top level only).
    pub timeout_seconds: Option<u64>,
}

/// One state.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Its name.
    pub name: String,
    /// What it does.
    pub kind: Kind,
    /// `InputPath`: `None` is `null` (the state sees `{}`); absent is `$`.
    pub input_path: Option<Path>,
    /// `OutputPath`: `None` is `null` (the state outputs `{}`); absent is `$`.
    pub output_path: Option<Path>,
    /// `Parameters` (Map: `ItemSelector`, read into [`MapState::item_selector`]).
    pub parameters: Option<Template>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `ResultPath`: `None` is `null` (the result is discarded); absent is `$`.
    pub result_path: Option<Path>,
    /// `Next` (`None`: `End`, or a state that does not transition).
    pub next: Option<String>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
}

/// The type of a state and its own fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `Pass` with its optional `Result`.
    Pass(Option<Value>),
    /// `Task`.
    Task(Task),
    /// `Choice`: rules with their `Next`, and `Default`.
    Choice(Vec<(Rule, String)>, Option<String>),
    /// `Wait`.
    Wait(Wait),
    /// `Succeed`.
    Succeed,
    /// `Fail`: `Error`/`ErrorPath` and `Cause`/`CausePath`.
    Fail(Option<Text>, Option<Text>),
    /// `Parallel` with its branches.
    Parallel(Vec<StateMachine>),
    /// `Map`.
    Map(Box<MapState>),
}

impl Kind {
    /// The state type as AWS names it (`Task`, `Pass`, …), the prefix of its history events.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass(_) => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice(..) => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail(..) => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

/// A Task's resource and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// `Resource`: a Lambda ARN or name, or `arn:aws:states:::lambda:invoke[.waitForTaskToken]`.
    pub resource: String,
    /// `TimeoutSeconds`/`TimeoutSecondsPath`.
    pub timeout: Option<Seconds>,
    /// `HeartbeatSeconds`/`HeartbeatSecondsPath`.
    pub heartbeat: Option<Seconds>,
}

/// A number of seconds given literally or by a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seconds {
    /// A literal.
    Fixed(u64),
    /// A reference path into the state's input.
    Path(Path),
}

/// A text given literally or by a path (a Fail state's `Error` and `Cause`).
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    /// A literal.
    Fixed(String),
    /// A path into the state's input.
    Path(Path),
}

/// How long a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum Wait {
    /// `Seconds`.
    Seconds(u64),
    /// `Timestamp`.
    Timestamp(time::OffsetDateTime),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// A Map state's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct MapState {
    /// `ItemProcessor` (or the older `Iterator`).
    pub processor: StateMachine,
    /// `ItemsPath` (default `$`).
    pub items_path: Path,
    /// `ItemSelector` (or the older `Parameters`).
    pub item_selector: Option<Template>,
    /// `MaxConcurrency` (0: no limit), or `MaxConcurrencyPath`.
    pub max_concurrency: Limit<u64>,
    /// `ToleratedFailureCount`, or `ToleratedFailureCountPath`.
    pub tolerated_failure_count: Option<Limit<u64>>,
    /// `ToleratedFailurePercentage`, or `ToleratedFailurePercentagePath`.
    pub tolerated_failure_percentage: Option<Limit<f64>>,
    /// `ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED`: each item (or batch) runs as a child
    /// execution of a Map Run; `None` for an Inline Map.
    pub distributed: Option<Distributed>,
}

/// A number given in the definition or read from the state's input by a `…Path` field.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit<T> {
    /// Written in the definition.
    Fixed(T),
    /// Read from the state's (effective) input.
    Path(Path),
}

/// A Distributed Map's own settings.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html>
#[derive(Debug, Clone, PartialEq)]
pub struct Distributed {
    /// `ProcessorConfig.ExecutionType: EXPRESS` (else `STANDARD`) child executions.
    pub express: bool,
    /// `Label`, in the Map Run's ARN (else a generated one).
    pub label: Option<String>,
    /// `ItemBatcher`: items run in batches.
    pub batcher: Option<ItemBatcher>,
}

/// `ItemBatcher`: at most `max_items` items and `max_bytes` bytes of JSON per child execution,
/// whose input is `{"BatchInput": …, "Items": […]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemBatcher {
    /// `MaxItemsPerBatch` or `MaxItemsPerBatchPath`.
    pub max_items: Option<Limit<u64>>,
    /// `MaxInputBytesPerBatch` or `MaxInputBytesPerBatchPath` (at most 256 KiB).
    pub max_bytes: Option<Limit<u64>>,
    /// `BatchInput`, a template over the state's input.
    pub batch_input: Option<Template>,
}

/// One `Retry` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `IntervalSeconds` (default 1).
    pub interval_seconds: u64,
    /// `MaxAttempts` (default 3; 0 never retries).
    pub max_attempts: u64,
    /// `BackoffRate` (default 2.0).
    pub backoff_rate: f64,
    /// `MaxDelaySeconds`.
    pub max_delay_seconds: Option<u64>,
    /// `JitterStrategy: FULL`.
    pub full_jitter: bool,
}

/// One `Catch` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// `ErrorEquals`.
    pub error_equals: Vec<String>,
    /// `Next`.
    pub next: String,
    /// `ResultPath` (default `$`; `None` is `null`).
    pub result_path: Option<Path>,
}

/// Fields each state type accepts, beyond `Type` and `Comment`.
fn allowed(kind: &str) -> Option<&'static [&'static str]> {
    const IO: [&str; 2] = ["InputPath", "OutputPath"];
    Some(match kind {
        "Pass" => &[
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultPath",
            "Result",
            "Next",
            "End",
        ],
        "Task" => &[
            "Resource",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Next",
            "End",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &["Choices", "Default", "InputPath", "OutputPath"],
        "Wait" => &[
            "Seconds",
            "Timestamp",
            "SecondsPath",
            "TimestampPath",
            "InputPath",
            "OutputPath",
            "Next",
            "End",
        ],
        "Succeed" => &IO,
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Branches",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        "Map" => &[
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ItemBatcher",
            "Label",
            "InputPath",
            "OutputPath",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Next",
            "End",
        ],
        _ => return None,
    })
}

/// Fields of the JSONata query language and of features that need AWS services.
const NOT_SUPPORTED: &[(&str, &str)] = &[
    (
        "Arguments",
        "JSONata ('Arguments') is not supported by lambkin; use JSONPath ('Parameters')",
    ),
    (
        "Output",
        "JSONata ('Output') is not supported by lambkin; use JSONPath ('OutputPath')",
    ),
    (
        "Assign",
        "variables ('Assign') are not supported by lambkin",
    ),
    (
        "Items",
        "JSONata ('Items') is not supported by lambkin; use 'ItemsPath'",
    ),
    (
        "ItemReader",
        "reading Map items from S3 ('ItemReader') is not supported by lambkin",
    ),
    (
        "ResultWriter",
        "writing Map results to S3 ('ResultWriter') is not supported by lambkin",
    ),
];

impl StateMachine {
    /// Parses and validates a definition's JSON text.
    pub fn from_json(text: &str) -> Result<Self, InvalidDefinition> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            InvalidDefinition(vec![Diagnostic {
                code: INVALID_JSON,
                message: format!("the definition is not JSON: {e}"),
                location: "/".into(),
            }])
        })?;
        Self::from_value(&value)
    }

    /// The functions its Task states name directly in `Resource` (a Lambda ARN or a name; not
    /// the `lambda:invoke` integration, whose `FunctionName` may come from the input), each
    /// with the location of its `Resource` (`/States/P/Branches/0/States/A/Resource`).
    pub fn task_functions(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        self.collect_functions("", &mut out);
        out
    }

    fn collect_functions<'s>(&'s self, loc: &str, out: &mut Vec<(String, &'s str)>) {
        for (name, state) in &self.states {
            let loc = format!("{loc}/States/{name}");
            match &state.kind {
                Kind::Task(task) if !task.resource.starts_with("arn:aws:states:") => {
                    out.push((format!("{loc}/Resource"), task.resource.as_str()));
                }
                Kind::Parallel(branches) => {
                    for (i, branch) in branches.iter().enumerate() {
                        branch.collect_functions(&format!("{loc}/Branches/{i}"), out);
                    }
                }
                Kind::Map(map) => map
                    .processor
                    .collect_functions(&format!("{loc}/ItemProcessor"), out),
                _ => {}
            }
        }
    }

    /// Parses and validates a definition.
    pub fn from_value(value: &Value) -> Result<Self, InvalidDefinition> {
        let mut reader = Reader::default();
        let machine = reader.machine(value, "", true);
        match machine {
            Some(machine) if reader.diagnostics.is_empty() => Ok(machine),
            _ => Err(InvalidDefinition(reader.diagnostics)),
        }
    }
}

/// Reads a definition, collecting every problem rather than stopping at the first.
#[derive(Default)]
struct Reader {
    diagnostics: Vec<Diagnostic>,
}

impl Reader {
    fn report(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        location: impl Into<String>,
    ) {
        let location = location.into();
        self.diagnostics.push(Diagnostic {
            code,
            message: message.into(),
            location: if location.is_empty() {
                "/".into()
            } else {
                location
            },
        });
    }

    fn machine(&mut self, value: &Value, loc: &str, top: bool) -> Option<StateMachine> {
        let Some(map) = value.as_object() else {
            self.report(SCHEMA, "a state machine is an object", loc);
            return None;
        };
        let extra: &[&str] = if top {
            &[
                "Comment",
                "StartAt",
                "States",
                "TimeoutSeconds",
                "Version",
                "QueryLanguage",
            ]
        } else {
            &[
                "Comment",
                "StartAt",
                "States",
                "ProcessorConfig",
                "QueryLanguage",
            ]
        };
        for key in map.keys().filter(|k| !extra.contains(&k.as_str())) {
            self.report(
                SCHEMA,
                format!("Field '{key}' is not supported"),
                format!("{loc}/{key}"),
            );
        }
        self.query_language(map, loc);
        let timeout_seconds = self.uint(map, "TimeoutSeconds", loc);
        let start_at = self.string(map, "StartAt", loc, true);
        let Some(states) = map.get("States").and_then(Value::as_object) else {
            self.report(
                SCHEMA,
                "'States' is required and must be an object",
                format!("{loc}/States"),
            );
            return None;
        };
        let states: BTreeMap<String, State> = states
            .iter()
            .filter_map(|(name, state)| {
                Some((
                    name.clone(),
                    self.state(name, state, &format!("{loc}/States/{name}"))?,
                ))
            })
            .collect();
        let start_at = start_at?;
        self.transitions(&states, &start_at, loc);
        Some(StateMachine {
            start_at,
            states,
            timeout_seconds,
        })
    }

    /// Every target exists, every state is reachable, and some state ends the machine.
    fn transitions(&mut self, states: &BTreeMap<String, State>, start_at: &str, loc: &str) {
        if states.is_empty() {
            self.report(
                SCHEMA,
                "'States' must not be empty",
                format!("{loc}/States"),
            );
            return;
        }
        if !states.contains_key(start_at) {
            self.report(
                MISSING_TARGET,
                format!("Missing 'Next' target: {start_at}"),
                format!("{loc}/StartAt"),
            );
        }
        let mut reachable = BTreeSet::new();
        let mut queue = vec![start_at.to_owned()];
        while let Some(name) = queue.pop() {
            let Some(state) = states.get(&name) else {
                continue;
            };
            if !reachable.insert(name) {
                continue;
            }
            for (target, field) in targets(state) {
                if states.contains_key(target) {
                    queue.push(target.to_owned());
                } else {
                    self.report(
                        MISSING_TARGET,
                        format!("Missing 'Next' target: {target}"),
                        format!("{loc}/States/{}/{field}", state.name),
                    );
                }
            }
        }
        if states.contains_key(start_at) {
            for name in states.keys().filter(|n| !reachable.contains(*n)) {
                self.report(
                    UNREACHABLE,
                    format!("State '{name}' is not reachable from '{start_at}'"),
                    format!("{loc}/States/{name}"),
                );
            }
        }
        let terminal = |s: &State| {
            matches!(s.kind, Kind::Succeed | Kind::Fail(..))
                || (s.next.is_none() && !matches!(s.kind, Kind::Choice(..)))
        };
        if !states.values().any(terminal) {
            self.report(
                NO_TERMINAL,
                "No state ends the machine (an 'End': true, a Succeed or a Fail state)",
                format!("{loc}/States"),
            );
        }
    }

    fn query_language(&mut self, map: &Map<String, Value>, loc: &str) {
        match map.get("QueryLanguage").map(|v| v.as_str()) {
            None | Some(Some("JSONPath")) => {}
            Some(Some("JSONata")) => self.report(
                UNSUPPORTED,
                "JSONata is not supported by lambkin; use QueryLanguage \"JSONPath\"",
                format!("{loc}/QueryLanguage"),
            ),
            Some(_) => self.report(
                SCHEMA,
                "'QueryLanguage' must be \"JSONPath\" or \"JSONata\"",
                format!("{loc}/QueryLanguage"),
            ),
        }
    }

    fn state(&mut self, name: &str, value: &Value, loc: &str) -> Option<State> {
        let Some(map) = value.as_object() else {
            self.report(SCHEMA, "a state is an object", loc);
            return None;
        };
        if name.is_empty() || name.chars().count() > 80 {
            self.report(SCHEMA, "a state name is 1 to 80 characters", loc);
        }
        let kind_name = self.string(map, "Type", loc, true)?;
        let Some(fields) = allowed(&kind_name) else {
            self.report(
                SCHEMA,
                format!("'{kind_name}' is not a state type"),
                format!("{loc}/Type"),
            );
            return None;
        };
        self.query_language(map, loc);
        for key in map.keys().filter(|k| {
            !matches!(k.as_str(), "Type" | "Comment" | "QueryLanguage")
                && !fields.contains(&k.as_str())
        }) {
            match NOT_SUPPORTED.iter().find(|(field, _)| field == key) {
                Some((_, why)) => self.report(
                    UNSUPPORTED,
                    format!("State '{name}': {why}"),
                    format!("{loc}/{key}"),
                ),
                None => self.report(
                    SCHEMA,
                    format!("Field '{key}' is not supported for a {kind_name} state"),
                    format!("{loc}/{key}"),
                ),
            }
        }
        let next = self.string(map, "Next", loc, false);
        let end = map.get("End");
        if end.is_some_and(|e| !e.is_boolean()) {
            self.report(SCHEMA, "'End' must be a boolean", format!("{loc}/End"));
        }
        let end = end == Some(&Value::Bool(true));
        if fields.contains(&"Next") {
            match (&next, end) {
                (Some(_), true) => {
                    self.report(SCHEMA, "A state cannot have both 'Next' and 'End'", loc)
                }
                (None, false) => {
                    self.report(SCHEMA, "These fields are required: [Next | End]", loc)
                }
                _ => {}
            }
        }
        let kind = match kind_name.as_str() {
            "Pass" => Kind::Pass(map.get("Result").cloned()),
            "Task" => Kind::Task(Task {
                resource: self.string(map, "Resource", loc, true)?,
                timeout: self.seconds(map, "TimeoutSeconds", loc),
                heartbeat: self.seconds(map, "HeartbeatSeconds", loc),
            }),
            "Choice" => self.choice(map, loc)?,
            "Wait" => Kind::Wait(self.wait(map, loc)?),
            "Succeed" => Kind::Succeed,
            "Fail" => Kind::Fail(self.text(map, "Error", loc), self.text(map, "Cause", loc)),
            "Parallel" => {
                let Some(branches) = map
                    .get("Branches")
                    .and_then(Value::as_array)
                    .filter(|b| !b.is_empty())
                else {
                    self.report(
                        SCHEMA,
                        "'Branches' is required: a non-empty array of state machines",
                        format!("{loc}/Branches"),
                    );
                    return None;
                };
                let branches: Vec<_> = branches
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| self.machine(b, &format!("{loc}/Branches/{i}"), false))
                    .collect();
                Kind::Parallel(branches)
            }
            "Map" => Kind::Map(Box::new(self.map_state(map, loc)?)),
            _ => return None,
        };
        let template = |reader: &mut Self, key: &str| {
            let value = map.get(key)?;
            Template::parse(value)
                .map_err(|(sub, why)| reader.report(SCHEMA, why, format!("{loc}/{key}{sub}")))
                .ok()
        };
        let parameters = if kind_name == "Map" {
            None
        } else {
            template(self, "Parameters")
        };
        let state = State {
            name: name.to_owned(),
            input_path: self
                .path(map, "InputPath", loc, false)
                .unwrap_or_else(|| Some(Path::root())),
            output_path: self
                .path(map, "OutputPath", loc, false)
                .unwrap_or_else(|| Some(Path::root())),
            parameters,
            result_selector: template(self, "ResultSelector"),
            result_path: self
                .path(map, "ResultPath", loc, true)
                .unwrap_or_else(|| Some(Path::root())),
            next,
            retry: self.retriers(map, loc),
            catch: self.catchers(map, loc),
            kind,
        };
        Some(state)
    }

    fn choice(&mut self, map: &Map<String, Value>, loc: &str) -> Option<Kind> {
        let Some(choices) = map
            .get("Choices")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
        else {
            self.report(
                SCHEMA,
                "'Choices' is required: a non-empty array of rules",
                format!("{loc}/Choices"),
            );
            return None;
        };
        let mut rules = Vec::new();
        for (i, choice) in choices.iter().enumerate() {
            let at = format!("{loc}/Choices/{i}");
            let Some(obj) = choice.as_object() else {
                self.report(SCHEMA, "a rule is an object", at);
                continue;
            };
            let Some(next) = self.string(obj, "Next", &at, true) else {
                continue;
            };
            match Rule::parse(obj) {
                Ok(rule) => rules.push((rule, next)),
                Err((sub, why)) => self.report(SCHEMA, why, format!("{at}{sub}")),
            }
        }
        Some(Kind::Choice(rules, self.string(map, "Default", loc, false)))
    }

    fn wait(&mut self, map: &Map<String, Value>, loc: &str) -> Option<Wait> {
        let given: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        let [field] = given.as_slice() else {
            self.report(
                SCHEMA,
                "A Wait state takes exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
                loc,
            );
            return None;
        };
        let at = format!("{loc}/{field}");
        Some(match *field {
            "Seconds" => Wait::Seconds(self.uint(map, "Seconds", loc)?),
            "Timestamp" => match map["Timestamp"].as_str().and_then(crate::choice::timestamp) {
                Some(t) => Wait::Timestamp(t),
                None => {
                    self.report(SCHEMA, "'Timestamp' must be an RFC 3339 timestamp", at);
                    return None;
                }
            },
            "SecondsPath" => Wait::SecondsPath(self.path(map, "SecondsPath", loc, true)??),
            _ => Wait::TimestampPath(self.path(map, "TimestampPath", loc, true)??),
        })
    }

    fn map_state(&mut self, map: &Map<String, Value>, loc: &str) -> Option<MapState> {
        let (key, processor) = match (map.get("ItemProcessor"), map.get("Iterator")) {
            (Some(p), None) => ("ItemProcessor", p),
            (None, Some(p)) => ("Iterator", p),
            _ => {
                self.report(
                    SCHEMA,
                    "A Map state takes one of 'ItemProcessor' or 'Iterator'",
                    loc,
                );
                return None;
            }
        };
        let processor = self.machine(processor, &format!("{loc}/{key}"), false)?;
        let item_selector = ["ItemSelector", "Parameters"].into_iter().find_map(|key| {
            let value = map.get(key)?;
            Template::parse(value)
                .map_err(|(sub, why)| self.report(SCHEMA, why, format!("{loc}/{key}{sub}")))
                .ok()
        });
        let percentage = self.limit(map, "ToleratedFailurePercentage", loc, |v| {
            v.as_f64().filter(|p| (0.0..=100.0).contains(p))
        });
        let distributed = self.distributed(map, map.get(key).and_then(Value::as_object), loc);
        if distributed.is_none() && map.contains_key("ItemBatcher") {
            self.report(
                SCHEMA,
                "'ItemBatcher' is for a Map in DISTRIBUTED mode ('ProcessorConfig')",
                format!("{loc}/ItemBatcher"),
            );
        }
        Some(MapState {
            processor,
            items_path: self
                .path(map, "ItemsPath", loc, true)
                .flatten()
                .unwrap_or_else(Path::root),
            item_selector,
            max_concurrency: self
                .limit(map, "MaxConcurrency", loc, Value::as_u64)
                .unwrap_or(Limit::Fixed(0)),
            tolerated_failure_count: self.limit(map, "ToleratedFailureCount", loc, Value::as_u64),
            tolerated_failure_percentage: percentage,
            distributed,
        })
    }

    /// `<key>` (a value `read` accepts) or `<key>Path`.
    fn limit<T>(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        loc: &str,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Option<Limit<T>> {
        let by_path = format!("{key}Path");
        if map.contains_key(key) && map.contains_key(&by_path) {
            self.report(
                SCHEMA,
                format!("'{key}' and '{by_path}' cannot both be given"),
                loc,
            );
        }
        if let Some(path) = self.path(map, &by_path, loc, true) {
            return path.map(Limit::Path);
        }
        let value = map.get(key)?;
        match read(value) {
            Some(n) => Some(Limit::Fixed(n)),
            None => {
                let what = if key == "ToleratedFailurePercentage" {
                    "a number from 0 to 100"
                } else {
                    "a non-negative integer"
                };
                self.report(
                    SCHEMA,
                    format!("'{key}' must be {what}"),
                    format!("{loc}/{key}"),
                );
                None
            }
        }
    }

    /// `ProcessorConfig` (`Mode`, `ExecutionType`), `Label` and `ItemBatcher` of a Map whose
    /// processor is `processor`: `Some` in DISTRIBUTED mode.
    fn distributed(
        &mut self,
        map: &Map<String, Value>,
        processor: Option<&Map<String, Value>>,
        loc: &str,
    ) -> Option<Distributed> {
        let at = format!("{loc}/ItemProcessor/ProcessorConfig");
        let config = processor
            .and_then(|p| p.get("ProcessorConfig"))
            .and_then(Value::as_object);
        let mode = config.and_then(|c| c.get("Mode")).and_then(Value::as_str);
        match mode {
            None | Some("INLINE") => return None,
            Some("DISTRIBUTED") => {}
            Some(other) => {
                self.report(
                    SCHEMA,
                    format!("'Mode' must be INLINE or DISTRIBUTED, not '{other}'"),
                    format!("{at}/Mode"),
                );
                return None;
            }
        }
        let express = match config.and_then(|c| c.get("ExecutionType")) {
            Some(Value::String(t)) if t == "STANDARD" => false,
            Some(Value::String(t)) if t == "EXPRESS" => true,
            _ => {
                self.report(
                    SCHEMA,
                    "'ExecutionType' must be STANDARD or EXPRESS in DISTRIBUTED mode",
                    format!("{at}/ExecutionType"),
                );
                false
            }
        };
        let label = self.string(map, "Label", loc, false);
        // AWS's rule: up to 40 characters, none of those names may not hold.
        if label.as_deref().is_some_and(|l| {
            l.is_empty()
                || l.chars().count() > 40
                || l.chars().any(|c| {
                    c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
                })
        }) {
            self.report(
                SCHEMA,
                "'Label' must be 1 to 40 characters, without spaces or <>{}[]?*\"#%\\^|~`$&,;:/",
                format!("{loc}/Label"),
            );
        }
        let batcher = match map.get("ItemBatcher") {
            None => None,
            Some(Value::Object(b)) => self.batcher(b, &format!("{loc}/ItemBatcher")),
            Some(_) => {
                self.report(
                    SCHEMA,
                    "'ItemBatcher' must be an object",
                    format!("{loc}/ItemBatcher"),
                );
                None
            }
        };
        Some(Distributed {
            express,
            label,
            batcher,
        })
    }

    fn batcher(&mut self, map: &Map<String, Value>, loc: &str) -> Option<ItemBatcher> {
        for key in map.keys().filter(|k| {
            !matches!(
                k.as_str(),
                "MaxItemsPerBatch"
                    | "MaxItemsPerBatchPath"
                    | "MaxInputBytesPerBatch"
                    | "MaxInputBytesPerBatchPath"
                    | "BatchInput"
            )
        }) {
            self.report(
                SCHEMA,
                format!("Field '{key}' is not supported in 'ItemBatcher'"),
                format!("{loc}/{key}"),
            );
        }
        let positive = |v: &Value| v.as_u64().filter(|n| *n > 0);
        let max_items = self.limit(map, "MaxItemsPerBatch", loc, positive);
        let max_bytes = self.limit(map, "MaxInputBytesPerBatch", loc, |v| {
            positive(v).filter(|n| *n <= MAX_PAYLOAD as u64)
        });
        if max_items.is_none() && max_bytes.is_none() {
            self.report(
                SCHEMA,
                "'ItemBatcher' needs 'MaxItemsPerBatch' or 'MaxInputBytesPerBatch' (or their paths)",
                loc,
            );
        }
        let batch_input = map.get("BatchInput").and_then(|value| {
            Template::parse(value)
                .map_err(|(sub, why)| self.report(SCHEMA, why, format!("{loc}/BatchInput{sub}")))
                .ok()
        });
        Some(ItemBatcher {
            max_items,
            max_bytes,
            batch_input,
        })
    }

    fn retriers(&mut self, map: &Map<String, Value>, loc: &str) -> Vec<Retrier> {
        self.handlers(
            map,
            "Retry",
            loc,
            |reader, obj, at| {
                let rate = obj
                    .get("BackoffRate")
                    .map(|v| v.as_f64().filter(|r| *r >= 1.0));
                if rate == Some(None) {
                    reader.report(
                        SCHEMA,
                        "'BackoffRate' must be a number of at least 1.0",
                        format!("{at}/BackoffRate"),
                    );
                }
                let jitter = match obj.get("JitterStrategy").map(Value::as_str) {
                    None | Some(Some("NONE")) => false,
                    Some(Some("FULL")) => true,
                    Some(_) => {
                        reader.report(
                            SCHEMA,
                            "'JitterStrategy' must be \"FULL\" or \"NONE\"",
                            format!("{at}/JitterStrategy"),
                        );
                        false
                    }
                };
                for key in obj.keys().filter(|k| {
                    ![
                        "ErrorEquals",
                        "IntervalSeconds",
                        "MaxAttempts",
                        "BackoffRate",
                        "MaxDelaySeconds",
                        "JitterStrategy",
                        "Comment",
                    ]
                    .contains(&k.as_str())
                }) {
                    reader.report(
                        SCHEMA,
                        format!("Field '{key}' is not supported in a retrier"),
                        format!("{at}/{key}"),
                    );
                }
                Some(Retrier {
                    error_equals: Vec::new(),
                    interval_seconds: reader.uint(obj, "IntervalSeconds", at).unwrap_or(1).max(1),
                    max_attempts: reader.uint(obj, "MaxAttempts", at).unwrap_or(3),
                    backoff_rate: rate.flatten().unwrap_or(2.0),
                    max_delay_seconds: reader.uint(obj, "MaxDelaySeconds", at),
                    full_jitter: jitter,
                })
            },
            |r, names| r.error_equals = names,
        )
    }

    fn catchers(&mut self, map: &Map<String, Value>, loc: &str) -> Vec<Catcher> {
        self.handlers(
            map,
            "Catch",
            loc,
            |reader, obj, at| {
                for key in obj.keys().filter(|k| {
                    !["ErrorEquals", "Next", "ResultPath", "Comment"].contains(&k.as_str())
                }) {
                    reader.report(
                        SCHEMA,
                        format!("Field '{key}' is not supported in a catcher"),
                        format!("{at}/{key}"),
                    );
                }
                Some(Catcher {
                    error_equals: Vec::new(),
                    next: reader.string(obj, "Next", at, true)?,
                    result_path: reader
                        .path(obj, "ResultPath", at, true)
                        .unwrap_or_else(|| Some(Path::root())),
                })
            },
            |c, names| c.error_equals = names,
        )
    }

    /// Reads `Retry` or `Catch`: `ErrorEquals` non-empty, `States.ALL` alone and last.
    fn handlers<T>(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        loc: &str,
        read: impl Fn(&mut Self, &Map<String, Value>, &str) -> Option<T>,
        set_names: impl Fn(&mut T, Vec<String>),
    ) -> Vec<T> {
        let Some(value) = map.get(key) else {
            return Vec::new();
        };
        let Some(items) = value.as_array() else {
            self.report(
                SCHEMA,
                format!("'{key}' must be an array"),
                format!("{loc}/{key}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{loc}/{key}/{i}");
            let Some(obj) = item.as_object() else {
                self.report(SCHEMA, "an entry is an object", at);
                continue;
            };
            let names: Option<Vec<String>> = obj
                .get("ErrorEquals")
                .and_then(Value::as_array)
                .filter(|n| !n.is_empty())
                .and_then(|n| n.iter().map(|s| s.as_str().map(str::to_owned)).collect());
            let Some(names) = names else {
                self.report(
                    SCHEMA,
                    "'ErrorEquals' is required: a non-empty array of error names",
                    format!("{at}/ErrorEquals"),
                );
                continue;
            };
            if names.iter().any(|n| n == crate::error::ALL)
                && (names.len() > 1 || i + 1 != items.len())
            {
                self.report(
                    SCHEMA,
                    "'States.ALL' must appear alone, in the last entry",
                    format!("{at}/ErrorEquals"),
                );
            }
            if let Some(mut handler) = read(self, obj, &at) {
                set_names(&mut handler, names);
                out.push(handler);
            }
        }
        out
    }

    fn string(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        loc: &str,
        required: bool,
    ) -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            None if !required => None,
            None => {
                self.report(
                    SCHEMA,
                    format!("'{key}' is required"),
                    format!("{loc}/{key}"),
                );
                None
            }
            Some(_) => {
                self.report(
                    SCHEMA,
                    format!("'{key}' must be a string"),
                    format!("{loc}/{key}"),
                );
                None
            }
        }
    }

    fn uint(&mut self, map: &Map<String, Value>, key: &str, loc: &str) -> Option<u64> {
        let value = map.get(key)?;
        let n = value.as_u64();
        if n.is_none() {
            self.report(
                SCHEMA,
                format!("'{key}' must be a non-negative integer"),
                format!("{loc}/{key}"),
            );
        }
        n
    }

    /// `<key>` or `<key>Path`, at least 1 second.
    fn seconds(&mut self, map: &Map<String, Value>, key: &str, loc: &str) -> Option<Seconds> {
        let by_path = format!("{key}Path");
        if map.contains_key(key) && map.contains_key(&by_path) {
            self.report(
                SCHEMA,
                format!("'{key}' and '{by_path}' cannot both be given"),
                loc,
            );
        }
        if let Some(path) = self.path(map, &by_path, loc, true) {
            return path.map(Seconds::Path);
        }
        let n = self.uint(map, key, loc)?;
        if n == 0 {
            self.report(
                SCHEMA,
                format!("'{key}' must be at least 1"),
                format!("{loc}/{key}"),
            );
        }
        Some(Seconds::Fixed(n))
    }

    fn text(&mut self, map: &Map<String, Value>, key: &str, loc: &str) -> Option<Text> {
        let by_path = format!("{key}Path");
        if let Some(text) = map.get(&by_path).and_then(Value::as_str) {
            return match Path::parse(text) {
                Ok(p) => Some(Text::Path(p)),
                Err(e) => {
                    self.report(SCHEMA, e.to_string(), format!("{loc}/{by_path}"));
                    None
                }
            };
        }
        self.string(map, key, loc, false).map(Text::Fixed)
    }

    /// A path field: `Some(None)` is an explicit `null`, `None` is absent (or invalid).
    fn path(
        &mut self,
        map: &Map<String, Value>,
        key: &str,
        loc: &str,
        reference: bool,
    ) -> Option<Option<Path>> {
        let value = map.get(key)?;
        let text = match value {
            Value::Null => return Some(None),
            Value::String(s) => s,
            _ => {
                self.report(
                    SCHEMA,
                    format!("'{key}' must be a path or null"),
                    format!("{loc}/{key}"),
                );
                return None;
            }
        };
        let parsed = if reference {
            Path::reference(text)
        } else {
            Path::parse(text)
        };
        match parsed {
            Ok(p) => Some(Some(p)),
            Err(e) => {
                self.report(
                    SCHEMA,
                    format!(
                        "The value for the field '{key}' must be a valid {}: {e}",
                        if reference {
                            "ReferencePath"
                        } else {
                            "JSONPath"
                        }
                    ),
                    format!("{loc}/{key}"),
                );
                None
            }
        }
    }
}

/// The states a state can go to, with the field naming each.
fn targets(state: &State) -> Vec<(&str, String)> {
    let mut out: Vec<(&str, String)> = state
        .next
        .iter()
        .map(|n| (n.as_str(), "Next".to_owned()))
        .collect();
    if let Kind::Choice(rules, default) = &state.kind {
        out.extend(
            rules
                .iter()
                .enumerate()
                .map(|(i, (_, next))| (next.as_str(), format!("Choices/{i}/Next"))),
        );
        out.extend(default.iter().map(|d| (d.as_str(), "Default".to_owned())));
    }
    out.extend(
        state
            .catch
            .iter()
            .enumerate()
            .map(|(i, c)| (c.next.as_str(), format!("Catch/{i}/Next"))),
    );
    out
}
