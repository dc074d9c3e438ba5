//! An instance's processes as one unit: started in a session of their own, frozen while idle,
//! measured, killed together, and never outliving the emulator.
//!
//! * **One process group per instance.** The function's process calls `setsid` before it runs,
//!   so it and everything it starts (a shell's `sleep &`, a wrapper's worker, a Node cluster)
//!   share a process group no other process can join. Stopping an instance (timeout, memory,
//!   reload, reaping, shutdown) sends SIGKILL to the whole group, reaps the leader and waits
//!   until no process of the group runs any more. Leaving the emulator's session also keeps a
//!   terminal's Ctrl-C / Ctrl-Z away from functions: the emulator decides when they stop. (A
//!   process that calls `setsid` itself, a daemon, leaves the group: it is neither measured nor
//!   killed. Lambda confines it with cgroups, which need privileges or a delegated subtree the
//!   emulator cannot count on.)
//! * **Frozen while idle**, as Lambda "freezes the execution environment" once the runtime has
//!   asked for the next event and none is pending
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>): a parked
//!   instance's group gets SIGSTOP once its runtime waits in `/next` and [`FREEZE_GRACE`] has
//!   passed since the invocation ended, and SIGCONT right before the next event is offered.
//!   Timers left by one invocation fire in the next one, and no CPU is spent while idle. (The
//!   grace is ours: under steady traffic an instance gets its next event within it and is never
//!   stopped, which spares two signals, and the two SIGCHLDs they cause, per invocation.)
//! * **Measured as a group**: see [`super::memory`] for how the members' memory adds up;
//!   [`procfs`] finds the members.
//! * **Nothing survives the emulator, however it ends** (Linux). The leader has a parent-death
//!   signal, but that does not reach its children. So a watchdog — `/bin/sh` reading one end of
//!   a socket pair whose other end only the emulator holds (close-on-exec, so no function
//!   inherits it) — keeps the list of live groups; the emulator's exit, even by SIGKILL, closes
//!   the socket, and the watchdog SIGKILLs every group still listed. Each function process
//!   announces its own group from `pre_exec`, before any of its code runs, so there is no
//!   window in which a group exists unlisted; the emulator withdraws a group only once it is
//!   confirmed empty, so a reused process id is never killed. One watchdog serves every
//!   emulator of the process, started with the first function process (the SDK's local mode
//!   starts none), and is restarted, with the list, if it ever dies. It runs detached from the
//!   emulator (its child exits at once), so it is not a child for anyone to reap or count.
//!   `PR_SET_CHILD_SUBREAPER` was the alternative: orphans would become the emulator's children,
//!   but something must then reap children the runtime does not know, without stealing the
//!   statuses tokio waits for, and it still does nothing once the emulator itself is killed.
//!
//! Elsewhere on Unix, groups and freezing work the same, without the watchdog or `/proc`
//! memory; on other systems only the function's own process is known.

/// How long after an invocation an idle instance's group is stopped (once its runtime waits in
/// `/next`): longer than the gap between two events of a busy function, short enough that work
/// a function leaves behind after answering barely runs (Lambda stops it at once).
const FREEZE_GRACE: Duration = Duration::from_millis(10);

#[cfg(target_os = "linux")]
mod exit;
mod isolation;
mod procfs;
#[cfg(target_os = "linux")]
mod watchdog;

pub(crate) use procfs::read_proc;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::sync::lock;

/// How long a kill waits for the leader, and then for the rest of the group, to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How often a killed group is checked for survivors.
const KILL_POLL: Duration = Duration::from_millis(5);

/// How an instance's leader ended, as its reaper learnt it.
#[derive(Debug, Clone)]
pub(crate) struct Exited {
    status: Result<ExitStatus, String>,
    /// The leader's peak resident memory over its life, learnt as it exited (Linux).
    peak_kb: Option<u64>,
}

impl Exited {
    /// The leader's exit status, or why it could not be learnt.
    pub(crate) fn status(&self) -> io::Result<ExitStatus> {
        self.status.clone().map_err(io::Error::other)
    }
}

/// The processes of one instance: the function's process, leading a process group (and session)
/// of its own, and everything it starts.
///
/// The leader itself belongs to a reaper task, which waits for it and publishes how it ended:
/// any number of waiters ([`Group::exit_watch`]) learn it, each invocation of an instance running
/// several at once included.
#[derive(Debug)]
pub(crate) struct Group {
    /// The leader's pid, which is also the group's id (Unix).
    pgid: u32,
    /// The leader's piped output, until taken.
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    /// How the leader ended, once it has.
    exit: watch::Receiver<Option<Exited>>,
    /// Tells the reaper to kill the leader itself (the only kill where there are no groups).
    kill_leader: Option<oneshot::Sender<()>>,
    freeze: Arc<Mutex<Freeze>>,
    /// Freezes the group once it has been parked for the grace (see [`freezer`]), and what
    /// wakes it.
    freezer: Option<(JoinHandle<()>, Arc<Notify>)>,
    /// [`Group::kill`] ran: nothing is left to do on drop.
    killed: bool,
}

/// Whether an instance is idle in its pool and whether it is stopped.
#[derive(Debug)]
struct Freeze {
    parked: bool,
    frozen: bool,
    /// When the instance was last parked: the grace counts from there (on the timer's clock,
    /// which tests may pause).
    parked_at: Instant,
}

impl Default for Freeze {
    fn default() -> Self {
        Freeze {
            parked: false,
            frozen: false,
            parked_at: Instant::now(),
        }
    }
}

impl Group {
    /// Spawns `program` in `dir` with exactly the environment `env`, stdin closed and its
    /// output piped (the caller reads it into the function's log), as the leader of a new
    /// group (see the module doc), dying with the emulator.
    pub(crate) fn spawn(
        program: &Path,
        env: &BTreeMap<String, String>,
        dir: &Path,
    ) -> io::Result<Group> {
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(env)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut leader = watchdog::spawn(&mut command)?;
        let pgid = leader
            .id()
            .ok_or_else(|| io::Error::other("the function process has no id"))?;
        let (stdout, stderr) = (leader.stdout.take(), leader.stderr.take());
        let (exit_tx, exit) = watch::channel(None);
        let (kill_leader, killed) = oneshot::channel();
        tokio::spawn(reap(leader, pgid, killed, exit_tx));
        Ok(Group {
            pgid,
            stdout,
            stderr,
            exit,
            kill_leader: Some(kill_leader),
            freeze: Arc::default(),
            freezer: None,
            killed: false,
        })
    }

    /// The leader's pid.
    pub(crate) fn id(&self) -> u32 {
        self.pgid
    }

    /// Takes the leader's piped stdout and stderr.
    pub(crate) fn output(&mut self) -> (Option<ChildStdout>, Option<ChildStderr>) {
        (self.stdout.take(), self.stderr.take())
    }

    /// Whether the leader still runs (as far as its reaper knows).
    pub(crate) fn is_alive(&self) -> bool {
        self.exit.borrow().is_none()
    }

    /// A handle resolving when the leader exits, which outlives any lock on the group.
    pub(crate) fn exit_watch(&self) -> ExitWatch {
        ExitWatch(self.exit.clone())
    }

    /// The most memory the leader (or a child it reaped) was resident in over its life, once
    /// it has exited, as the kernel accounts it (`ru_maxrss`; Linux). A process that allocates
    /// and crashes between two samples still shows what it used.
    pub(crate) fn exit_peak_kb(&self) -> Option<u64> {
        self.exit
            .borrow()
            .as_ref()
            .and_then(|exited| exited.peak_kb)
    }

    /// The group's processes now (Linux; none elsewhere).
    pub(crate) fn members(&self) -> Vec<u32> {
        procfs::members(self.pgid)
    }

    /// The instance is idle in its pool: the group is stopped [`FREEZE_GRACE`] from now, once
    /// its runtime waits in `/next` (`polling` counts those waits), unless an event came first.
    ///
    /// Under steady traffic this is on every invocation's path, and costs no task and no timer
    /// of its own: the group's one freezer task, already timing, sees the new park time when
    /// its timer fires (the notification only stores a permit then).
    pub(crate) fn park(&mut self, polling: watch::Receiver<usize>) {
        {
            let mut state = lock(&self.freeze);
            state.parked = true;
            state.parked_at = Instant::now();
        }
        let (_, notify) = self.freezer.get_or_insert_with(|| {
            let notify = Arc::new(Notify::new());
            let task = tokio::spawn(freezer(
                self.freeze.clone(),
                notify.clone(),
                polling,
                self.pgid,
            ));
            (task, notify)
        });
        notify.notify_one();
    }

    /// The instance leaves its pool: the group runs again (before an event is offered).
    pub(crate) fn thaw(&mut self) {
        let mut state = lock(&self.freeze);
        state.parked = false;
        if std::mem::take(&mut state.frozen) {
            signal_group(self.pgid, Signal::Continue);
        }
    }

    /// Asks the leader (the function's runtime) to end: SIGTERM to it alone, the group thawed
    /// first so that it can act on it.
    pub(crate) fn terminate(&mut self) {
        self.thaw();
        #[cfg(unix)]
        if let Ok(pid) = libc::pid_t::try_from(self.pgid)
            && pid > 1
            && self.is_alive()
        {
            // SAFETY: kill(2) on the leader, unreaped until its reaper publishes its exit (so
            // the pid is still its); no memory involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }

    /// Starts killing every process of the group; the returned future resolves once none is
    /// left. Split so that the group can be behind a lock that is not held while waiting.
    pub(crate) fn kill(&mut self) -> impl Future<Output = ()> + Send + 'static {
        if let Some((freezer, _)) = self.freezer.take() {
            freezer.abort();
        }
        self.killed = true;
        end(self.pgid, self.kill_leader.take(), self.exit.clone())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some((freezer, _)) = self.freezer.take() {
            freezer.abort();
        }
        if self.killed {
            return;
        }
        // Killed now; reaped and confirmed in the background.
        signal_group(self.pgid, Signal::Kill);
        let ending = end(self.pgid, self.kill_leader.take(), self.exit.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(ending);
        }
        // Without a runtime the process is exiting: `kill_on_drop` ends the leader (its reaper
        // task is dropped with the runtime), and the watchdog, which still lists the group,
        // ends the rest.
    }
}

/// Resolves when a group's leader exits (cancel-safe); cloned, any number of waiters learn it.
#[derive(Debug, Clone)]
pub(crate) struct ExitWatch(watch::Receiver<Option<Exited>>);

impl ExitWatch {
    /// How the leader ended, once it has; never if its reaper is gone without telling.
    pub(crate) async fn exited(&mut self) -> Exited {
        loop {
            if let Some(exited) = self.0.borrow_and_update().clone() {
                return exited;
            }
            if self.0.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }
}

/// Owns `leader`: waits for it (or kills it when told, where there are no groups to signal)
/// and publishes how it ended, its peak memory read before it is reaped.
async fn reap(
    mut leader: Child,
    pgid: u32,
    kill: oneshot::Receiver<()>,
    exit: watch::Sender<Option<Exited>>,
) {
    let mut kill = Some(kill);
    // Unreaped until waited for, so the pid is still the leader's.
    let mut peak_kb = None;
    if let Some(watch) = exit::Watch::new(pgid) {
        tokio::select! {
            peak = watch.exited() => peak_kb = peak,
            () = kill_requested(&mut kill) => {
                let _ = leader.start_kill();
            }
        }
    }
    let status = tokio::select! {
        status = leader.wait() => status,
        () = kill_requested(&mut kill) => {
            let _ = leader.start_kill();
            leader.wait().await
        }
    };
    let status = status.map_err(|error| error.to_string());
    exit.send_replace(Some(Exited { status, peak_kb }));
}

/// Resolves when the group's owner asks for the leader to be killed; never if it does not.
async fn kill_requested(kill: &mut Option<oneshot::Receiver<()>>) {
    if let Some(asked) = kill.as_mut() {
        let asked = asked.await.is_ok();
        *kill = None;
        if asked {
            return;
        }
    }
    std::future::pending().await
}

/// Kills group `pgid` (and its leader through `kill_leader`), waits for the leader's reaper and
/// until no member runs; then the watchdog forgets the group.
async fn end(
    pgid: u32,
    kill_leader: Option<oneshot::Sender<()>>,
    exit: watch::Receiver<Option<Exited>>,
) {
    // SIGKILL ends stopped (frozen) processes too: no SIGCONT needed first.
    signal_group(pgid, Signal::Kill);
    // Harmless where the leader is already gone.
    if let Some(kill_leader) = kill_leader {
        let _ = kill_leader.send(());
    }
    let _ = tokio::time::timeout(KILL_WAIT, ExitWatch(exit).exited()).await;
    let emptied = tokio::time::timeout(KILL_WAIT, async {
        while !group_gone(pgid) {
            // Members forked while the signal was on its way.
            signal_group(pgid, Signal::Kill);
            tokio::time::sleep(KILL_POLL).await;
        }
    })
    .await;
    if emptied.is_ok() {
        watchdog::release(pgid);
    } else {
        tracing::warn!(
            pgid,
            "processes of a stopped function instance are still running"
        );
    }
}

/// A group's freezer: woken by a park, it stops the group once the runtime waits in `/next`
/// and [`FREEZE_GRACE`] has passed since the latest park, unless the instance left its pool
/// first. A park while it is timing leaves a permit behind: one more round, which finds the
/// group frozen or gone from its pool and waits again.
async fn freezer(
    freeze: Arc<Mutex<Freeze>>,
    wake: Arc<Notify>,
    mut polling: watch::Receiver<usize>,
    pgid: u32,
) {
    loop {
        wake.notified().await;
        loop {
            if polling.wait_for(|waiting| *waiting > 0).await.is_err() {
                return; // the instance's Runtime API is gone
            }
            let due = lock(&freeze).parked_at + FREEZE_GRACE;
            tokio::time::sleep_until(due).await;
            let mut state = lock(&freeze);
            if !state.parked || state.frozen {
                break;
            }
            if state.parked_at + FREEZE_GRACE > Instant::now() || *polling.borrow() == 0 {
                continue; // parked again since, or its runtime is not waiting yet
            }
            state.frozen = signal_group(pgid, Signal::Stop);
            break;
        }
    }
}

/// The signals sent to groups.
#[derive(Debug, Clone, Copy)]
enum Signal {
    Kill,
    Stop,
    Continue,
    /// None: only checks whether the group has any process (zombies included).
    Probe,
}

/// Sends `signal` to every process of group `pgid`; false if there was none (or no groups).
fn signal_group(pgid: u32, signal: Signal) -> bool {
    #[cfg(unix)]
    {
        let signal = match signal {
            Signal::Kill => libc::SIGKILL,
            Signal::Stop => libc::SIGSTOP,
            Signal::Continue => libc::SIGCONT,
            Signal::Probe => 0,
        };
        // kill(-1) would signal every process of the user and kill(0) the emulator's own
        // group: only real group ids pass.
        match libc::pid_t::try_from(pgid) {
            // SAFETY: kill(2) with a negative pid signals a process group; no memory involved.
            Ok(pgid) if pgid > 1 => unsafe { libc::kill(-pgid, signal) == 0 },
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (pgid, signal);
        false
    }
}

/// Whether no process of group `pgid` runs any more (zombies waiting for their reaper count as
/// gone: they hold no memory and run nothing).
fn group_gone(pgid: u32) -> bool {
    !signal_group(pgid, Signal::Probe)
        || !procfs::processes().any(|pid| procfs::running_in(pid, pgid))
}

#[cfg(not(target_os = "linux"))]
mod watchdog {
    use tokio::process::{Child, Command};

    /// Spawns `command` in a group of its own (no watchdog here).
    pub(super) fn spawn(command: &mut Command) -> std::io::Result<Child> {
        super::isolation::isolate(command, None);
        command.spawn()
    }

    pub(super) fn release(_pgid: u32) {}
}

#[cfg(not(target_os = "linux"))]
mod exit {
    /// Nothing to watch here: a leader's peak is known only from samples.
    #[derive(Debug)]
    pub(super) enum Watch {}

    impl Watch {
        pub(super) fn new(_pid: u32) -> Option<Watch> {
            None
        }

        pub(super) async fn exited(&self) -> Option<u64> {
            match *self {}
        }
    }
}
