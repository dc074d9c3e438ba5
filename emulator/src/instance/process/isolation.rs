//! What a function process does between fork and exec: a session of its own, Lambda's limit on
//! open files, death with the emulator, and its group announced to the watchdog.

use std::io;

use tokio::process::Command;

/// How many files a function may have open: Lambda's quota, "File descriptors: 1,024"
/// (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>). The emulator
/// (`lambkin` raises its own limit) does not pass a higher one on.
#[cfg(unix)]
const FUNCTION_OPEN_FILES: libc::rlim_t = 1024;

/// Makes the child lead a session (and so a process group) of its own, open at most Lambda's
/// number of files, die with the emulator (Linux), and announce its group on the watchdog's
/// socket `announce` before it runs anything.
#[cfg(unix)]
pub(super) fn isolate(command: &mut Command, announce: Option<std::os::fd::RawFd>) {
    #[cfg(target_os = "linux")]
    let parent = std::process::id();
    // Soft and hard limit both, as in Lambda; never above the hard limit the emulator has (an
    // unprivileged process cannot raise it).
    let mut limit = libc::rlimit {
        rlim_cur: FUNCTION_OPEN_FILES,
        rlim_max: FUNCTION_OPEN_FILES,
    };
    let mut current = limit;
    // SAFETY: getrlimit(2) writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut current) } == 0 {
        limit.rlim_max = limit.rlim_max.min(current.rlim_max);
        limit.rlim_cur = limit.rlim_max;
    }
    // SAFETY: the closure runs between fork and exec and only makes system calls (setsid,
    // setrlimit, prctl, getppid, getpid, send) that take no lock and allocate nothing; its errors
    // are plain errno values (no allocation).
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == -1 {
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
                    super::watchdog::send_line(fd, b'+', pgid)?;
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = announce;
            Ok(())
        });
    }
}

#[cfg(not(unix))]
pub(super) fn isolate(_command: &mut Command, _announce: Option<()>) {}
