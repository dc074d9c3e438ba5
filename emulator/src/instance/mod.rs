//! One function instance: a child process (or, in local mode, the current process) with its own
//! Runtime API. Each invocation is offered, delivered, supervised (timeout and memory), and
//! ended with what the caller gets and the START, END and REPORT lines. A function's instance
//! runs one invocation at a time, or, configured for several (Lambda Managed Instances'
//! `PerExecutionEnvironmentMaxConcurrency`), that many at once: each invocation's events reach
//! it by request id, and every invocation learns when a process of the instance exits.

mod ending;
mod env;
mod extensions;
mod invocation;
mod logs;
mod memory;
mod process;
mod report;

use std::io;
use std::net::Ipv4Addr;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until};
use tracing::{Instrument, Span};

use crate::clock::epoch_ms;
use crate::config::{FunctionConfig, LogFormat};
use crate::runtime_api::extensions::FunctionInfo;
use crate::runtime_api::{self, Channel, InitError, Pending, RuntimeEvent};
use crate::sync::{closed, lock};
use crate::telemetry::{Event, Status, Stream};
use ending::{Ending, ExtensionFailure, InitFailure};
pub(crate) use env::lambda_env;
use env::task_root;
use extensions::Exits;
pub(crate) use invocation::{
    HttpRequest, Invocation, InvokeResult, Limit, Outcome, Refused, RunReport, Trigger,
    new_trace_id,
};
pub(crate) use logs::log_line;
use logs::{Capture, Pumps};
use memory::Memory;
use process::{ExitWatch, Group};
use report::Report;

/// Longest wait for a new instance's first `/next` (Lambda's init phase limit).
pub(crate) const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a busy instance's memory is sampled.
const MEMORY_PROBE: Duration = Duration::from_millis(20);

/// How long the shutdown phase lasts before the instance's processes are killed, with internal
/// extensions only and with external ones: "500 ms – A function with a registered internal
/// extension; 2,000 ms – A function with one or more registered external extensions"
/// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-shutdown>).
/// Without extensions there is no shutdown phase (0 ms): the processes are killed at once.
const SHUTDOWN_GRACE: (Duration, Duration) =
    (Duration::from_millis(500), Duration::from_millis(2000));

/// Aborts a task when dropped.
#[derive(Debug)]
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where an instance's runtime loop runs.
#[derive(Debug)]
enum Mode {
    /// A child process group, with a Runtime API listener of its own.
    Child(Box<Process>),
    /// The current process (local mode): the caller serves its Runtime API. Its output is not
    /// captured, its memory not policed (it cannot kill itself), and as the function's only
    /// instance it is never replaced.
    InProcess,
}

impl Mode {
    fn is_child(&self) -> bool {
        matches!(self, Mode::Child(_))
    }

    /// Resolves when the runtime's process exits, or an external extension's (each reported
    /// once); never in local mode.
    async fn exited(&self) -> Exit {
        match self {
            Mode::Child(process) => {
                let mut runtime = process.runtime_exit.clone();
                tokio::select! {
                    exited = runtime.exited() => Exit::Runtime(exited.status()),
                    (name, status) = process.extension_exits.next() => Exit::Extension(name, status),
                }
            }
            Mode::InProcess => std::future::pending().await,
        }
    }
}

/// Why an instance shuts down, as its extensions' `SHUTDOWN` event says.
#[derive(Debug, Clone, Copy)]
enum Reason {
    /// Not needed any more (idle, replaced, the emulator closing).
    Spindown,
    /// An invocation timed out.
    Timeout,
    /// The runtime or an extension failed.
    Failure,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Spindown => "spindown",
            Reason::Timeout => "timeout",
            Reason::Failure => "failure",
        }
    }
}

/// Which of an instance's processes exited.
#[derive(Debug)]
enum Exit {
    Runtime(io::Result<ExitStatus>),
    Extension(String, io::Result<ExitStatus>),
}

/// A child process and the Runtime API it talks to.
#[derive(Debug)]
struct Process {
    /// Locked only for moments (signals, `/proc` reads), never across a wait.
    groups: Mutex<Groups>,
    runtime_exit: ExitWatch,
    extension_exits: Exits,
    _runtime_api: AbortOnDrop,
}

/// The process groups of an instance: the runtime's, and each external extension's (started
/// before the runtime).
#[derive(Debug)]
struct Groups {
    runtime: Group,
    extensions: Vec<Group>,
}

impl Groups {
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Group> {
        std::iter::once(&mut self.runtime).chain(self.extensions.iter_mut())
    }
}

impl Process {
    fn groups(&self) -> MutexGuard<'_, Groups> {
        lock(&self.groups)
    }
}

/// How waiting for the runtime to take an invocation ended, short of refusing it.
#[derive(Debug)]
enum Delivery {
    /// The runtime took the event (its `/next` returned) at this instant; the rest of the
    /// invocation's events come out of the receiver.
    Taken(Instant, mpsc::UnboundedReceiver<RuntimeEvent>),
    /// The invocation ends before it ran.
    Failed(Ending),
    /// A warm instance's process exited before its runtime took the event.
    Vanished,
}

/// What became of an invocation given to an instance.
#[derive(Debug)]
pub(crate) enum Ran {
    /// It ended here, answered or failed; the instance may serve again if `reusable`.
    Done {
        /// The caller's answer.
        result: InvokeResult,
        /// Whether the instance may take another invocation.
        reusable: bool,
    },
    /// The warm instance's process had exited before its runtime took the event (a runtime may
    /// exit after answering instead of polling `/next` again). Lambda gives the event a fresh
    /// environment; so must the caller. The instance is dead: drop it.
    Vanished,
}

/// A function instance. Its methods take `&self`: an instance configured for several
/// invocations at once is shared by them.
#[derive(Debug)]
pub(crate) struct Instance {
    config: Arc<FunctionConfig>,
    version: u64,
    mode: Mode,
    channel: Arc<Channel>,
    capture: Arc<Capture>,
    pumps: Pumps,
    started: Instant,
    span: Span,
    /// Locked only for moments, never across a wait.
    state: Mutex<State>,
}

/// What an instance learns as it runs.
#[derive(Debug, Default)]
struct State {
    /// The runtime took its first event (or init was reported over before any).
    initialized: bool,
    /// The init phase's end was logged (the `EXTENSION` lines).
    init_closed: bool,
    /// Why init failed, if it did: every later invocation fails the same way.
    init_error: Option<InitFailure>,
    /// Why the external extensions' init failed before the runtime started, if it did.
    extension_failure: Option<ExtensionFailure>,
    /// An extension exited or reported an error after init: the instance is not reused.
    broken: bool,
    /// The last memory sample and when it was taken.
    memory_sample: Option<(Instant, Memory)>,
}

/// Forgets an invocation in the channel when its run ends, however it ends.
struct Forget<'a>(&'a Channel, &'a str);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

impl Instance {
    /// Starts a child process running `config.executable`, with its own Runtime API.
    pub(crate) async fn spawn(config: Arc<FunctionConfig>, version: u64) -> io::Result<Instance> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let channel = Channel::new();
        let span = tracing::info_span!("function", name = %config.name);
        let server = tokio::spawn(
            runtime_api::serve(listener, channel.clone(), config.max_concurrency)
                .instrument(span.clone()),
        );
        let server = AbortOnDrop(server);

        let env = lambda_env(&config, addr);
        let dir = task_root(&config);
        let capture = Arc::new(Capture::new(channel.telemetry().clone()));
        let mut pumps = Pumps::default();
        let started = Instant::now();
        channel.telemetry().started(
            &config.name,
            &config.version,
            config.logging.format == LogFormat::Json,
        );
        let found = extensions::find(&config);
        channel.extensions().prepare(
            FunctionInfo {
                name: config.name.clone(),
                version: config.version.clone(),
                handler: config.handler().to_owned(),
                account_id: crate::ACCOUNT_ID.to_owned(),
            },
            found.iter().map(|(name, _)| name.clone()).collect(),
        );
        let mut externals = Vec::new();
        let mut extension_failure = None;
        for (name, path) in found {
            match extensions::start(name.clone(), &path, &env, &dir) {
                Ok(mut external) => {
                    pumps.add_output(&mut external.group, &capture, &span, Stream::Extension);
                    externals.push(external);
                }
                Err(error) => {
                    let error = error.to_string();
                    extension_failure.get_or_insert(ExtensionFailure::Launch { name, error });
                }
            }
        }
        let extension_exits = Exits::of(&externals);
        if extension_failure.is_none() && !externals.is_empty() {
            extension_failure = extensions_registered(&channel, &extension_exits).await;
        }

        let mut group = Group::spawn(&config.executable, &env, &dir)?;
        pumps.add_output(&mut group, &capture, &span, Stream::Function);
        span.in_scope(|| tracing::debug!(pid = group.id(), "instance started"));
        let runtime_exit = group.exit_watch();
        let groups = Groups {
            runtime: group,
            extensions: externals.into_iter().map(|e| e.group).collect(),
        };
        Ok(Instance {
            config,
            version,
            mode: Mode::Child(Box::new(Process {
                groups: Mutex::new(groups),
                runtime_exit,
                extension_exits,
                _runtime_api: server,
            })),
            channel,
            capture,
            pumps,
            started,
            span,
            state: Mutex::new(State {
                extension_failure,
                ..State::default()
            }),
        })
    }

    /// The instance that is the current process (local mode); its Runtime API is served by the
    /// caller over `channel`.
    pub(crate) fn in_process(config: Arc<FunctionConfig>, channel: Arc<Channel>) -> Instance {
        let span = tracing::info_span!("function", name = %config.name);
        Instance {
            config,
            version: 0,
            mode: Mode::InProcess,
            channel,
            capture: Arc::new(Capture::default()),
            pumps: Pumps::default(),
            started: Instant::now(),
            span,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Whether the child process is still running (an idle instance may have died).
    pub(crate) fn is_alive(&self) -> bool {
        match &self.mode {
            Mode::Child(process) => process.groups().runtime.is_alive(),
            Mode::InProcess => true,
        }
    }

    /// How many invocations the instance runs at once.
    pub(crate) fn capacity(&self) -> usize {
        self.config.per_instance()
    }

    /// The runtime's process id, `None` in local mode: how the dashboard tells instances apart.
    pub(crate) fn pid(&self) -> Option<u32> {
        match &self.mode {
            Mode::Child(process) => Some(process.groups().runtime.id()),
            Mode::InProcess => None,
        }
    }

    /// The instance goes idle in its pool: its processes are frozen once its runtime waits for
    /// the next event (as Lambda freezes an idle execution environment); [`Instance::invoke`]
    /// thaws them.
    ///
    /// An instance of a function with several invocations per instance is never frozen: on
    /// Lambda Managed Instances "the execution environment remains continuously active,
    /// processing invocations as they arrive without freezing between invocations"
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-execution-environment.html>).
    pub(crate) fn park(&self) {
        if self.capacity() > 1 {
            return;
        }
        if let Mode::Child(process) = &self.mode {
            // The extensions are done too by now: the invocation ended once they asked for
            // their next event.
            for group in process.groups().iter_mut() {
                group.park(self.channel.polling());
            }
        }
    }

    /// Waits until the runtime first asks for an invocation (its init is done), until `within`
    /// after the instance started. False if it exited, reported an init error, or took longer.
    pub(crate) async fn wait_ready(&self, within: Duration) -> bool {
        // Counted from the instance's start, extensions' registration included (see `deliver`).
        let give_up = self.started + within;
        if self.state().extension_failure.is_some() {
            return false;
        }
        let ready = loop {
            if let Some(ready) = self.channel.first_poll()
                && self.channel.extensions().is_settled()
            {
                break ready;
            }
            if Instant::now() >= give_up || !self.is_alive() {
                return false;
            }
            // A ready check every few ms costs nothing next to a process start-up.
            sleep(Duration::from_millis(2)).await;
        };
        self.take_extension_errors();
        if self.init_failure().is_some() {
            return false;
        }
        // Initialised before any traffic, as with provisioned concurrency: the first
        // invocation reports no Init Duration; the init gets a line of its own.
        self.state().initialized = true;
        self.end_init();
        let init = ready.saturating_duration_since(self.started);
        self.init_ended(Status::Success, None, init);
        log_line(
            &self.config,
            &format!(
                "INIT_REPORT Init Duration: {:.2} ms",
                init.as_secs_f64() * 1e3
            ),
        );
        true
    }

    /// The configuration version this instance runs.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// Runs one invocation. `deliver_within` bounds the wait for the runtime's `/next`.
    ///
    /// Returns the result and whether the instance can take another invocation. Refuses only
    /// when the emulator is closing, or in local mode when the runtime is still busy with an
    /// abandoned invocation after `deliver_within`.
    pub(crate) async fn invoke(
        &self,
        invocation: &Invocation,
        deliver_within: Duration,
        closing: &mut watch::Receiver<bool>,
    ) -> Result<Ran, Refused> {
        // Debug level: Lambda's own lines (START, END, REPORT) name the request already, and an
        // enabled span costs a few microseconds per invocation (BENCHMARKS.md). Disabled, the
        // instance's span stays entered, so those lines still name the function.
        let span =
            tracing::debug_span!(parent: &self.span, "invoke", request_id = %invocation.request_id);
        let span = if span.is_disabled() {
            self.span.clone()
        } else {
            span
        };
        self.run(invocation, deliver_within, closing)
            .instrument(span)
            .await
    }

    async fn run(
        &self,
        invocation: &Invocation,
        deliver_within: Duration,
        closing: &mut watch::Receiver<bool>,
    ) -> Result<Ran, Refused> {
        let id = invocation.request_id.as_str();
        let _forget = Forget(&self.channel, id);
        let mut start_logged = false;
        let start_logged = &mut start_logged;
        if let Some(failure) = self.init_failure() {
            // Kept: in local mode every later invocation fails the same way.
            return self
                .finish(id, Ending::InitError(failure), None, 0, start_logged)
                .await;
        }
        let extension_failure = self.state().extension_failure.take();
        if let Some(failure) = extension_failure {
            return self
                .finish(id, Ending::Extension(failure), None, 0, start_logged)
                .await;
        }
        let delivery = self
            .deliver(invocation, deliver_within, closing, start_logged)
            .await?;
        let (delivered_at, mut events) = match delivery {
            Delivery::Taken(at, events) => (at, events),
            Delivery::Failed(ending) => {
                return self.finish(id, ending, None, 0, start_logged).await;
            }
            Delivery::Vanished => {
                tracing::debug!("the warm instance exited before taking the event");
                return Ok(Ran::Vanished);
            }
        };
        // Init ends at the first `/next`; in local mode that can be long before the first caller.
        let first = !std::mem::replace(&mut self.state().initialized, true);
        let init = first.then(|| {
            let ready = self.channel.first_poll().unwrap_or(delivered_at);
            ready.saturating_duration_since(self.started)
        });
        if let Some(init) = init {
            self.init_ended(Status::Success, None, init);
        }
        self.log_start(id, start_logged);
        let (mut ending, peak_kb) = self.supervise(&mut events, delivered_at, closing).await?;
        if matches!(ending, Ending::Answered(_)) {
            ending = self.extensions_done(delivered_at, ending).await;
        }
        let started = Some((delivered_at, init));
        self.finish(id, ending, started, peak_kb, start_logged)
            .await
    }

    /// Why init failed, if it did: the runtime's `/init/error` (kept for every later
    /// invocation), or an extension's.
    fn init_failure(&self) -> Option<InitFailure> {
        let reported = self.channel.init_error().borrow().clone();
        let mut state = self.state();
        if let (None, Some(InitError { body, header_type })) = (&state.init_error, reported) {
            state.init_error = Some(InitFailure::new(body, header_type));
        }
        state.init_error.clone()
    }

    /// The runtime answered: the invocation is over once every extension given its `INVOKE`
    /// asks for its next event, within the function's timeout ("The function's timeout setting
    /// limits the duration of the entire Invoke phase", AWS's guide).
    async fn extensions_done(&self, delivered_at: Instant, answered: Ending) -> Ending {
        let channel = self.channel.clone();
        let deadline = sleep_until((delivered_at + self.config.timeout).into());
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                () = channel.extensions().settled() => return answered,
                exit = self.mode.exited() => match exit {
                    // The answer stands; the instance is done for.
                    Exit::Runtime(_) => {
                        self.state().broken = true;
                        return answered;
                    }
                    Exit::Extension(name, status) => self.extension_exited(&name, &status),
                },
                () = &mut deadline => return Ending::Timeout,
            }
        }
    }

    /// External extension `name` exited after init: nothing waits for it, and the instance is
    /// not reused (Lambda resets an environment whose extension crashed).
    fn extension_exited(&self, name: &str, status: &io::Result<ExitStatus>) {
        tracing::debug!(extension = name, ?status, "an extension exited");
        self.channel.extensions().exited(name);
        self.state().broken = true;
    }

    /// Takes the errors extensions reported: an `/init/error` during init fails it; any other
    /// (an `/exit/error`: the extension is on its way out) retires the instance.
    fn take_extension_errors(&self) {
        for error in self.channel.extensions().take_errors() {
            let mut state = self.state();
            if error.init && !state.initialized {
                state.init_error = Some(InitFailure::extension(&error));
            } else {
                state.broken = true;
            }
        }
    }

    /// The init phase is over: registrations close, and Lambda's `EXTENSION` lines are logged
    /// (once, however many invocations waited for the init).
    fn end_init(&self) {
        if std::mem::replace(&mut self.state().init_closed, true) {
            return;
        }
        let extensions = self.channel.extensions();
        extensions.close_registration();
        let telemetry = self.channel.telemetry();
        for extension in extensions.summaries() {
            self.capture.line(&extension.log_line());
            telemetry.emit(|| Event::Extension {
                name: extension.name,
                state: extension.state,
                events: extension.events,
            });
        }
    }

    /// Offers `invocation` and waits, at most `deliver_within`, until the runtime takes it.
    async fn deliver(
        &self,
        invocation: &Invocation,
        deliver_within: Duration,
        closing: &mut watch::Receiver<bool>,
        start_logged: &mut bool,
    ) -> Result<Delivery, Refused> {
        let id = invocation.request_id.as_str();
        let initialized = self.state().initialized;
        // One invocation at a time: the log tail is this invocation's from here on.
        if initialized && self.capacity() == 1 {
            self.capture.clear();
        }
        // After the clear: what a timer left by the last invocation prints now belongs to this one.
        if let Mode::Child(process) = &self.mode {
            for group in process.groups().iter_mut() {
                group.thaw();
            }
        }
        // A new instance gets its first event only once its runtime waits in `/next`, so that
        // what it wrote during init is read first and goes before START, as in Lambda's log.
        let mut events = initialized.then(|| self.offer(invocation, start_logged));
        let mut polling = self.channel.polling();
        let mut init_error = self.channel.init_error();
        let channel = self.channel.clone();

        // The init phase's budget counts from the instance's start: waiting for external
        // extensions to register spent part of it (AWS: "The Init phase is limited to 10
        // seconds", <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>).
        let give_up = sleep(if initialized {
            deliver_within
        } else {
            deliver_within.saturating_sub(self.started.elapsed())
        });
        tokio::pin!(give_up);
        let mut gave_up = false;
        loop {
            tokio::select! {
                biased;
                // Before init_over: an extension that reported its init error is done too.
                () = channel.extensions().error_reported() => {
                    self.take_extension_errors();
                    let state = self.state();
                    if let (Some(failure), false) = (&state.init_error, state.initialized) {
                        return Ok(Delivery::Failed(Ending::InitError(failure.clone())));
                    }
                }
                () = init_over(&mut polling, &channel), if events.is_none() => {
                    self.pumps.settle().await;
                    self.end_init();
                    events = Some(self.offer(invocation, start_logged));
                }
                event = next_event(&mut events) => match event {
                    Some(RuntimeEvent::Delivered { at }) => {
                        if let Some(events) = events.take() {
                            return Ok(Delivery::Taken(at, events));
                        }
                    }
                    Some(event) => tracing::debug!(?event, "an answer before the delivery"),
                    None => return Err(Refused::ShuttingDown),
                },
                InitError { body, header_type } = init_failed(&mut init_error) => {
                    let failure = InitFailure::new(body, header_type);
                    self.state().init_error = Some(failure.clone());
                    return Ok(Delivery::Failed(Ending::InitError(failure)));
                }
                exit = self.mode.exited() => match exit {
                    Exit::Runtime(_) if self.state().initialized => return Ok(Delivery::Vanished),
                    Exit::Runtime(status) => return Ok(Delivery::Failed(Ending::Exited(status))),
                    Exit::Extension(name, status) if !self.state().initialized => {
                        channel.extensions().exited(&name);
                        let failure = ExtensionFailure::Crash { name, status };
                        return Ok(Delivery::Failed(Ending::Extension(failure)));
                    }
                    Exit::Extension(name, status) => self.extension_exited(&name, &status),
                },
                () = &mut give_up, if !gave_up => {
                    gave_up = true;
                    // Lost the race with `/next`: its Delivered event is queued.
                    if events.is_none() || self.channel.withdraw(id) {
                        if !self.mode.is_child() {
                            return Err(Refused::Throttled(Limit::Reserved));
                        }
                        return Ok(Delivery::Failed(Ending::InitTimeout));
                    }
                }
                () = closed(closing) => {
                    self.channel.withdraw(id);
                    return Err(Refused::ShuttingDown);
                }
            }
        }
    }

    /// Waits for the runtime's answer to invocation `id`, taken at `delivered_at`, within the
    /// function's timeout and (child processes) memory size. Returns how it ended and the peak
    /// memory sampled.
    async fn supervise(
        &self,
        events: &mut mpsc::UnboundedReceiver<RuntimeEvent>,
        delivered_at: Instant,
        closing: &mut watch::Receiver<bool>,
    ) -> Result<(Ending, u64), Refused> {
        // `None`: a timeout past what `Instant` holds, never reached.
        let expires = delivered_at.checked_add(self.config.timeout);
        let police_memory = self.mode.is_child();
        // One timer wakes this task for both the deadline and the memory samples: each timer
        // armed costs every invocation, and most end before the first sample (`finish`
        // samples then).
        let next_wake = |now: Instant| {
            let probe = police_memory.then(|| now + MEMORY_PROBE);
            expires.into_iter().chain(probe).min()
        };
        let mut wake_at = next_wake(delivered_at);
        let timer = sleep_until(wake_at.unwrap_or(delivered_at).into());
        tokio::pin!(timer);
        let limit_kb = u64::from(self.config.memory_mb) * 1024;
        let mut peak_kb = 0;
        let ending = loop {
            tokio::select! {
                biased;
                event = events.recv() => match event {
                    Some(RuntimeEvent::Answered { answer, at }) => {
                        // When this task runs late, an answer past the deadline may be read
                        // before the deadline fires: it still came too late.
                        if expires.is_some_and(|expires| at > expires) {
                            break Ending::Timeout;
                        }
                        break Ending::Answered(answer);
                    }
                    Some(event) => tracing::debug!(?event, "ignoring a Runtime API event"),
                    None => return Err(Refused::ShuttingDown),
                },
                exit = self.mode.exited() => match exit {
                    Exit::Runtime(status) => break Ending::Exited(status),
                    Exit::Extension(name, status) => self.extension_exited(&name, &status),
                },
                () = &mut timer, if wake_at.is_some() => {
                    // The timer's clock (tokio's, which tests may pause), not the system's.
                    let now = tokio::time::Instant::now();
                    if expires.is_some_and(|at| now >= at.into()) {
                        break Ending::Timeout;
                    }
                    if let Some(memory) = self.sample_memory() {
                        peak_kb = peak_kb.max(memory.peak_kb);
                        if memory.resident_kb > limit_kb {
                            break Ending::OutOfMemory;
                        }
                    }
                    wake_at = next_wake(now.into_std());
                    if let Some(at) = wake_at {
                        timer.as_mut().reset(at.into());
                    }
                }
                () = closed(closing) => {
                    self.stop().await;
                    return Err(Refused::ShuttingDown);
                }
            }
        };
        Ok((ending, peak_kb))
    }

    /// Offers `invocation` to the runtime's `/next`. A child process's START is logged first,
    /// so that it precedes whatever the function prints for the event; local mode's (whose
    /// output is not captured) once the event is delivered.
    fn offer(
        &self,
        invocation: &Invocation,
        start_logged: &mut bool,
    ) -> mpsc::UnboundedReceiver<RuntimeEvent> {
        // A new instance's init ended when its runtime first waited for an event: telemetry
        // subscribers learn it before the invocation's start.
        if let Some(ready) = self.channel.first_poll() {
            self.init_ended(
                Status::Success,
                None,
                ready.saturating_duration_since(self.started),
            );
        }
        if self.mode.is_child() {
            self.log_start(&invocation.request_id, start_logged);
        }
        self.channel.offer(Pending {
            request_id: invocation.request_id.clone(),
            payload: invocation.payload.clone(),
            timeout: self.config.timeout,
            function_arn: self.config.arn(),
            trace_id: invocation.trace_id.clone(),
            client_context: invocation.client_context.clone(),
            cognito_identity: invocation.cognito_identity.clone(),
            tap: invocation.stream.clone(),
        })
    }

    /// Logs the invocation's START line (and tells telemetry subscribers), unless it already
    /// was.
    fn log_start(&self, id: &str, start_logged: &mut bool) {
        if !std::mem::replace(start_logged, true) {
            let version = &self.config.version;
            self.capture.line(&report::start_line(id, version));
            self.channel.telemetry().emit(|| Event::Start {
                request_id: id.to_owned(),
                version: version.clone(),
            });
        }
    }

    /// Tells telemetry subscribers the init phase ended, after `duration`.
    fn init_ended(&self, status: Status, error_type: Option<String>, duration: Duration) {
        self.channel.telemetry().init_done(|| Event::InitDone {
            status,
            error_type,
            duration,
        });
    }

    /// Ends an invocation: stops the instance if it cannot be reused, writes END and REPORT,
    /// and builds what the caller gets.
    async fn finish(
        &self,
        id: &str,
        ending: Ending,
        started: Option<(Instant, Option<Duration>)>,
        peak_kb: u64,
        start_logged: &mut bool,
    ) -> Result<Ran, Refused> {
        let duration = started.map_or(Duration::ZERO, |(at, _)| at.elapsed());
        let peak_kb = self
            .recent_memory()
            .map_or(peak_kb, |m| m.peak_kb.max(peak_kb));
        // A process that crashed may have outgrown the last sample (or died before the first).
        let exit_peak_kb = match &self.mode {
            Mode::Child(process) => process.groups().runtime.exit_peak_kb(),
            Mode::InProcess => None,
        };
        let peak_kb = peak_kb.max(exit_peak_kb.unwrap_or(0));
        self.take_extension_errors();
        let reusable = self.reusable_after(&ending);
        if !reusable {
            // The runtime answered, or will not: the environment is reset after a timeout
            // (`timeout`) and after any other failure (`failure`).
            let reason = match ending {
                Ending::Timeout => Reason::Timeout,
                _ => Reason::Failure,
            };
            self.shut_down_for(reason).await;
        }
        self.pumps.settle().await;
        self.log_start(id, start_logged);

        // Built only for subscribers (an error answer is parsed for its type).
        let telemetry = self.channel.telemetry();
        let telemetry_status = telemetry
            .is_active()
            .then(|| ending::telemetry_status(&ending));
        if let Some((status, error_type, produced_bytes)) = &telemetry_status {
            if !self.state().initialized {
                self.init_ended(*status, error_type.clone(), self.started.elapsed());
            }
            telemetry.emit(|| Event::RuntimeDone {
                request_id: id.to_owned(),
                status: *status,
                error_type: error_type.clone(),
                duration,
                produced_bytes: *produced_bytes,
            });
        }
        let (outcome, status) = ending::outcome(id, ending, self.config.timeout);
        if let (Outcome::Unhandled(body), Some(_)) = (&outcome, &status) {
            // Errors the emulator makes up are logged as Lambda logs them.
            let message = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["errorMessage"].as_str().map(str::to_owned));
            if let Some(message) = message {
                self.capture.line(&message);
            }
        }
        self.capture.line(&report::end_line(id));
        let report = Report {
            id,
            duration,
            init: started.and_then(|(_, init)| init),
            memory_mb: self.config.memory_mb,
            peak_kb,
            status,
        };
        self.capture.line(&report.line());
        if let Some((status, error_type, _)) = telemetry_status {
            self.channel.telemetry().emit(|| Event::Report {
                request_id: id.to_owned(),
                status,
                error_type,
                metrics: report.metrics(),
            });
        }
        // Several invocations at once share one log: the tail is its latest lines.
        let log_tail = if self.capacity() == 1 {
            self.capture.take_tail()
        } else {
            self.capture.tail()
        };
        Ok(Ran::Done {
            result: InvokeResult {
                outcome,
                log_tail,
                report: Some(RunReport {
                    instance: self.pid(),
                    metrics: report.metrics(),
                }),
            },
            reusable,
        })
    }

    /// Whether the instance may serve again after an invocation that ended so.
    ///
    /// Local mode has one instance and cannot replace it: it is always kept. An instance
    /// running several invocations at once outlives one's timeout: Lambda Managed Instances
    /// "will not enforce the timeout and your code continues running" while "other concurrent
    /// invocations in the execution environment continue processing normally"
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-execution-environment.html>).
    fn reusable_after(&self, ending: &Ending) -> bool {
        if !self.mode.is_child() {
            return true;
        }
        let survives = match ending {
            Ending::Answered(_) => true,
            Ending::Timeout => self.capacity() > 1,
            _ => false,
        };
        survives && !self.state().broken
    }

    /// Kills the instance's processes and waits until they are gone.
    pub(crate) async fn stop(&self) {
        self.channel.close();
        if let Mode::Child(process) = &self.mode {
            let kills: Vec<_> = process.groups().iter_mut().map(Group::kill).collect();
            for kill in kills {
                kill.await;
            }
        }
    }

    /// Ends the instance as Lambda ends an execution environment it no longer needs (idle,
    /// replaced, the emulator closing): the shutdown phase with reason `spindown`, then
    /// [`Instance::stop`].
    pub(crate) async fn shut_down(&self) {
        self.shut_down_for(Reason::Spindown).await;
    }

    /// The shutdown phase, for `reason`, then [`Instance::stop`].
    ///
    /// With extensions registered, Lambda "sends a SIGTERM signal to the runtime and then a
    /// Shutdown event to each registered external extension" and waits, at most
    /// [`SHUTDOWN_GRACE`], for the runtime to exit and the extensions to be done (back in
    /// `/event/next`, or exited) before killing what is left
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-shutdown>).
    /// The event's `shutdownReason` is `spindown`, `timeout` or `failure`
    /// (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html#extensions-api-shutdown>).
    async fn shut_down_for(&self, reason: Reason) {
        let channel = self.channel.clone();
        let extensions = channel.extensions();
        let (any, external) = extensions.registered();
        if let (Mode::Child(process), true) = (&self.mode, any) {
            let grace = if external {
                SHUTDOWN_GRACE.1
            } else {
                SHUTDOWN_GRACE.0
            };
            let grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX);
            {
                let mut groups = process.groups();
                for group in groups.iter_mut() {
                    group.thaw();
                }
                groups.runtime.terminate();
            }
            // What is buffered goes out now, while the extensions can still take it.
            channel.telemetry().flush();
            extensions.shutdown(reason.as_str(), epoch_ms(SystemTime::now()) + grace_ms);
            let span = self.span.clone();
            span.in_scope(|| tracing::debug!(?grace, "shutdown phase"));
            let give_up = sleep(grace);
            tokio::pin!(give_up);
            let mut runtime_exited = false;
            let mut runtime = process.runtime_exit.clone();
            loop {
                tokio::select! {
                    () = extensions.settled(), if runtime_exited => break,
                    _ = runtime.exited(), if !runtime_exited => runtime_exited = true,
                    (name, _) = process.extension_exits.next() => {
                        extensions.exited(&name);
                    }
                    () = &mut give_up => {
                        span.in_scope(|| tracing::debug!("shutdown phase timed out"));
                        break;
                    }
                }
            }
        }
        self.stop().await;
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // The processes are killed when the group is dropped.
        self.channel.close();
        if self.mode.is_child() {
            self.span.in_scope(|| tracing::debug!("instance stopped"));
        }
    }
}

/// Resolves once the init phase is over: the runtime waits in `/next` and every extension
/// registered and waits in `/event/next` ("The Init phase ends when the runtime and all
/// extensions signal that they are ready by sending a Next API request", AWS's guide).
async fn init_over(polling: &mut watch::Receiver<usize>, channel: &Channel) {
    loop {
        runtime_waits(polling).await;
        channel.extensions().settled().await;
        if *polling.borrow() > 0 {
            return;
        }
    }
}

/// Waits, at most [`INIT_TIMEOUT`], until every external extension registered ("Extension
/// init" comes before the runtime starts); the failure if one exited first or some never did.
async fn extensions_registered(channel: &Channel, exits: &Exits) -> Option<ExtensionFailure> {
    tokio::select! {
        biased;
        () = channel.extensions().all_registered() => None,
        (name, status) = exits.next() => {
            channel.extensions().exited(&name);
            Some(ExtensionFailure::Crash { name, status })
        }
        () = sleep(INIT_TIMEOUT) => {
            Some(ExtensionFailure::NotRegistered(channel.extensions().unregistered()))
        }
    }
}

/// Resolves once the runtime waits in `/next` (`polling` counts those waits).
async fn runtime_waits(polling: &mut watch::Receiver<usize>) {
    if polling.wait_for(|waiting| *waiting > 0).await.is_err() {
        // The channel is gone with the instance: nothing will ever wait.
        std::future::pending::<()>().await;
    }
}

/// The next event of an offered invocation; never before it is offered.
async fn next_event(
    events: &mut Option<mpsc::UnboundedReceiver<RuntimeEvent>>,
) -> Option<RuntimeEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves with the runtime's `/init/error` once it reports one.
async fn init_failed(reported: &mut watch::Receiver<Option<InitError>>) -> InitError {
    loop {
        if let Some(error) = reported.borrow_and_update().clone() {
            return error;
        }
        if reported.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}
