//! The library's error type.

use std::io;

/// What can go wrong while setting up or running the emulator.
///
/// Errors that concern a single request are answered to its caller, in AWS's error shape, and
/// never surface here.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two functions share a name.
    #[error("function `{0}` is configured twice")]
    DuplicateFunction(String),
    /// A function name Lambda would reject.
    #[error("invalid function name `{0}`: use 1-64 letters, digits, `-` or `_`")]
    InvalidFunctionName(String),
    /// A function configures environment variables Lambda reserves
    /// ([`RESERVED_ENV`](crate::config::RESERVED_ENV)).
    #[error(
        "function `{function}` sets {keys}: Lambda reserves these environment variables and sets them itself (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)"
    )]
    ReservedEnv {
        /// The function.
        function: String,
        /// The reserved keys it sets, comma-separated.
        keys: String,
    },
    /// [`Emulator::replace_function`](crate::Emulator::replace_function) named an unknown function.
    #[error("no function named `{0}`")]
    UnknownFunction(String),
    /// A host name to allow that is not one (see [`Options::allow_hosts`](crate::Options::allow_hosts)).
    #[error(
        "invalid host `{0}` to allow: give a host name (api.example.test), a wildcard (*.example.test) or an IP address, without scheme or port"
    )]
    InvalidHost(String),
    /// A state machine's definition ([`Options::state_machines`](crate::Options::state_machines))
    /// does not validate: each problem with its location, as ValidateStateMachineDefinition
    /// reports them.
    #[error("state machine `{name}`: {message}")]
    InvalidStateMachine {
        /// The state machine.
        name: String,
        /// What is wrong, and where.
        message: String,
    },
    /// An SQS event source mapping ([`Options::sqs_sources`](crate::Options::sqs_sources))
    /// breaks one of Lambda's rules (`BatchSize`, batching window, `MaximumConcurrency`).
    #[error("SQS event source `{name}`: {field}: {message}")]
    InvalidEventSource {
        /// The mapping.
        name: String,
        /// The setting.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The event directory ([`Options::event_dir`](crate::Options::event_dir)) cannot be used:
    /// it cannot be created or read, or another emulator holds it.
    #[error("cannot keep asynchronous invocations in {}: {source}", dir.display())]
    EventDir {
        /// The directory.
        dir: std::path::PathBuf,
        /// Why it cannot be used.
        #[source]
        source: io::Error,
    },
    /// Binding a listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// Serving HTTP failed.
    #[error("server error: {0}")]
    Serve(#[source] io::Error),
}
