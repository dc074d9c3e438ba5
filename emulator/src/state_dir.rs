//! Per-emulator state directories: where an emulator keeps what it writes at run time (frozen
//! builds under `<target>/lambkin/<pid>/`, deployed code under `<temp>/lambkin-<pid>-<id>/` or
//! beside the builds).
//!
//! They are private to the user (mode 0700: deployed code may hold secrets), named after the
//! emulator's process id, and removed when the emulator stops. An emulator killed before it
//! could clean up leaves its directories behind: [`sweep_temp`] and [`sweep_pids`] remove those
//! of processes that no longer exist, and never touch those of a live process.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` and every missing parent with mode 0700, and makes `dir` itself 0700 if it
/// already existed.
pub(crate) fn create(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

/// A new state directory of this process in the system's temporary directory (not created):
/// `lambkin-<pid>-<random id>`, so several emulators of one process (tests) keep apart and
/// nobody can guess the name in advance.
#[cfg(feature = "manage")]
pub(crate) fn new_temp() -> PathBuf {
    std::env::temp_dir().join(format!(
        "lambkin-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

/// This process's state directory under `parent`: `<parent>/<pid>`.
#[cfg(any(feature = "reload", feature = "package"))]
pub(crate) fn of_this_process(parent: &Path) -> PathBuf {
    parent.join(std::process::id().to_string())
}

/// Removes the [`new_temp`] directories in `temp` of emulators that are gone.
#[cfg(feature = "manage")]
pub(crate) fn sweep_temp(temp: &Path) {
    sweep(temp, |name| {
        let (pid, id) = name.strip_prefix("lambkin-")?.split_once('-')?;
        let is_id = id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        is_id.then_some(pid)
    });
}

/// Removes the [`of_this_process`] directories in `parent` of emulators that are gone.
#[cfg(any(feature = "reload", feature = "package"))]
pub(crate) fn sweep_pids(parent: &Path) {
    sweep(parent, |name| Some(name));
}

/// Removes the directories in `parent` whose name `pid_of` maps to the process id of a process
/// that no longer exists, and that belong to this user (never follows a link).
fn sweep(parent: &Path, pid_of: impl for<'a> Fn(&'a str) -> Option<&'a str>) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(text) = name.to_str().and_then(&pid_of) else {
            continue;
        };
        // Digits only: `+1` parses too, but is not a name this module makes.
        let pid = match text.parse::<i32>() {
            Ok(pid) if pid > 0 && text.bytes().all(|b| b.is_ascii_digit()) => pid,
            _ => continue,
        };
        let ours =
            fs::symlink_metadata(entry.path()).is_ok_and(|meta| meta.is_dir() && meta.uid() == me);
        if ours && is_gone(pid) {
            match fs::remove_dir_all(entry.path()) {
                Ok(()) => {
                    tracing::debug!(dir = %entry.path().display(), "removed the state of a stopped emulator")
                }
                Err(error) => {
                    tracing::debug!(dir = %entry.path().display(), %error, "could not remove the state of a stopped emulator")
                }
            }
        }
    }
}

/// Whether no process `pid` exists. A process of another user still exists (`EPERM`): only
/// `ESRCH` says it is gone.
fn is_gone(pid: i32) -> bool {
    // SAFETY: kill with signal 0 sends nothing; it only checks whether the process exists.
    let failed = unsafe { libc::kill(pid, 0) } == -1;
    failed && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A private scratch directory standing in for the temp or target dir.
    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "lambkin-state-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn state_directories_and_their_new_parents_are_private() {
        let root = scratch();
        let dir = root.join("a").join("b");
        create(&dir).unwrap();
        assert_eq!(mode(&root.join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        // An existing directory is made private too.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        create(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    #[cfg(feature = "manage")]
    fn temp_dirs_of_gone_emulators_are_swept_and_no_others() {
        let temp = scratch();
        let id = uuid::Uuid::new_v4().simple().to_string();
        // No process has pid i32::MAX (Linux's pid_max is at most 2^22).
        let gone = temp.join(format!("lambkin-{}-{id}", i32::MAX));
        let alive = temp.join(format!("lambkin-{}-{id}", std::process::id()));
        let not_ours = [
            format!("lambkin-{}-notanid", i32::MAX),
            format!("lambkin-code-{}", i32::MAX),
            format!("lambkin-+{}-{id}", i32::MAX),
            format!("other-{}-{id}", i32::MAX),
        ];
        for dir in [&gone, &alive] {
            fs::create_dir_all(dir.join("f")).unwrap();
        }
        for name in &not_ours {
            fs::create_dir(temp.join(name)).unwrap();
        }
        // A link named like a gone emulator's directory is not followed.
        let target = temp.join("target-of-link");
        fs::create_dir(&target).unwrap();
        let link = temp.join(format!("lambkin-{}-{}", i32::MAX - 1, id));
        std::os::unix::fs::symlink(&target, &link).unwrap();

        sweep_temp(&temp);
        assert!(!gone.exists());
        assert!(alive.join("f").exists(), "a live emulator's code stays");
        for name in &not_ours {
            assert!(temp.join(name).exists(), "{name}");
        }
        assert!(link.symlink_metadata().is_ok() && target.exists());
        fs::remove_dir_all(&temp).unwrap();
    }

    #[test]
    #[cfg(any(feature = "reload", feature = "package"))]
    fn pid_dirs_of_gone_emulators_are_swept() {
        let parent = scratch();
        let gone = parent.join(i32::MAX.to_string());
        let alive = of_this_process(&parent);
        let other = parent.join("deployed");
        for dir in [&gone, &alive, &other] {
            fs::create_dir(dir).unwrap();
        }
        sweep_pids(&parent);
        assert!(!gone.exists());
        assert!(alive.exists() && other.exists());
        fs::remove_dir_all(&parent).unwrap();
    }

    #[test]
    fn liveness_is_kills_answer() {
        assert!(!is_gone(i32::try_from(std::process::id()).unwrap()));
        assert!(is_gone(i32::MAX));
        // pid 1 exists (and may belong to another user: EPERM is not gone).
        assert!(!is_gone(1));
    }
}
