//! A state machine given at start (feature `workflows`): its name, definition and type, and
//! the schedules and API routes that start it; read from a SAM template, a serverless.yml or a `.asl.json`
//! file, served by `workflows/`. Not in `config.rs`: its schedules are `sources/`' type, and
//! `sources/` imports `config.rs`.

/// A Step Functions state machine to serve (feature `workflows`): its name and its Amazon States
/// Language definition (JSON), from a SAM template, serverless.yml or a `.asl.json` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateMachineConfig {
    /// The state machine's name (its ARN's last part).
    pub name: String,
    /// The definition, as JSON text.
    pub definition: String,
    /// An `EXPRESS` state machine (StartSyncExecution runs it), else `STANDARD`.
    pub express: bool,
    /// The schedules that start it (SAM `Schedule`/`ScheduleV2` events, serverless.yml
    /// `schedule` events).
    #[cfg(feature = "schedules")]
    pub schedules: Vec<crate::sources::schedule::Schedule>,
    /// The API Gateway routes that start it (SAM `Api` events, serverless.yml `http` events):
    /// each a [`StartExecution`](crate::apigw::Integration::StartExecution) route.
    pub routes: Vec<crate::apigw::Route>,
}

impl StateMachineConfig {
    /// A `STANDARD` state machine, started by no schedule.
    pub fn new(name: impl Into<String>, definition: impl Into<String>) -> StateMachineConfig {
        StateMachineConfig {
            name: name.into(),
            definition: definition.into(),
            express: false,
            #[cfg(feature = "schedules")]
            schedules: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// A state machine from a bare Amazon States Language file, named after it
    /// (`orders.asl.json` → `orders`). Its definition is checked when the emulator starts.
    pub fn from_file(path: &std::path::Path) -> std::io::Result<StateMachineConfig> {
        let definition = std::fs::read_to_string(path)?;
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("machine");
        let name = (file.strip_suffix(".asl.json"))
            .or_else(|| file.strip_suffix(".json"))
            .unwrap_or(file);
        Ok(StateMachineConfig::new(name, definition))
    }
}
