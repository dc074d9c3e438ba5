//! Shell commands run as a reader of the README runs them (`sh -c "<command>"`), each in a
//! process group of its own, so that stopping one stops everything it started: `cargo run`,
//! the `lambkin` it runs, and their function processes.

use std::{
    path::Path,
    process::{Output, Stdio},
    time::Duration,
};

use tokio::{
    process::{Child, Command},
    sync::mpsc,
    time::timeout,
};

/// How long a stopped command's processes get to exit after SIGTERM before SIGKILL.
const STOP: Duration = Duration::from_secs(10);

/// Settings of the user's shell that would change what a command does: the ports it serves on,
/// and which AWS account, region and endpoint it talks to.
const CLEARED: [&str; 9] = [
    "LAMBKIN_PORT",
    "PORT",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
];

/// `sh -c command` in `dir`, without [`CLEARED`] and with `env` added, in a new process group.
fn command(command: &str, dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut sh = Command::from(crate::developer_command("sh"));
    for name in CLEARED {
        sh.env_remove(name);
    }
    sh.args(["-c", command])
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    sh
}

/// Sends `signal` to the process group `group`; whether the group still had a process.
fn signal_group(group: u32, signal: &str) -> bool {
    std::process::Command::new("kill")
        .args([signal, "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Stops the process group `group`: SIGTERM (`lambkin` shuts down and stops its functions),
/// then SIGKILL for whatever is still running after [`STOP`].
fn stop_group(group: u32) {
    if !signal_group(group, "-TERM") {
        return;
    }
    let deadline = std::time::Instant::now() + STOP;
    while std::time::Instant::now() < deadline {
        if !signal_group(group, "-0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    signal_group(group, "-KILL");
}

/// Runs `command` to completion, bounded by `limit` (then its whole group is stopped and the
/// test fails); its status and output.
pub async fn run(command_line: &str, dir: &Path, env: &[(&str, &str)], limit: Duration) -> Output {
    let child = command(command_line, dir, env)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run sh: {e}"));
    let group = child.id().unwrap_or_default();
    match timeout(limit, child.wait_with_output()).await {
        Ok(output) => output.unwrap_or_else(|e| panic!("`{command_line}`: {e}")),
        Err(_) => {
            stop_group(group);
            panic!("`{command_line}` did not finish within {limit:?}");
        }
    }
}

/// A long-running command (a server), stopped with its whole process group when dropped.
#[derive(Debug)]
pub struct Running {
    child: Child,
    command: String,
    output: mpsc::UnboundedReceiver<String>,
}

impl Running {
    /// Starts `command` in `dir` with `env` added; its output lines are forwarded to the test's
    /// output and kept for [`Running::wait_for`].
    pub fn start(command_line: &str, dir: &Path, env: &[(&str, &str)]) -> Running {
        let mut child = command(command_line, dir, env)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run sh: {e}"));
        let output = crate::merge_output(&mut child);
        Running {
            child,
            command: command_line.to_owned(),
            output,
        }
    }

    /// Waits (bounded by `limit`) for an output line matching `predicate`.
    pub async fn wait_for(&mut self, limit: Duration, predicate: impl Fn(&str) -> bool) -> String {
        let command = &self.command;
        timeout(limit, async {
            loop {
                let line = self
                    .output
                    .recv()
                    .await
                    .unwrap_or_else(|| panic!("`{command}` exited"));
                if predicate(&line) {
                    return line;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for the output of `{command}`"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(group) = self.child.id() {
            stop_group(group);
        }
    }
}
