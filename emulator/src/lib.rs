//! A local AWS Lambda.
//!
//! `lambkin-emulator` runs functions the way Lambda does: every instance is a real child process
//! with its own [Runtime API](runtime_api) listener, one invocation at a time, started on demand,
//! reused while warm, reaped when idle, within Lambda's concurrency limits (the account's and
//! the function's reserved concurrency) and killed on timeout or when it outgrows its memory size. The public front speaks Lambda's
//! [Invoke API](front::invoke), so the AWS CLI and SDKs can call it with `--endpoint-url`.
//!
//! * [`Emulator`] serves a set of [`FunctionConfig`]s (what the `lambkin` command runs).
//! * [`local::InProcess`] serves a single function whose runtime loop runs inside the calling
//!   process (what a function binary does on a plain `cargo run`).

#![warn(missing_docs)]

pub mod apigw;
mod body;
mod clock;
#[cfg(feature = "manage")]
mod code_storage;
mod concurrency;
pub mod config;
#[cfg(any(feature = "reload", feature = "package"))]
pub mod dev;
mod error;
mod events;
pub mod front;
mod hosts;
mod ids;
mod instance;
mod listen;
pub mod local;
mod pool;
mod recorder;
mod registry;
pub mod runtime_api;
#[cfg(feature = "cli")]
pub mod samples;
mod server;
pub mod sources;
#[cfg(any(feature = "manage", feature = "reload", feature = "package"))]
mod state_dir;
mod state_machine;
mod sync;
mod telemetry;
pub mod template;
#[cfg(test)]
mod test_rng;
pub mod websocket;
#[cfg(feature = "workflows")]
mod workflows;

#[cfg(feature = "manage")]
pub use code_storage::DeployLimits;
pub use concurrency::{DEFAULT_ACCOUNT_CONCURRENCY, DEFAULT_MAX_INSTANCES};
pub use config::{EventInvokeConfig, FunctionConfig, InvokeMode};
pub use error::Error;
pub use events::QueueLimits;
pub use front::{AppState, Options, app};
pub use listen::Limits;
pub use recorder::RecorderLimits;
pub use server::Emulator;
pub use sources::Clock;
pub use state_machine::StateMachineConfig;

/// The account id in every ARN the emulator makes up (the one AWS's own emulator uses).
pub const ACCOUNT_ID: &str = "012345678912";

/// The region of a function's ARN unless configured otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The only version the emulator serves.
pub const VERSION_LATEST: &str = "$LATEST";
