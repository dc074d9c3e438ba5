//! Finding the processes a test started, however deep: by a marker variable every process of
//! a function inherits (read from `/proc/<pid>/environ`), or as this test process's children
//! (the parent field of `/proc/<pid>/stat`). Linux only; elsewhere nothing is found.

use std::time::{Duration, Instant};

/// The variable a test puts in its functions' environment to find their processes.
pub const MARKER: &str = "LAMBKIN_TEST_MARKER";

/// A fresh marker value for `test`.
pub fn new_marker(test: &str) -> String {
    format!("{test}-{}", uuid::Uuid::new_v4().simple())
}

/// A process: its pid and command line.
pub type Process = (u32, String);

/// Live (not zombie) processes whose environment has `MARKER=marker`.
pub fn marked(marker: &str) -> Vec<Process> {
    let wanted = format!("{MARKER}={marker}");
    live(|pid| {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        environ.split(|&b| b == 0).any(|v| v == wanted.as_bytes())
    })
}

/// Live (not zombie) children of this process.
pub fn children() -> Vec<Process> {
    let me = std::process::id();
    live(|pid| stat(pid).is_some_and(|(_, parent)| parent == me))
}

/// Waits until `find` finds nothing, for at most a few seconds; returns what it still finds.
pub async fn wait_none(find: impl Fn() -> Vec<Process>) -> Vec<Process> {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let found = find();
        if found.is_empty() || Instant::now() >= give_up {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Live processes for which `wanted(pid)` holds, with their command lines.
fn live(wanted: impl Fn(u32) -> bool) -> Vec<Process> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let running = stat(pid).is_some_and(|(state, _)| !matches!(state, 'Z' | 'X'));
        if running && wanted(pid) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            found.push((pid, cmdline.trim().to_owned()));
        }
    }
    found
}

/// A process's state letter and parent, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces and parentheses: the fields resume after the last ')'.
    let mut fields = text.get(text.rfind(')')? + 2..)?.split(' ');
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}
