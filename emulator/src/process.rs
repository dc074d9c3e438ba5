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
//! * **Memory is the group's**: every member's `/proc/<pid>/status`, anonymous memory summed and
//!   file-backed pages (executables, libraries: mostly shared) counted once, the largest, so a
//!   forking runtime is not charged its libraries once per process. Membership comes from the
//!   process group in `/proc/*/stat`. Measured on the development VM (94 processes): reading
//!   every `/proc/*/stat` costs 0.4–0.7 ms, listing `/proc` 50 µs, one `status` 7 µs. Samples
//!   run every 20 ms while busy, so each process is classified once (a process enters a group
//!   only at fork) and the list is refreshed at most every [`MEMBERS_TTL`]; a sample then costs
//!   one `status` read per member. (`/proc/<pid>/task/*/children` would be cheaper but is
//!   missing on kernels without `CONFIG_PROC_CHILDREN`, and loses orphans of a parent that
//!   exited.)
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

use std::io;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::process::{Child, ChildStderr, ChildStdout, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a kill waits for the leader, and then for the rest of the group, to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// How often a killed group is checked for survivors.
const KILL_POLL: Duration = Duration::from_millis(5);

/// How long a group's list of members is trusted before `/proc` is listed again.
const MEMBERS_TTL: Duration = Duration::from_millis(200);

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
}

/// Whether an instance is idle in its pool and whether it is stopped.
#[derive(Debug, Default)]
struct Freeze {
    parked: bool,
    frozen: bool,
}

impl Group {
    /// Spawns `command` as the leader of a new group (see the module doc), dying with the
    /// emulator.
    pub(crate) fn spawn(command: &mut Command) -> io::Result<Group> {
        command.kill_on_drop(true);
        let leader = watchdog::spawn(command)?;
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

    /// Resolves when the leader exits.
    pub(crate) async fn exited(&mut self) -> io::Result<ExitStatus> {
        match &mut self.leader {
            Some(leader) => leader.wait().await,
            None => std::future::pending().await,
        }
    }

    /// The memory of the group's processes now (Linux), `None` once none is left.
    pub(crate) fn memory(&mut self) -> Option<Memory> {
        let members = self.members.current(self.pgid);
        Memory::sum(members.filter_map(Usage::of_process))
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

fn lock(freeze: &Mutex<Freeze>) -> MutexGuard<'_, Freeze> {
    freeze.lock().unwrap_or_else(PoisonError::into_inner)
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
    !signal_group(pgid, Signal::Probe) || !processes().any(|pid| running_in(pid, pgid))
}

/// Every process id in `/proc` (none where there is no `/proc`).
fn processes() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

/// A process's state letter and process group, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u8, u32)> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &[u8]) -> Option<(u8, u32)> {
    // The command (field 2) may hold spaces and parentheses: the fields resume after the last ')'.
    let rest = text.get(text.iter().rposition(|&b| b == b')')? + 2..)?;
    let mut fields = rest.split(|&b| b == b' ');
    let state = *fields.next()?.first()?;
    let _parent = fields.next()?;
    let pgrp = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether `pid` is a live (not zombie) member of group `pgid`.
fn running_in(pid: u32, pgid: u32) -> bool {
    stat(pid).is_some_and(|(state, pgrp)| pgrp == pgid && !matches!(state, b'Z' | b'X'))
}

/// Which processes of the system belong to a group, refreshed at most every [`MEMBERS_TTL`].
#[derive(Debug, Default)]
struct Members {
    /// Every process seen at the last refresh, and whether it is in the group. A process enters a
    /// group at fork (or, within its session, by `setpgid`, which functions do not do), so each
    /// is classified once.
    seen: std::collections::HashMap<u32, bool>,
    refreshed: Option<Instant>,
}

impl Members {
    fn current(&mut self, pgid: u32) -> impl Iterator<Item = u32> + '_ {
        if self.refreshed.is_none_or(|at| at.elapsed() >= MEMBERS_TTL) {
            let known = std::mem::take(&mut self.seen);
            self.seen = processes()
                .map(|pid| {
                    let member = known
                        .get(&pid)
                        .copied()
                        .unwrap_or_else(|| running_in(pid, pgid));
                    (pid, member)
                })
                .collect();
            self.refreshed = Some(Instant::now());
        }
        self.seen
            .iter()
            .filter(|(_, member)| **member)
            .map(|(pid, _)| *pid)
    }
}

/// The memory of an instance's processes, in kB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Memory {
    /// Resident now.
    pub(crate) resident_kb: u64,
    /// The most resident so far, as far as the kernel's per-process peaks and this sample tell.
    pub(crate) peak_kb: u64,
}

impl Memory {
    /// The memory of the current process (local mode).
    pub(crate) fn of_self() -> Option<Memory> {
        Memory::sum(Usage::read("/proc/self/status"))
    }

    /// Anonymous memory summed, file-backed pages counted once (the largest): see the module doc.
    /// For one process this is its `VmRSS` and `VmHWM`. `None` for no process.
    fn sum(usages: impl IntoIterator<Item = Usage>) -> Option<Memory> {
        let mut usages = usages.into_iter().peekable();
        usages.peek()?;
        let (mut own, mut file, mut peak) = (0, 0, 0);
        for usage in usages {
            own += usage.own_kb;
            file = file.max(usage.file_kb);
            peak = peak.max(usage.peak_kb);
        }
        let resident_kb = own + file;
        Some(Memory {
            resident_kb,
            peak_kb: peak.max(resident_kb),
        })
    }
}

/// One process's memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Usage {
    /// Anonymous and shared-memory pages (`VmRSS` − `RssFile`).
    own_kb: u64,
    /// File-backed pages (`RssFile`).
    file_kb: u64,
    /// `VmHWM`.
    peak_kb: u64,
}

impl Usage {
    fn of_process(pid: u32) -> Option<Usage> {
        Usage::read(&format!("/proc/{pid}/status"))
    }

    fn read(path: &str) -> Option<Usage> {
        use std::io::Read;
        // Sized up front: /proc files report no length, so read_to_string would grow in steps.
        let mut status = String::with_capacity(4096);
        std::fs::File::open(path)
            .ok()?
            .read_to_string(&mut status)
            .ok()?;
        Usage::parse(&status)
    }

    /// `None` for a zombie (no memory fields) or a malformed file.
    fn parse(status: &str) -> Option<Usage> {
        let field = |name: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        let resident = field("VmRSS:")?;
        // Kernels before 4.5 do not split VmRSS: all of it counts as the process's own.
        let file = field("RssFile:").unwrap_or(0).min(resident);
        Some(Usage {
            own_kb: resident - file,
            file_kb: file,
            peak_kb: field("VmHWM:")?,
        })
    }
}

/// The watchdog that kills every listed group once the emulator is gone (see the module doc).
#[cfg(target_os = "linux")]
mod watchdog {
    use std::collections::BTreeSet;
    use std::io;
    use std::os::fd::{AsRawFd, OwnedFd, RawFd};
    use std::os::unix::net::UnixStream;
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    use tokio::process::{Child, Command};

    /// Run by `/bin/sh -c`: starts the watchdog in the background on the socket (stdin) and exits.
    /// The watchdog keeps ` pgid pgid … ` from `+pgid` / `-pgid` lines (`=` empties it: the
    /// whole list follows) and, at end of input, SIGKILLs each group. Signals from a terminal are
    /// ignored: only end of input ends it.
    const SCRIPT: &str = r#"exec 3<&0
(
trap '' HUP INT QUIT TSTP TTIN TTOU
groups=' '
while read -r line; do
  case $line in
    +*) groups="$groups${line#+} " ;;
    =) groups=' ' ;;
    -*) g=${line#-}
        case $groups in *" $g "*) groups="${groups%% $g *} ${groups#* $g }" ;; esac ;;
  esac
done
for g in $groups; do kill -s KILL -- "-$g"; done
) <&3 3<&- >/dev/null 2>&1 &"#;

    #[derive(Debug)]
    struct Registry {
        /// The emulator's end of the watchdog's socket.
        socket: Option<UnixStream>,
        /// Groups started and not yet confirmed empty.
        groups: BTreeSet<u32>,
        /// Starting the watchdog failed (said once; not retried).
        failed: bool,
    }

    static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
        socket: None,
        groups: BTreeSet::new(),
        failed: false,
    });

    fn registry() -> MutexGuard<'static, Registry> {
        REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spawns `command` in a group of its own that the watchdog knows of before it runs.
    pub(super) fn spawn(command: &mut Command) -> io::Result<Child> {
        // Held across the fork: the socket the child announces itself on stays open and current.
        let mut registry = registry();
        let socket = registry.socket();
        super::isolate(command, socket);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                // The child may have announced itself before exec failed: list only live groups.
                if let Some(fd) = socket {
                    let _ = registry.announce_all(fd, true);
                }
                return Err(error);
            }
        };
        if let (Some(_), Some(pgid)) = (socket, child.id()) {
            registry.groups.insert(pgid);
        }
        Ok(child)
    }

    /// Group `pgid` is empty: the watchdog forgets it.
    pub(super) fn release(pgid: u32) {
        let mut registry = registry();
        if registry.groups.remove(&pgid) {
            if let Some(socket) = &registry.socket {
                // A failure means the watchdog is gone; the next spawn restarts it.
                let _ = send_line(socket.as_raw_fd(), b'-', pgid);
            }
        }
    }

    impl Registry {
        /// The socket of a live watchdog, started (again) if needed.
        fn socket(&mut self) -> Option<RawFd> {
            if let Some(socket) = &self.socket {
                // An empty line, ignored by the watchdog, tells whether it still reads.
                if send(socket.as_raw_fd(), b"\n").is_ok() {
                    return Some(socket.as_raw_fd());
                }
                tracing::warn!("the process watchdog is gone: starting another");
                self.socket = None;
            }
            if self.failed {
                return None;
            }
            match start() {
                Ok(socket) => {
                    let fd = socket.as_raw_fd();
                    // A new watchdog must know the groups still running.
                    let _ = self.announce_all(fd, false);
                    self.socket = Some(socket);
                    Some(fd)
                }
                Err(error) => {
                    self.failed = true;
                    tracing::warn!(
                        %error,
                        "cannot start the process watchdog (/bin/sh): if the emulator is killed, processes its functions started may keep running"
                    );
                    None
                }
            }
        }

        /// Sends the list of groups, after emptying the watchdog's with `reset`.
        fn announce_all(&self, fd: RawFd, reset: bool) -> io::Result<()> {
            if reset {
                send(fd, b"=\n")?;
            }
            self.groups
                .iter()
                .try_for_each(|pgid| send_line(fd, b'+', *pgid))
        }
    }

    fn start() -> io::Result<UnixStream> {
        let (ours, theirs) = UnixStream::pair()?;
        let status = std::process::Command::new("/bin/sh")
            .args(["-c", SCRIPT])
            .env_clear()
            .current_dir("/")
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Away from the terminal's signals for the emulator's group.
            .process_group(0)
            .status()?;
        if status.success() {
            Ok(ours)
        } else {
            Err(io::Error::other(format!("/bin/sh: {status}")))
        }
    }

    /// Sends `<sign><pgid>\n`. Async-signal-safe (used between fork and exec): no allocation.
    pub(super) fn send_line(fd: RawFd, sign: u8, pgid: u32) -> io::Result<()> {
        // A sign, up to 10 digits, a newline.
        let mut line = [0u8; 12];
        let mut start = line.len() - 1;
        line[start] = b'\n';
        let mut rest = pgid;
        loop {
            start -= 1;
            line[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        start -= 1;
        line[start] = sign;
        send(fd, &line[start..])
    }

    /// One send(2), without SIGPIPE if the watchdog is gone.
    fn send(fd: RawFd, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: `bytes` is valid for its length; `fd` is the registry's open socket.
        let sent =
            unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        match usize::try_from(sent) {
            Ok(sent) if sent == bytes.len() => Ok(()),
            Ok(_) => Err(io::Error::from_raw_os_error(libc::EPIPE)),
            Err(_) => Err(io::Error::last_os_error()),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod watchdog {
    use tokio::process::{Child, Command};

    /// Spawns `command` in a group of its own (no watchdog here).
    pub(super) fn spawn(command: &mut Command) -> std::io::Result<Child> {
        super::isolate(command, None);
        command.spawn()
    }

    pub(super) fn release(_pgid: u32) {}
}

/// Makes the child lead a session (and so a process group) of its own, die with the emulator
/// (Linux), and announce its group on the watchdog's socket `announce` before it runs anything.
#[cfg(unix)]
fn isolate(command: &mut Command, announce: Option<std::os::fd::RawFd>) {
    #[cfg(target_os = "linux")]
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and only calls async-signal-safe functions
    // (setsid, prctl, getppid, getpid, send); its errors are plain errno values (no allocation).
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            {
                // The signal fires when the spawning *thread* exits; the emulator spawns from
                // runtime worker threads, which live as long as the emulator.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                if let Some(fd) = announce {
                    // After setsid the group's id is this process's id.
                    let pgid = u32::try_from(libc::getpid()).unwrap_or(0);
                    watchdog::send_line(fd, b'+', pgid)?;
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = announce;
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn isolate(_command: &mut Command, _announce: Option<()>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let status = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nRssAnon:\t    8000 kB\nRssFile:\t    2000 kB\nRssShmem:\t     240 kB\n";
        let usage = Usage::parse(status).unwrap();
        assert_eq!(
            usage,
            Usage {
                own_kb: 8240,
                file_kb: 2000,
                peak_kb: 20480
            }
        );
        // One process: its own VmRSS and VmHWM.
        let memory = Memory::sum([usage]).unwrap();
        assert_eq!((memory.resident_kb, memory.peak_kb), (10240, 20480));
        // A zombie has no memory fields.
        assert!(Usage::parse("Name:\tx\nState:\tZ (zombie)\n").is_none());
        assert!(Memory::sum([]).is_none());
    }

    #[test]
    fn sums_a_group() {
        let usage = |own_kb, file_kb, peak_kb| Usage {
            own_kb,
            file_kb,
            peak_kb,
        };
        // Two processes sharing the same libraries: their own memory adds up, the files once.
        let memory = Memory::sum([usage(1000, 3000, 4500), usage(50_000, 2000, 52_000)]).unwrap();
        assert_eq!(memory.resident_kb, 54_000);
        assert_eq!(memory.peak_kb, 54_000);
        // One process's own peak can exceed the group's present.
        let memory = Memory::sum([usage(1000, 1000, 90_000), usage(1000, 1000, 2000)]).unwrap();
        assert_eq!((memory.resident_kb, memory.peak_kb), (3000, 90_000));
    }

    #[test]
    fn parses_proc_stat() {
        let stat = b"4242 (a (weird) name) S 1 4240 4240 0 -1 4194560 100 0";
        assert_eq!(parse_stat(stat), Some((b'S', 4240)));
        assert_eq!(
            parse_stat(b"4242 (zombie) Z 1 4242 4242"),
            Some((b'Z', 4242))
        );
        assert_eq!(parse_stat(b"garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn announces_groups_in_one_line() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        watchdog::send_line(ours.as_raw_fd(), b'+', 4_294_967_295).unwrap();
        watchdog::send_line(ours.as_raw_fd(), b'-', 7).unwrap();
        drop(ours);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &theirs, &mut text).unwrap();
        assert_eq!(text, "+4294967295\n-7\n");
    }
}
