//! An execution harness: functions as Rust closures behind the [`Invoker`] trait, the tokio
//! clock paused (virtual time: Wait states and retry delays complete at once, exactly).

#![allow(dead_code)]

use futures_util::future::BoxFuture;
use lambkin_workflow::{
    Callbacks, Env, Execution, History, HistoryEvent, Invoker, MapRuns, Outcome, StateMachine,
    StatesError, TokioClock,
};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

type Function = Box<dyn Fn(Value, usize) -> Result<Value, StatesError> + Send + Sync>;

/// Functions by name; each gets its payload and how many times it was called before.
#[derive(Default)]
pub struct Functions {
    functions: HashMap<String, Function>,
    /// Never answer (for timeouts).
    hanging: Vec<String>,
    calls: Mutex<Vec<(String, Value)>>,
}

impl Functions {
    pub fn with(
        mut self,
        name: &str,
        f: impl Fn(Value, usize) -> Result<Value, StatesError> + Send + Sync + 'static,
    ) -> Self {
        self.functions.insert(name.into(), Box::new(f));
        self
    }

    pub fn hanging(mut self, name: &str) -> Self {
        self.hanging.push(name.into());
        self
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl Invoker for Functions {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        payload: Value,
    ) -> BoxFuture<'a, Result<Value, StatesError>> {
        // Like the emulator: a name or an ARN whose last part is the name.
        let name = function.rsplit(':').next().unwrap_or(function).to_owned();
        let before = {
            let mut calls = self.calls.lock().unwrap();
            let before = calls.iter().filter(|(n, _)| *n == name).count();
            calls.push((name.clone(), payload.clone()));
            before
        };
        if self.hanging.contains(&name) {
            return Box::pin(futures_util::future::pending());
        }
        let result = match self.functions.get(&name) {
            Some(f) => f(payload, before),
            None => Err(StatesError::new(
                "Lambda.ResourceNotFoundException",
                format!("Function not found: {name}"),
            )),
        };
        Box::pin(async move {
            // A real invocation takes time: let the timer see it.
            tokio::time::sleep(Duration::from_millis(10)).await;
            result
        })
    }
}

/// A Lambda-shaped error: the name is its errorType, the cause its JSON error object.
pub fn lambda_error(error_type: &str, message: &str) -> StatesError {
    StatesError::new(
        error_type,
        serde_json::json!({"errorMessage": message, "errorType": error_type}).to_string(),
    )
}

pub struct Run {
    pub outcome: Outcome,
    pub history: Vec<HistoryEvent>,
    pub functions: Arc<Functions>,
    /// The Map Runs of Distributed Maps.
    pub map_runs: Arc<MapRuns>,
}

impl Run {
    pub fn output(&self) -> &Value {
        match &self.outcome {
            Outcome::Succeeded(v) => v,
            other => panic!(
                "the execution did not succeed: {other:?}\n{:#?}",
                self.types()
            ),
        }
    }

    pub fn error(&self) -> &StatesError {
        match &self.outcome {
            Outcome::Failed(e) | Outcome::TimedOut(e) => e,
            other => panic!("the execution did not fail: {other:?}"),
        }
    }

    pub fn types(&self) -> Vec<&'static str> {
        self.history.iter().map(|e| e.event_type.as_str()).collect()
    }

    /// Seconds since the first event, for each event of this type.
    pub fn times_of(&self, event_type: &str) -> Vec<f64> {
        let start = self.history[0].timestamp;
        self.history
            .iter()
            .filter(|e| e.event_type.as_str() == event_type)
            .map(|e| e.timestamp.duration_since(start).unwrap().as_secs_f64())
            .collect()
    }
}

pub fn execution() -> Execution {
    Execution {
        arn: "arn:aws:states:us-east-1:123456789012:execution:test:run-1".into(),
        name: "run-1".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:test".into(),
        state_machine_name: "test".into(),
        role_arn: "arn:aws:iam::123456789012:role/test".into(),
        start_time: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    }
}

pub fn env(functions: Arc<Functions>, callbacks: Arc<Callbacks>) -> Env {
    Env {
        invoker: functions,
        clock: Arc::new(TokioClock::new()),
        callbacks,
        map_runs: Arc::default(),
        region: "us-east-1".into(),
    }
}

/// Runs `definition` over `input` (call under `#[tokio::test(start_paused = true)]`).
pub async fn run(definition: Value, input: Value, functions: Functions) -> Run {
    let machine = StateMachine::from_value(&definition).unwrap_or_else(|e| panic!("{e}"));
    let functions = Arc::new(functions);
    let env = env(functions.clone(), Arc::default());
    let history = History::new();
    let outcome = lambkin_workflow::run(&machine, &execution(), input, &env, &history).await;
    Run {
        outcome,
        history: history.events(),
        functions,
        map_runs: env.map_runs.clone(),
    }
}
