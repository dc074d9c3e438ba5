//! Learning a leader's exit before tokio reaps it (Linux): a pidfd becomes readable when its
//! process exits, and `waitid(…, WNOWAIT)` then reads its resource usage without reaping it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// A pidfd of one child process, registered with tokio.
#[derive(Debug)]
pub(super) struct Watch(AsyncFd<OwnedFd>);

impl Watch {
    /// A watch on child `pid`, which must not have been reaped; `None` where pidfds are
    /// unavailable (Linux before 5.3), and the peak is then not learnt.
    pub(super) fn new(pid: u32) -> Option<Watch> {
        let pid = libc::pid_t::try_from(pid).ok()?;
        // SAFETY: pidfd_open(2) takes a pid and flags and returns a new (close-on-exec) fd.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
        // SAFETY: `fd` is a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: the `OwnedFd` keeps its descriptor open, and the same, for as long as the
        // `AsyncFd` owns it.
        unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .ok()
            .map(Watch)
    }

    /// Waits until the process has exited (cancel-safe), then returns its peak resident
    /// memory in kB (`ru_maxrss` of it and the children it reaped), leaving it to be reaped.
    pub(super) async fn exited(&self) -> Option<u64> {
        let _ready = self.0.readable().await.ok()?;
        // SAFETY: both are plain C structs for which all zeroes is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // The system call, not libc's wrapper: only the former takes a `rusage`.
        // SAFETY: waitid(2) writes `info` and `usage`, both valid for writes.
        let done = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PIDFD,
                self.0.get_ref().as_raw_fd(),
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
                &mut usage,
            )
        };
        // SAFETY: `si_pid` is set for a child's state change and left zero otherwise.
        let exited = done == 0 && unsafe { info.si_pid() } != 0;
        exited.then(|| u64::try_from(usage.ru_maxrss).unwrap_or(0))
    }
}
