//! Who an execution is and how it ended: what the interpreter, the Map Runs and the host share.

use crate::error::StatesError;
use serde_json::Value;
use std::time::SystemTime;

/// Who an execution is, for the context object (`$$.Execution…`) and its events.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its state machine's ARN.
    pub state_machine_arn: String,
    /// Its state machine's name.
    pub state_machine_name: String,
    /// The role it runs as.
    pub role_arn: String,
    /// When it started.
    pub start_time: SystemTime,
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// With its output.
    Succeeded(Value),
    /// With its error.
    Failed(StatesError),
    /// The machine's `TimeoutSeconds` passed.
    TimedOut(StatesError),
}
