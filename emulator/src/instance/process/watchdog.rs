//! The watchdog that kills every listed group once the emulator is gone (Linux; see the module
//! doc of [`process`](super)).

use std::collections::BTreeSet;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::{Mutex, MutexGuard};

use tokio::process::{Child, Command};

use crate::sync::lock;

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
    lock(&REGISTRY)
}

/// Spawns `command` in a group of its own that the watchdog knows of before it runs.
pub(super) fn spawn(command: &mut Command) -> io::Result<Child> {
    // Held across the fork: the socket the child announces itself on stays open and current.
    let mut registry = registry();
    let socket = registry.socket();
    super::isolation::isolate(command, socket);
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
    let sent = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
    match usize::try_from(sent) {
        Ok(sent) if sent == bytes.len() => Ok(()),
        Ok(_) => Err(io::Error::from_raw_os_error(libc::EPIPE)),
        Err(_) => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn announces_groups_in_one_line() {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        send_line(ours.as_raw_fd(), b'+', 4_294_967_295).unwrap();
        send_line(ours.as_raw_fd(), b'-', 7).unwrap();
        drop(ours);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut &theirs, &mut text).unwrap();
        assert_eq!(text, "+4294967295\n-7\n");
    }
}
