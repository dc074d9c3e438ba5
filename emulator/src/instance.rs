//! One function instance: a child process (or, in local mode, the current process) with its own
//! Runtime API, driven one invocation at a time.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, interval_at, sleep, sleep_until};
use tracing::{Instrument, Span};

use crate::clock::{date_path, rfc3339};
use crate::config::{FunctionConfig, LogFormat};
use crate::logs;
use crate::logs::{Capture, Pumps};
use crate::process::{Group, Memory};
use crate::runtime_api::{self, Answer, Channel, Pending, RuntimeEvent};

/// Longest wait for a new instance's first `/next` (Lambda's init phase limit).
pub(crate) const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a busy instance's memory is sampled.
const MEMORY_PROBE: Duration = Duration::from_millis(20);

/// A memory sample this recent is reused for REPORT's Max Memory Used: the kernel formats all
/// of `/proc/<pid>/status` for each read, which costs more than the rest of a short invocation.
/// The peak only grows, so a later REPORT catches up.
const MEMORY_REUSE: Duration = Duration::from_millis(50);

/// Variables of the emulator's environment passed on to every instance, so functions can find
/// tools and honour the developer's log settings.
const INHERITED_ENV: &[&str] = &["PATH", "RUST_LOG", "RUST_BACKTRACE", "LD_LIBRARY_PATH"];

/// Credentials passed on only with [`FunctionConfig::pass_aws_credentials`].
const CREDENTIAL_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
];

/// One request for a function.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) trace_id: String,
    pub(crate) client_context: Option<String>,
    pub(crate) cognito_identity: Option<String>,
}

/// What the caller gets back.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The function's response.
    Success(Bytes),
    /// An error JSON; the caller sees `X-Amz-Function-Error: Unhandled`.
    Unhandled(Bytes),
}

/// An invocation's outcome and the tail of its log.
#[derive(Debug)]
pub(crate) struct InvokeResult {
    pub(crate) outcome: Outcome,
    pub(crate) log_tail: String,
}

/// Why an invocation was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Over one of Lambda's concurrency limits.
    Throttled(crate::concurrency::Limit),
    /// Admitted, but no instance became free within the wait (the local instance cap).
    NoInstance,
    /// The emulator is stopping.
    ShuttingDown,
    /// The emulator failed (a bug); logged where it happened.
    Internal,
}

/// How an invocation ended.
#[derive(Debug)]
enum Ending {
    Answered(Answer),
    InitError(InitFailure),
    InitTimeout,
    Exited(io::Result<ExitStatus>),
    Timeout,
    OutOfMemory,
}

/// A runtime's `/init/error`: the error JSON the caller gets and the type REPORT shows.
#[derive(Debug, Clone)]
struct InitFailure {
    body: Bytes,
    error_type: String,
}

impl InitFailure {
    /// The type is the runtime's `Lambda-Runtime-Function-Error-Type` header, which the
    /// Runtime API documents as "the error type that the runtime encountered"
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html#runtimes-api-initerror>)
    /// and which the official runtime clients set (Python's `Runtime.ImportModuleError`, Node's
    /// `Runtime.UserCodeSyntaxError`); a runtime that sends only a body gets its `errorType`.
    /// Lambda keeps a type only if it names a `Runtime.` or `Function.` error (the rule of
    /// `GetValidRuntimeOrFunctionErrorType` in aws/aws-lambda-runtime-interface-emulator):
    /// anything else is reported as `Runtime.Unknown` (`Function.Unknown` for `Function.…`).
    fn new(body: Bytes, header_type: Option<String>) -> InitFailure {
        let posted = header_type.or_else(|| {
            let doc = serde_json::from_slice::<serde_json::Value>(&body).ok()?;
            doc.get("errorType")?.as_str().map(str::to_owned)
        });
        let posted = posted.unwrap_or_default();
        let error_type = if names_runtime_or_function_error(&posted) {
            posted
        } else if posted.starts_with("Function.") {
            "Function.Unknown".to_owned()
        } else {
            "Runtime.Unknown".to_owned()
        };
        InitFailure { body, error_type }
    }
}

/// Whether `error_type` contains `Runtime.` or `Function.` followed by a capital letter and at
/// least one more letter (`(Runtime|Function)\.[A-Z][a-zA-Z]+`, matched anywhere).
fn names_runtime_or_function_error(error_type: &str) -> bool {
    ["Runtime.", "Function."].iter().any(|category| {
        error_type.match_indices(category).any(|(at, _)| {
            let mut rest = error_type[at + category.len()..].chars();
            rest.next().is_some_and(|c| c.is_ascii_uppercase())
                && rest.next().is_some_and(|c| c.is_ascii_alphabetic())
        })
    })
}

/// Aborts a task when dropped.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Debug)]
struct Process {
    group: Group,
    _runtime_api: AbortOnDrop,
}

/// A function instance.
#[derive(Debug)]
pub(crate) struct Instance {
    config: Arc<FunctionConfig>,
    version: u64,
    /// `None` in local mode: the runtime loop runs in this very process.
    process: Option<Process>,
    channel: Arc<Channel>,
    events: mpsc::UnboundedReceiver<RuntimeEvent>,
    capture: Arc<Capture>,
    pumps: Pumps,
    started: Instant,
    initialized: bool,
    /// The current invocation's START line is logged.
    start_logged: bool,
    /// The runtime's `/init/error`, if it reported one between invocations.
    init_error: Option<InitFailure>,
    /// The last memory sample and when it was taken.
    memory_sample: Option<(Instant, Memory)>,
    span: Span,
    /// When the instance last finished an invocation.
    pub(crate) idle_since: Instant,
}

impl Instance {
    /// Starts a child process running `config.executable`, with its own Runtime API.
    pub(crate) async fn spawn(config: Arc<FunctionConfig>, version: u64) -> io::Result<Instance> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (channel, events) = Channel::new();
        let span = tracing::info_span!("function", name = %config.name);
        let server =
            tokio::spawn(runtime_api::serve(listener, channel.clone()).instrument(span.clone()));
        let server = AbortOnDrop(server);

        let mut command = Command::new(&config.executable);
        command
            .env_clear()
            .envs(lambda_env(&config, addr))
            .current_dir(task_root(&config))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut group = Group::spawn(&mut command)?;
        let capture = Arc::new(Capture::default());
        let mut pumps = Pumps::default();
        let (stdout, stderr) = group.output();
        if let Some(stdout) = stdout {
            pumps.add(stdout, capture.clone(), span.clone());
        }
        if let Some(stderr) = stderr {
            pumps.add(stderr, capture.clone(), span.clone());
        }
        span.in_scope(|| tracing::debug!(pid = group.id(), "instance started"));
        Ok(Instance {
            config,
            version,
            process: Some(Process {
                group,
                _runtime_api: server,
            }),
            channel,
            events,
            capture,
            pumps,
            started,
            initialized: false,
            start_logged: false,
            init_error: None,
            memory_sample: None,
            span,
            idle_since: Instant::now(),
        })
    }

    /// The instance that is the current process (local mode); its Runtime API is served by the
    /// caller over `channel`.
    pub(crate) fn in_process(
        config: Arc<FunctionConfig>,
        channel: Arc<Channel>,
        events: mpsc::UnboundedReceiver<RuntimeEvent>,
    ) -> Instance {
        let span = tracing::info_span!("function", name = %config.name);
        Instance {
            config,
            version: 0,
            process: None,
            channel,
            events,
            capture: Arc::new(Capture::default()),
            pumps: Pumps::default(),
            started: Instant::now(),
            initialized: false,
            start_logged: false,
            init_error: None,
            memory_sample: None,
            span,
            idle_since: Instant::now(),
        }
    }

    /// Whether the child process is still running (an idle instance may have died).
    pub(crate) fn is_alive(&mut self) -> bool {
        match &mut self.process {
            Some(process) => process.group.is_alive(),
            None => true,
        }
    }

    /// The instance goes idle in its pool: its processes are frozen once its runtime waits for
    /// the next event (as Lambda freezes an idle execution environment); [`Instance::invoke`]
    /// thaws them.
    pub(crate) fn park(&mut self) {
        if let Some(process) = &mut self.process {
            process.group.park(self.channel.polling());
        }
    }

    /// The configuration version this instance runs.
    /// Waits until the runtime first asks for an invocation (its init is done), for at most
    /// `within`. False if it exited, reported an init error, or took longer.
    pub(crate) async fn wait_ready(&mut self, within: Duration) -> bool {
        let give_up = Instant::now() + within;
        let ready = loop {
            if let Some(ready) = self.channel.first_poll() {
                break ready;
            }
            if Instant::now() >= give_up || !self.is_alive() {
                return false;
            }
            // A ready check every few ms costs nothing next to a process start-up.
            sleep(Duration::from_millis(2)).await;
        };
        if self.init_error.is_some() {
            return false;
        }
        // Initialised before any traffic, as with provisioned concurrency: the first
        // invocation reports no Init Duration; the init gets a line of its own.
        self.initialized = true;
        let init = ready.saturating_duration_since(self.started);
        log_line(
            &self.config,
            &format!(
                "INIT_REPORT Init Duration: {:.2} ms",
                init.as_secs_f64() * 1e3
            ),
        );
        true
    }

    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Runs one invocation. `deliver_within` bounds the wait for the runtime's `/next`.
    ///
    /// Returns the result and whether the instance can take another invocation. Refuses only
    /// when the emulator is closing, or in local mode when the runtime is still busy with an
    /// abandoned invocation after `deliver_within`.
    pub(crate) async fn invoke(
        &mut self,
        invocation: &Invocation,
        deliver_within: Duration,
        closing: &mut watch::Receiver<bool>,
    ) -> Result<(InvokeResult, bool), Refused> {
        let span =
            tracing::info_span!(parent: &self.span, "invoke", request_id = %invocation.request_id);
        self.run(invocation, deliver_within, closing)
            .instrument(span)
            .await
    }

    async fn run(
        &mut self,
        invocation: &Invocation,
        deliver_within: Duration,
        closing: &mut watch::Receiver<bool>,
    ) -> Result<(InvokeResult, bool), Refused> {
        let id = invocation.request_id.as_str();
        // Late answers to invocations that timed out (local mode), or an init error reported
        // before this invocation was offered.
        while let Ok(event) = self.events.try_recv() {
            match event {
                RuntimeEvent::InitError { body, header_type } => {
                    self.init_error = Some(InitFailure::new(body, header_type));
                }
                event => tracing::debug!(?event, "discarding a late Runtime API event"),
            }
        }
        if let Some(failure) = &self.init_error {
            // Kept: in local mode every later invocation fails the same way.
            let failure = failure.clone();
            return self.finish(id, Ending::InitError(failure), None, 0).await;
        }
        if self.initialized {
            self.capture.clear();
        }
        // After the clear: what a timer left by the last invocation prints now belongs to this one.
        if let Some(process) = &mut self.process {
            process.group.thaw();
        }
        // A new instance gets its first event only once its runtime waits in `/next`, so that
        // what it wrote during init is read first and goes before START, as in Lambda's log.
        let mut offered = self.initialized;
        if offered {
            self.offer(invocation);
        }
        let mut polling = self.channel.polling();

        let give_up = sleep(deliver_within);
        tokio::pin!(give_up);
        let mut gave_up = false;
        let delivered_at = loop {
            tokio::select! {
                biased;
                () = runtime_waits(&mut polling), if !offered => {
                    self.pumps.settle().await;
                    self.offer(invocation);
                    offered = true;
                }
                event = self.events.recv() => match event {
                    Some(RuntimeEvent::Delivered { request_id, at }) if request_id == id => break at,
                    Some(RuntimeEvent::InitError { body, header_type }) => {
                        let failure = InitFailure::new(body, header_type);
                        self.init_error = Some(failure.clone());
                        return self.finish(id, Ending::InitError(failure), None, 0).await;
                    }
                    Some(event) => tracing::debug!(?event, "discarding a late Runtime API event"),
                    None => return Err(Refused::ShuttingDown),
                },
                status = exited(&mut self.process) => {
                    return self.finish(id, Ending::Exited(status), None, 0).await;
                }
                () = &mut give_up, if !gave_up => {
                    gave_up = true;
                    // Lost the race with `/next`: its Delivered event is queued.
                    if !offered || self.channel.withdraw(id) {
                        if self.process.is_none() {
                            return Err(Refused::Throttled(crate::concurrency::Limit::Reserved));
                        }
                        return self.finish(id, Ending::InitTimeout, None, 0).await;
                    }
                }
                () = closed(closing) => {
                    self.channel.withdraw(id);
                    return Err(Refused::ShuttingDown);
                }
            }
        };

        // Init ends at the first `/next`; in local mode that can be long before the first caller.
        let init = (!self.initialized).then(|| {
            let ready = self.channel.first_poll().unwrap_or(delivered_at);
            ready.saturating_duration_since(self.started)
        });
        self.initialized = true;
        self.log_start(id);
        let deadline = match delivered_at.checked_add(self.config.timeout) {
            Some(at) => sleep_until(at.into()),
            None => sleep(self.config.timeout), // absurdly long: tokio caps it
        };
        tokio::pin!(deadline);
        // The first sample waits one period: most invocations end before it, and `finish` samples.
        let mut probe = interval_at((Instant::now() + MEMORY_PROBE).into(), MEMORY_PROBE);
        probe.set_missed_tick_behavior(MissedTickBehavior::Skip);
        // Local mode cannot kill its own process, so it does not police memory.
        let police_memory = self.process.is_some();
        let limit_kb = u64::from(self.config.memory_mb) * 1024;
        let mut peak_kb = 0;
        let ending = loop {
            tokio::select! {
                biased;
                event = self.events.recv() => match event {
                    Some(RuntimeEvent::Answered { request_id, answer }) if request_id == id => {
                        break Ending::Answered(answer);
                    }
                    Some(event) => tracing::debug!(?event, "ignoring a Runtime API event"),
                    None => return Err(Refused::ShuttingDown),
                },
                status = exited(&mut self.process) => break Ending::Exited(status),
                () = &mut deadline => break Ending::Timeout,
                _ = probe.tick(), if police_memory => {
                    if let Some(memory) = self.sample_memory() {
                        peak_kb = peak_kb.max(memory.peak_kb);
                        if memory.resident_kb > limit_kb {
                            break Ending::OutOfMemory;
                        }
                    }
                }
                () = closed(closing) => {
                    self.stop().await;
                    return Err(Refused::ShuttingDown);
                }
            }
        };
        self.finish(id, ending, Some((delivered_at, init)), peak_kb)
            .await
    }

    /// Offers `invocation` to the runtime's `/next`. A child process's START is logged first,
    /// so that it precedes whatever the function prints for the event; local mode's (whose
    /// output is not captured) once the event is delivered.
    fn offer(&mut self, invocation: &Invocation) {
        if self.process.is_some() {
            self.log_start(&invocation.request_id);
        }
        self.channel.offer(Pending {
            request_id: invocation.request_id.clone(),
            payload: invocation.payload.clone(),
            timeout: self.config.timeout,
            function_arn: self.config.arn(),
            trace_id: invocation.trace_id.clone(),
            client_context: invocation.client_context.clone(),
            cognito_identity: invocation.cognito_identity.clone(),
        });
    }

    /// Logs the invocation's START line, unless it already was.
    fn log_start(&mut self, id: &str) {
        if !std::mem::replace(&mut self.start_logged, true) {
            self.capture.line(&format!(
                "START RequestId: {id} Version: {}",
                self.config.version
            ));
        }
    }

    /// Ends an invocation: stops the instance if it cannot be reused, writes END and REPORT,
    /// and builds what the caller gets.
    async fn finish(
        &mut self,
        id: &str,
        ending: Ending,
        started: Option<(Instant, Option<Duration>)>,
        peak_kb: u64,
    ) -> Result<(InvokeResult, bool), Refused> {
        let duration = started.map_or(Duration::ZERO, |(at, _)| at.elapsed());
        let peak_kb = self
            .recent_memory()
            .map_or(peak_kb, |m| m.peak_kb.max(peak_kb));
        // A process that crashed may have outgrown the last sample (or died before the first).
        let exit_peak_kb = self.process.as_ref().and_then(|p| p.group.exit_peak_kb());
        let peak_kb = peak_kb.max(exit_peak_kb.unwrap_or(0));
        // Local mode has one instance and cannot replace it: it is always kept.
        let reusable = self.process.is_none() || matches!(ending, Ending::Answered(_));
        if !reusable {
            self.stop().await;
        }
        self.pumps.settle().await;
        self.log_start(id);
        self.start_logged = false;

        let (outcome, status) = self.outcome(id, ending);
        if let (Outcome::Unhandled(body), Some(_)) = (&outcome, &status) {
            // Errors the emulator makes up are logged as Lambda logs them.
            let message = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["errorMessage"].as_str().map(str::to_owned));
            if let Some(message) = message {
                self.capture.line(&message);
            }
        }
        self.capture.line(&format!("END RequestId: {id}"));
        let init = started.and_then(|(_, init)| init);
        let mut report = format!(
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            duration.as_secs_f64() * 1000.0,
            billed_ms(duration, init),
            self.config.memory_mb,
            peak_kb.div_ceil(1024),
        );
        if let Some(init) = init {
            report.push_str(&format!(
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            ));
        }
        if let Some(status) = status {
            report.push_str(&status);
        }
        self.capture.line(&report);
        let log_tail = self.capture.take_tail();
        Ok((InvokeResult { outcome, log_tail }, reusable))
    }

    /// The caller's outcome, and the REPORT line's status for endings the emulator decided.
    fn outcome(&self, id: &str, ending: Ending) -> (Outcome, Option<String>) {
        let report = |status: &str| Some(status.to_owned());
        let error = |error_type: &str, message: String| {
            let body = json!({ "errorType": error_type, "errorMessage": message });
            Outcome::Unhandled(Bytes::from(body.to_string()))
        };
        match ending {
            Ending::Answered(Answer::Response(body)) => (Outcome::Success(body), None),
            Ending::Answered(Answer::Error(body)) => (Outcome::Unhandled(body), None),
            Ending::Answered(Answer::TooLarge) => (
                error(
                    "Function.ResponseSizeTooLarge",
                    format!(
                        "Response payload size exceeded maximum allowed payload size ({} bytes).",
                        runtime_api::MAX_RESPONSE_BYTES
                    ),
                ),
                report("\tStatus: error\tError Type: Function.ResponseSizeTooLarge"),
            ),
            Ending::InitError(InitFailure { body, error_type }) => (
                Outcome::Unhandled(body),
                Some(format!("\tStatus: error\tError Type: {error_type}")),
            ),
            Ending::InitTimeout => (
                error(
                    "Sandbox.Timedout",
                    format!(
                        "RequestId: {id} Error: the runtime did not ask for an invocation within {:.2} seconds",
                        INIT_TIMEOUT.as_secs_f64()
                    ),
                ),
                report("\tStatus: timeout"),
            ),
            Ending::Timeout => {
                // Lambda's timeout error has no errorType.
                let message = format!(
                    "{} {id} Task timed out after {:.2} seconds",
                    rfc3339(SystemTime::now()),
                    self.config.timeout.as_secs_f64()
                );
                let body = json!({ "errorMessage": message });
                (
                    Outcome::Unhandled(Bytes::from(body.to_string())),
                    report("\tStatus: timeout"),
                )
            }
            Ending::OutOfMemory => (
                error(
                    "Runtime.OutOfMemory",
                    format!("RequestId: {id} Error: Runtime exited with error: signal: killed"),
                ),
                report("\tStatus: error\tError Type: Runtime.OutOfMemory"),
            ),
            Ending::Exited(status) => (
                error(
                    "Runtime.ExitError",
                    format!(
                        "RequestId: {id} Error: Runtime exited with error: {}",
                        describe_exit(&status)
                    ),
                ),
                report("\tStatus: error\tError Type: Runtime.ExitError"),
            ),
        }
    }

    /// Memory of the instance's processes, from `/proc` (Linux only).
    fn sample_memory(&mut self) -> Option<Memory> {
        let memory = match &mut self.process {
            Some(process) => process.group.memory(),
            None => Memory::of_self(),
        };
        if let Some(memory) = memory {
            self.memory_sample = Some((Instant::now(), memory));
        }
        memory
    }

    /// A sample at most [`MEMORY_REUSE`] old, else a new one, else (the process is gone) the
    /// last one.
    fn recent_memory(&mut self) -> Option<Memory> {
        match self.memory_sample {
            Some((at, memory)) if at.elapsed() < MEMORY_REUSE => Some(memory),
            last => self.sample_memory().or(last.map(|(_, memory)| memory)),
        }
    }

    /// Kills the instance's processes and waits until they are gone.
    pub(crate) async fn stop(&mut self) {
        self.channel.close();
        if let Some(process) = &mut self.process {
            process.group.kill().await;
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // The processes are killed when the group is dropped.
        self.channel.close();
        if self.process.is_some() {
            self.span.in_scope(|| tracing::debug!("instance stopped"));
        }
    }
}

/// Resolves when the emulator starts closing.
pub(crate) async fn closed(closing: &mut watch::Receiver<bool>) {
    // An error means the emulator itself is gone: closing too.
    let _ = closing.wait_for(|closing| *closing).await;
}

/// Resolves once the runtime waits in `/next` (`polling` counts those waits).
async fn runtime_waits(polling: &mut watch::Receiver<usize>) {
    if polling.wait_for(|waiting| *waiting > 0).await.is_err() {
        // The channel is gone with the instance: nothing will ever wait.
        std::future::pending::<()>().await;
    }
}

/// Resolves when the child process exits; never in local mode.
async fn exited(process: &mut Option<Process>) -> io::Result<ExitStatus> {
    match process {
        Some(process) => process.group.exited().await,
        None => std::future::pending().await,
    }
}

/// REPORT's Billed Duration in whole milliseconds (at least 1): the invocation's duration plus,
/// on a cold start, the init it waited for. Lambda has always billed the init phase of custom
/// runtimes (`provided.*`, which is what the emulator runs), and bills it for every
/// configuration since 1 August 2025
/// (<https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/>).
fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    let billed = duration + init.unwrap_or_default();
    let ms = billed.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

/// "exit status 1" or "signal: killed", as Lambda words it.
fn describe_exit(status: &io::Result<ExitStatus>) -> String {
    let status = match status {
        Ok(status) => status,
        Err(error) => return format!("unknown exit status ({error})"),
    };
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                libc::SIGKILL => "killed".to_owned(),
                libc::SIGSEGV => "segmentation fault".to_owned(),
                libc::SIGABRT => "aborted".to_owned(),
                libc::SIGTERM => "terminated".to_owned(),
                libc::SIGBUS => "bus error".to_owned(),
                other => other.to_string(),
            };
            return format!("signal: {name}");
        }
    }
    status.to_string()
}

/// The function's working directory: configured, or the executable's directory.
fn task_root(config: &FunctionConfig) -> std::path::PathBuf {
    config.working_dir.clone().unwrap_or_else(|| {
        config
            .executable
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
            .map_or_else(|| ".".into(), std::path::Path::to_path_buf)
    })
}

/// The environment Lambda gives an instance of `config` whose Runtime API is at `runtime_api`.
///
/// AWS documents the variables at
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime>.
/// Reserved ones override the function's own variables; unreserved ones (`LANG`, `PATH`,
/// `LD_LIBRARY_PATH`, `AWS_XRAY_CONTEXT_MISSING`) are defaults the function may change.
/// Differences, on purpose: `LAMBDA_TASK_ROOT` and `LAMBDA_RUNTIME_DIR` are the function's code
/// directory (AWS: `/var/task` and `/var/runtime`), and `PATH` is the developer's, so the
/// function finds the tools installed here. `AWS_EXECUTION_ENV` is left undefined, as AWS leaves
/// it for the OS-only runtimes (`provided.*`), the only ones lambkin runs.
pub(crate) fn lambda_env(
    config: &FunctionConfig,
    runtime_api: SocketAddr,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for name in INHERITED_ENV {
        if let Ok(value) = std::env::var(name) {
            env.insert((*name).to_owned(), value);
        }
    }
    if config.pass_aws_credentials {
        for name in CREDENTIAL_ENV {
            if let Ok(value) = std::env::var(name) {
                env.insert((*name).to_owned(), value);
            }
        }
    }
    // Unreserved: Lambda's values, which the function's own variables may replace.
    env.insert("LANG".to_owned(), "en_US.UTF-8".to_owned());
    // "Lambda sets this to LOG_ERROR to avoid throwing runtime errors from the X-Ray SDK."
    env.insert(
        "AWS_XRAY_CONTEXT_MISSING".to_owned(),
        "LOG_ERROR".to_owned(),
    );
    // Not in AWS's list, but set by Lambda to `Text` or `JSON` from `LoggingConfig`
    // (https://github.com/awslabs/aws-lambda-powershell-runtime/issues/40); a function's own
    // value is kept unless its configuration asks for JSON.
    env.insert(
        "AWS_LAMBDA_LOG_FORMAT".to_owned(),
        LogFormat::Text.as_str().to_owned(),
    );
    env.extend(config.env.clone());
    // With the JSON format, Lambda passes the application log level to the runtime: "behind the
    // scenes Lambda sets the application log level in the runtime using the
    // AWS_LAMBDA_LOG_LEVEL environment variable"
    // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
    if let Some(level) = config.logging.effective_application_level() {
        env.insert(
            "AWS_LAMBDA_LOG_FORMAT".to_owned(),
            LogFormat::Json.as_str().to_owned(),
        );
        env.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level.as_str().to_owned());
    }
    let root = task_root(config).to_string_lossy().into_owned();
    let stream = format!(
        "{}/[{}]{}",
        date_path(SystemTime::now()),
        config.version,
        uuid::Uuid::new_v4().simple()
    );
    let reserved = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", config.version.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        ),
        // Instances start when a request needs one; lambkin has no provisioned concurrency.
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", config.log_group()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_REGION", config.region.clone()),
        ("AWS_DEFAULT_REGION", config.region.clone()),
        ("_HANDLER", config.handler().to_owned()),
        ("LAMBDA_TASK_ROOT", root.clone()),
        ("LAMBDA_RUNTIME_DIR", root),
        ("TZ", ":UTC".to_owned()),
    ];
    env.extend(reserved.map(|(k, v)| (k.to_owned(), v)));
    env
}

/// Emits a line in a function's log outside any instance (e.g. a failed start).
pub(crate) fn log_line(config: &FunctionConfig, line: &str) {
    tracing::info_span!("function", name = %config.name).in_scope(|| logs::emit(line));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_lambdas() {
        let mut config = FunctionConfig::new("hello", "/opt/fn/hello");
        config.env.insert("GREETING".into(), "hi".into());
        config.env.insert("TZ".into(), "Europe/Paris".into());
        config.env.insert("_HANDLER".into(), "mine".into());
        config.env.insert("LANG".into(), "fr_FR.UTF-8".into());
        let env = lambda_env(&config, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:4000");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "hello");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
        assert_eq!(env["AWS_LAMBDA_INITIALIZATION_TYPE"], "on-demand");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/hello");
        assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"].contains("/[$LATEST]"));
        assert_eq!(env["AWS_REGION"], "us-east-1");
        assert_eq!(env["AWS_DEFAULT_REGION"], "us-east-1");
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/opt/fn");
        assert_eq!(env["LAMBDA_RUNTIME_DIR"], "/opt/fn");
        assert_eq!(env["AWS_XRAY_CONTEXT_MISSING"], "LOG_ERROR");
        assert_eq!(env["GREETING"], "hi");
        // Reserved: Lambda's value wins; unreserved: the function's.
        assert_eq!(env["TZ"], ":UTC");
        assert_eq!(env["_HANDLER"], "bootstrap", "no handler configured");
        assert_eq!(env["LANG"], "fr_FR.UTF-8");
        // OS-only runtimes have no AWS_EXECUTION_ENV.
        assert!(!env.contains_key("AWS_EXECUTION_ENV"));
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "Text");
        assert!(
            !env.contains_key("AWS_LAMBDA_LOG_LEVEL"),
            "Text has no level"
        );
        assert!(!env.contains_key("AWS_ACCESS_KEY_ID") || config.pass_aws_credentials);
    }

    #[test]
    fn init_error_types_are_lambdas() {
        let body = Bytes::from_static(br#"{"errorType":"Runtime.ImportModuleError"}"#);
        let of = |header: Option<&str>, body: &Bytes| {
            InitFailure::new(body.clone(), header.map(str::to_owned)).error_type
        };
        // The header first, else the body's type.
        assert_eq!(
            of(Some("Runtime.NoSuchHandler"), &body),
            "Runtime.NoSuchHandler"
        );
        assert_eq!(of(None, &body), "Runtime.ImportModuleError");
        // Only `Runtime.` and `Function.` types are kept.
        assert_eq!(of(Some("Unhandled"), &body), "Runtime.Unknown");
        assert_eq!(of(Some("Fixture.Failed"), &body), "Runtime.Unknown");
        assert_eq!(of(Some("Function.x"), &body), "Function.Unknown");
        assert_eq!(
            of(Some("Function.ConfigMissing"), &body),
            "Function.ConfigMissing"
        );
        assert_eq!(of(None, &Bytes::from_static(b"oops")), "Runtime.Unknown");
    }

    #[test]
    fn billed_duration_includes_init() {
        let ms = Duration::from_millis;
        assert_eq!(billed_ms(Duration::from_micros(10_200), None), 11);
        assert_eq!(billed_ms(ms(5), Some(Duration::from_micros(300_500))), 306);
        assert_eq!(billed_ms(Duration::ZERO, None), 1);
    }

    #[test]
    fn handler_and_logging_config_reach_the_environment() {
        let mut config = FunctionConfig::new("py", "/opt/py/bootstrap");
        config.handler = Some("app.handler".into());
        config
            .env
            .insert("AWS_LAMBDA_LOG_FORMAT".into(), "Text".into());
        config.logging.format = LogFormat::Json;
        let env = lambda_env(&config, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["_HANDLER"], "app.handler");
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON", "LoggingConfig wins");
        assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "INFO", "JSON's default level");

        config.logging.application_level = Some(crate::config::LogLevel::Debug);
        config.logging.log_group = Some("/custom/group".into());
        let env = lambda_env(&config, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], "DEBUG");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/custom/group");

        // A function's own AWS_LAMBDA_LOG_FORMAT stays when its LoggingConfig is the default.
        let mut plain = FunctionConfig::new("plain", "/opt/plain/bootstrap");
        plain
            .env
            .insert("AWS_LAMBDA_LOG_FORMAT".into(), "JSON".into());
        let env = lambda_env(&plain, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], "JSON");
    }

    #[cfg(unix)]
    #[test]
    fn exit_descriptions() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(&Ok(ExitStatus::from_raw(1 << 8))),
            "exit status 1"
        );
        assert_eq!(
            describe_exit(&Ok(ExitStatus::from_raw(9))),
            "signal: killed"
        );
    }
}
