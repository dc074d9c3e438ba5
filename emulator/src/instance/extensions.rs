//! External extensions: the executables in a function's `extensions/` directory (next to its
//! executable), which Lambda runs from a layer's `/opt/extensions`. Each instance starts them,
//! in name order, before its runtime, with the instance's environment, their output in the
//! function's log, each in a process group the instance freezes, thaws and kills with its
//! runtime's. ("Lambda starts all extensions", then the runtime: the Init phase at
//! <https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html>.)
//!
//! Differences, on purpose: each extension leads a process group of its own rather than sharing
//! the runtime's (a process can only join a group of its own session, and the runtime starts
//! after them); the instance treats all its groups as one.

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use super::process::{ExitWatch, Group};
use crate::config::FunctionConfig;

/// The directory of external extensions, next to the function's executable.
pub(super) const DIRECTORY: &str = "extensions";

/// A running external extension.
#[derive(Debug)]
pub(super) struct External {
    /// Its file name, which is the name it must register with.
    pub(super) name: String,
    pub(super) group: Group,
}

/// The executables in `config`'s extensions directory, by name.
pub(super) fn find(config: &FunctionConfig) -> Vec<(String, PathBuf)> {
    let Some(dir) = config.executable.parent() else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(dir.join(DIRECTORY))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| is_executable(&entry.path()))
        .filter_map(|entry| Some((entry.file_name().into_string().ok()?, entry.path())))
        .collect();
    found.sort();
    found
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Starts the extension at `path` with the instance's environment `env` in `dir`; stdout and
/// stderr are piped (the caller reads them into the function's log).
pub(super) fn start(
    name: String,
    path: &Path,
    env: &BTreeMap<String, String>,
    dir: &Path,
) -> io::Result<External> {
    let group = Group::spawn(path, env, dir)?;
    Ok(External { name, group })
}

/// The exits of an instance's external extensions, each reported once, to whichever of its
/// waiters (an instance may run several invocations at once) learns it first.
#[derive(Debug, Default)]
pub(super) struct Exits(Vec<(String, ExitWatch, AtomicBool)>);

impl Exits {
    /// Watches `extensions`' exits.
    pub(super) fn of(extensions: &[External]) -> Exits {
        Exits(
            extensions
                .iter()
                .map(|e| (e.name.clone(), e.group.exit_watch(), AtomicBool::new(false)))
                .collect(),
        )
    }

    /// Resolves when an extension not reported yet exits, with its name and status; never if
    /// none is left.
    pub(super) async fn next(&self) -> (String, io::Result<ExitStatus>) {
        loop {
            let mut waits: Vec<_> = self
                .0
                .iter()
                .filter(|(_, _, reported)| !reported.load(Ordering::Acquire))
                .map(|(name, watch, reported)| {
                    let mut watch = watch.clone();
                    Box::pin(async move { (name, watch.exited().await, reported) })
                })
                .collect();
            if waits.is_empty() {
                return std::future::pending().await;
            }
            let (name, exited, reported) = poll_fn(|cx| {
                for wait in &mut waits {
                    if let Poll::Ready(done) = Pin::new(wait).poll(cx) {
                        return Poll::Ready(done);
                    }
                }
                Poll::Pending
            })
            .await;
            // Another waiter may have reported it in the meantime.
            if !reported.swap(true, Ordering::AcqRel) {
                return (name.clone(), exited.status());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_executables_count_in_name_order() {
        let dir = std::env::temp_dir().join(format!("lambkin-ext-{}", uuid::Uuid::new_v4()));
        let extensions = dir.join(DIRECTORY);
        std::fs::create_dir_all(&extensions).unwrap();
        let write = |name: &str, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            let path = extensions.join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("b-ext", 0o755);
        write("a-ext", 0o755);
        write("notes.txt", 0o644);
        let config = FunctionConfig::new("f", dir.join("bootstrap"));
        let names: Vec<String> = find(&config).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["a-ext", "b-ext"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
