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
//!   instance's group gets SIGSTOP as soon as its runtime waits in `/next`, and SIGCONT right
//!   before the next event is offered. Timers left by one invocation fire in the next one, and
//!   no CPU is spent while idle.
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

#[cfg(target_os = "linux")]
mod exit;
mod isolation;
mod procfs;
#[cfg(target_os = "linux")]
mod watchdog;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::sync::lock;
use procfs::Members;

/// How long a kill waits for the leader, and then for the rest of the group, to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How often a killed group is checked for survivors.
const KILL_POLL: Duration = Duration::from_millis(5);

/// The processes of one instance: the function's process, leading a process group (and session)
/// of its own, and everything it starts.
#[derive(Debug)]
pub(crate) struct Group {
    /// The function's process; taken by the background reaper when the group is dropped.
    leader: Option<Child>,
    /// The leader's pid, which is also the group's id (Unix).
    pgid: u32,
    members: Members,
    freeze: Arc<Mutex<Freeze>>,
    /// Waits for the parked runtime's `/next`, then freezes the group.
    freezer: Option<JoinHandle<()>>,
    /// [`Group::kill`] ran: nothing is left to do on drop.
    killed: bool,
    /// Tells when the leader exits, before it is reaped (Linux); gone once it has.
    exit_watch: Option<exit::Watch>,
    /// The leader's peak resident memory over its life, learnt as it exited.
    exit_peak_kb: Option<u64>,
}

/// Whether an instance is idle in its pool and whether it is stopped.
#[derive(Debug, Default)]
struct Freeze {
    parked: bool,
    frozen: bool,
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
        let leader = watchdog::spawn(&mut command)?;
        let pgid = leader
            .id()
            .ok_or_else(|| io::Error::other("the function process has no id"))?;
        Ok(Group {
            leader: Some(leader),
            pgid,
            members: Members::default(),
            freeze: Arc::default(),
            freezer: None,
            killed: false,
            // Unreaped until waited for, so the pid is still the leader's.
            exit_watch: exit::Watch::new(pgid),
            exit_peak_kb: None,
        })
    }

    /// The leader's pid.
    pub(crate) fn id(&self) -> u32 {
        self.pgid
    }

    /// Takes the leader's piped stdout and stderr.
    pub(crate) fn output(&mut self) -> (Option<ChildStdout>, Option<ChildStderr>) {
        match &mut self.leader {
            Some(leader) => (leader.stdout.take(), leader.stderr.take()),
            None => (None, None),
        }
    }

    /// Whether the leader still runs.
    pub(crate) fn is_alive(&mut self) -> bool {
        self.leader
            .as_mut()
            .is_some_and(|leader| matches!(leader.try_wait(), Ok(None)))
    }

    /// Resolves when the leader exits (cancel-safe). Its peak memory is read before it is
    /// reaped: see [`Group::exit_peak_kb`].
    pub(crate) async fn exited(&mut self) -> io::Result<ExitStatus> {
        let Some(leader) = &mut self.leader else {
            return std::future::pending().await;
        };
        if let Some(watch) = &self.exit_watch {
            self.exit_peak_kb = watch.exited().await;
            self.exit_watch = None;
        }
        leader.wait().await
    }

    /// The most memory the leader (or a child it reaped) was resident in over its life, once
    /// it has exited, as the kernel accounts it (`ru_maxrss`; Linux). A process that allocates
    /// and crashes between two samples still shows what it used.
    pub(crate) fn exit_peak_kb(&self) -> Option<u64> {
        self.exit_peak_kb
    }

    /// The group's processes now (Linux; none elsewhere).
    pub(crate) fn members(&mut self) -> Vec<u32> {
        self.members.current(self.pgid).collect()
    }

    /// The instance is idle in its pool: the group is stopped as soon as its runtime waits in
    /// `/next` (`polling` counts those waits), now or later.
    pub(crate) fn park(&mut self, mut polling: watch::Receiver<usize>) {
        lock(&self.freeze).parked = true;
        if *polling.borrow_and_update() > 0 {
            freeze_parked(&self.freeze, self.pgid);
            return;
        }
        let (freeze, pgid) = (self.freeze.clone(), self.pgid);
        let freezer = tokio::spawn(async move {
            if polling.wait_for(|waiting| *waiting > 0).await.is_ok() {
                freeze_parked(&freeze, pgid);
            }
        });
        if let Some(previous) = self.freezer.replace(freezer) {
            previous.abort();
        }
    }

    /// The instance leaves its pool: the group runs again (before an event is offered).
    pub(crate) fn thaw(&mut self) {
        if let Some(freezer) = self.freezer.take() {
            freezer.abort();
        }
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
            // SAFETY: kill(2) on the leader, still unreaped (so the pid is still its); no memory
            // involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }

    /// Kills every process of the group and waits until none is left.
    pub(crate) async fn kill(&mut self) {
        if let Some(freezer) = self.freezer.take() {
            freezer.abort();
        }
        if let Some(leader) = &mut self.leader {
            end(leader, self.pgid).await;
        }
        self.killed = true;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(freezer) = self.freezer.take() {
            freezer.abort();
        }
        let Some(mut leader) = self.leader.take() else {
            return;
        };
        if self.killed {
            return;
        }
        // Killed now; reaped and confirmed in the background.
        signal_group(self.pgid, Signal::Kill);
        let pgid = self.pgid;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { end(&mut leader, pgid).await });
        }
        // Without a runtime the process is exiting: `kill_on_drop` ends the leader, and the
        // watchdog, which still lists the group, ends the rest.
    }
}

/// Kills group `pgid` led by `leader`, reaps the leader and waits until no member runs; then the
/// watchdog forgets the group.
async fn end(leader: &mut Child, pgid: u32) {
    // SIGKILL ends stopped (frozen) processes too: no SIGCONT needed first.
    signal_group(pgid, Signal::Kill);
    // The only kill where there are no groups; harmless where the leader is already gone.
    let _ = leader.start_kill();
    let _ = tokio::time::timeout(KILL_WAIT, leader.wait()).await;
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

/// Stops the group if its instance is (still) parked.
fn freeze_parked(freeze: &Mutex<Freeze>, pgid: u32) {
    let mut state = lock(freeze);
    if state.parked && !state.frozen {
        state.frozen = signal_group(pgid, Signal::Stop);
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
