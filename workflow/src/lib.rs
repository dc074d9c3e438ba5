//! An Amazon States Language interpreter: the state machines of AWS Step Functions, run
//! over any function [`Invoker`], with time from an injectable [`Clock`]. No HTTP here: the
//! emulator serves the Step Functions API over it.
//!
//! ```no_run
//! # async fn example(env: lambkin_workflow::Env) -> Result<(), Box<dyn std::error::Error>> {
//! use lambkin_workflow::{Execution, History, StateMachine, run};
//! let machine = StateMachine::from_json(r#"{"StartAt": "Hi", "States": {"Hi": {"Type": "Pass", "End": true}}}"#)?;
//! let execution = Execution {
//!     arn: "arn:aws:states:us-east-1:123456789012:execution:hello:1".into(),
//!     name: "1".into(),
//!     state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:hello".into(),
//!     state_machine_name: "hello".into(),
//!     role_arn: "arn:aws:iam::123456789012:role/local".into(),
//!     start_time: std::time::SystemTime::now(),
//! };
//! let history = History::new();
//! let outcome = run(&machine, &execution, serde_json::json!({"a": 1}), &env, &history).await;
//! # Ok(()) }
//! ```
//!
//! Modules: [`definition`] reads and validates a definition, [`path`] is JSONPath,
//! [`template`] the payload templates, [`intrinsic`] the `States.*` functions, [`choice`] the
//! Choice rules, `exec` runs an execution, `map_run` a Distributed Map's Map Run of child
//! executions ([`MapRuns`] in the [`Env`] keeps them for the host), and [`history`] records
//! the events.
//!
//! Not supported: JSONata (`QueryLanguage: "JSONata"`), variables (`Assign`), S3 item readers
//! and result writers (`ItemReader`, `ResultWriter`), and service
//! integrations other than Lambda; each is refused at validation, naming the state.

pub mod choice;
pub mod definition;
mod env;
pub mod error;
mod exec;
mod execution;
pub mod history;
pub mod intrinsic;
mod map_run;
pub mod path;
pub mod template;

pub use definition::{Diagnostic, InvalidDefinition, MAX_PAYLOAD, StateMachine};
pub use env::{Callbacks, Clock, Env, Invoker, Signal, TokenError, TokioClock};
pub use error::StatesError;
pub use exec::{rfc3339, run};
pub use execution::{Execution, Outcome};
/// The boxed future an [`Invoker`] and a [`Clock`] return.
pub use futures_util::future::BoxFuture;
pub use history::{EventType, History, HistoryEvent};
pub use map_run::{ChildExecution, Counts, MapRun, MapRuns, RunStatus};
