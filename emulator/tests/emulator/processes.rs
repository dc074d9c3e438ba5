//! Process hygiene: what a function starts (a shell's `sleep &`, a grandchild holding memory)
//! dies with its instance — on timeout, on a memory kill, on SIGTERM and on SIGKILL of the
//! `lambkin` binary — and counts towards its memory; idle instances are frozen, so a timer left
//! by one invocation fires in the next.
//!
//! The function is a `provided.al2023`-style runtime in `sh` and `curl`. Every process it starts
//! inherits a marker variable, so the tests find them all in `/proc/*/environ`.
#![cfg(target_os = "linux")]
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::processes::{MARKER, new_marker};
use common::{Running, bounded};
use lambkin_emulator::FunctionConfig;
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

/// A runtime loop in `sh`; the event (a JSON string) says what the invocation does.
const BOOTSTRAP: &str = r#"#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
head="$WORK/head"
while :; do
  event=$(curl -sS -D "$head" "$api/next") || exit 1
  id=$(tr -d '\r' < "$head" | awk 'tolower($1) == "lambda-runtime-aws-request-id:" { print $2 }')
  case $event in
    *fork*) sleep 3000 & ;;
    *hang*) sleep 3000 & sleep 60 ;;
    *hog*) python3 -c 'import time; held = b"x" * (200 << 20); time.sleep(60)' & wait ;;
    *timer*) (sleep 1; echo TIMER-FIRED; : > "$WORK/fired") &
             (while :; do :; done) & ;;
    *join*) until [ -e "$WORK/fired" ]; do sleep 0.01; done ;;
  esac
  curl -sS -o /dev/null -d "{\"pid\":$$}" "$api/$id/response"
done
"#;

/// A directory holding the shell function (and, for the `lambkin` binary, a SAM template).
struct ShellFunction {
    dir: PathBuf,
    marker: String,
}

impl ShellFunction {
    fn new(test: &str) -> ShellFunction {
        let marker = new_marker(test);
        let dir = std::env::temp_dir().join(format!("lambkin-{marker}"));
        std::fs::create_dir_all(dir.join("fn")).unwrap();
        let bootstrap = dir.join("fn/bootstrap");
        std::fs::write(&bootstrap, BOOTSTRAP).unwrap();
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
        ShellFunction { dir, marker }
    }

    /// The function for an in-process emulator.
    fn config(&self, name: &str) -> FunctionConfig {
        let mut config = FunctionConfig::new(name, self.dir.join("fn/bootstrap"));
        config.env.insert(MARKER.into(), self.marker.clone());
        config
            .env
            .insert("WORK".into(), self.dir.join("fn").display().to_string());
        config
    }

    /// A SAM project serving the function as `Sh`, for the `lambkin` binary.
    fn sam_project(&self) {
        let template = format!(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  Sh:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./fn\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Timeout: 60\n      Environment:\n        Variables:\n          {MARKER}: {}\n          WORK: {}\n",
            self.marker,
            self.dir.join("fn").display()
        );
        std::fs::write(self.dir.join("template.yaml"), template).unwrap();
    }

    /// Live (not zombie) processes carrying this function's marker, with their command lines.
    fn processes(&self) -> Vec<(u32, String)> {
        common::processes::marked(&self.marker)
    }

    /// Waits until no process carries the marker; false if some still do after a few seconds.
    async fn all_gone(&self) -> bool {
        let left = common::processes::wait_none(|| self.processes()).await;
        if !left.is_empty() {
            eprintln!("still running: {left:?}");
        }
        left.is_empty()
    }

    /// Waits until a process with `cmdline` carries the marker, and returns its pid.
    async fn started(&self, cmdline: &str) -> u32 {
        bounded(async {
            loop {
                let found = self.processes().into_iter().find(|(_, c)| c == cmdline);
                if let Some((pid, _)) = found {
                    return pid;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
    }
}

impl Drop for ShellFunction {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A process's state letter, process group, and CPU time (utime + stime, in ticks).
fn stat(pid: u32) -> Option<(char, u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text[text.rfind(')')? + 2..].split(' ').collect();
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    // After the command: state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt,
    // majflt, cmajflt, utime, stime.
    let pgrp = u32::try_from(number(2)?).ok()?;
    Some((fields[0].chars().next()?, pgrp, number(11)? + number(12)?))
}

/// The `pid` a shell invocation answered with (the runtime's `$$`).
fn pid(reply: &common::Reply) -> u32 {
    let body: Value = reply.json();
    let pid = body["pid"].as_u64().unwrap_or_else(|| panic!("{body}"));
    u32::try_from(pid).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_everything_the_instance_started() {
    let function = ShellFunction::new("timeout");
    let mut config = function.config("sh");
    config.timeout = Duration::from_secs(1);
    let emulator = Running::start(vec![config]).await;

    let reply = emulator.invoke("sh", &[], br#""fork""#).await;
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    let runtime = pid(&reply);
    let sleeper = function.started("sleep 3000").await;
    // In the instance's own group: the runtime leads it (and a session) ...
    assert_eq!(stat(sleeper).unwrap().1, runtime);
    assert_eq!(stat(runtime).unwrap().1, runtime);
    // ... not the emulator's.
    assert_ne!(stat(std::process::id()).unwrap().1, runtime);

    let reply = emulator.invoke("sh", &[], br#""hang""#).await;
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    let message = reply.json()["errorMessage"].as_str().unwrap().to_owned();
    assert!(
        message.contains("Task timed out after 1.00 seconds"),
        "{message}"
    );
    assert!(
        function.all_gone().await,
        "the timeout killed the runtime, its sleeps and the previous invocation's"
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_counts_every_process_of_the_instance() {
    let function = ShellFunction::new("memory");
    let mut config = function.config("sh");
    config.memory_mb = 128;
    config.timeout = Duration::from_secs(30);
    let emulator = Running::start(vec![config]).await;

    // The runtime itself is a small shell: only the grandchild's 200 MB can go over 128 MB.
    let reply = emulator
        .invoke("sh", &[("X-Amz-Log-Type", "Tail")], br#""hog""#)
        .await;
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(
        reply.json()["errorType"],
        "Runtime.OutOfMemory",
        "{}",
        reply.text()
    );
    let tail = reply.log_tail();
    let report = tail
        .lines()
        .find(|l| l.starts_with("REPORT"))
        .unwrap_or_else(|| panic!("no REPORT in {tail}"));
    let used: u64 = report
        .split('\t')
        .find_map(|f| f.strip_prefix("Max Memory Used: "))
        .and_then(|v| v.trim_end_matches(" MB").parse().ok())
        .unwrap_or_else(|| panic!("{report}"));
    assert!(used > 128, "the grandchild's memory is reported: {report}");
    assert!(
        report.contains("Error Type: Runtime.OutOfMemory"),
        "{report}"
    );
    assert!(
        function.all_gone().await,
        "the memory kill took the grandchild"
    );

    // The next invocation gets a fresh instance.
    let reply = emulator.invoke("sh", &[], br#""fork""#).await;
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    emulator.stop().await;
    assert!(function.all_gone().await, "a graceful stop kills the group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_instances_are_frozen_until_the_next_event() {
    let function = ShellFunction::new("freeze");
    let mut config = function.config("sh");
    config.timeout = Duration::from_secs(10);
    let emulator = Running::start(vec![config]).await;

    // Leaves a 1 s timer and a busy loop behind.
    let first = Instant::now();
    let reply = emulator.invoke("sh", &[], br#""timer""#).await;
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    let runtime = pid(&reply);

    // Once the runtime waits for the next event, every process of the instance is stopped ...
    let frozen = all_frozen(&function).await;
    assert!(frozen.iter().any(|(pid, _)| *pid == runtime), "{frozen:?}");
    assert!(
        frozen.len() >= 4,
        "runtime, curl, timer, busy loop: {frozen:?}"
    );
    // ... and spends no CPU, the busy loop included.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (pid, (_, _, cpu)) in &frozen {
        let (state, _, now) = stat(*pid).unwrap();
        assert_eq!((state, now), ('T', *cpu), "process {pid} ran while idle");
    }
    // Had the timer fired while idle, its line would have gone before the next invocation.
    tokio::time::sleep_until((first + Duration::from_secs(2)).into()).await;
    assert!(
        !function.dir.join("fn/fired").exists(),
        "the timer fired while frozen"
    );

    let reply = emulator
        .invoke("sh", &[("X-Amz-Log-Type", "Tail")], br#""join""#)
        .await;
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    assert_eq!(pid(&reply), runtime, "the same, thawed instance");
    let tail = reply.log_tail();
    assert!(tail.contains("TIMER-FIRED"), "{tail}");
    // Idle again: frozen again (the group's freezer outlives the thaw).
    let frozen = all_frozen(&function).await;
    assert!(frozen.iter().any(|(pid, _)| *pid == runtime), "{frozen:?}");

    emulator.stop().await;
    assert!(function.all_gone().await, "stopping kills the frozen group");
}

/// The processes of `function`'s instance once every one of them is stopped (`T`), with their
/// `stat` figures.
async fn all_frozen(function: &ShellFunction) -> Vec<(u32, (char, u32, u64))> {
    bounded(async {
        loop {
            let stats: Vec<_> = function
                .processes()
                .into_iter()
                .filter_map(|(pid, _)| Some((pid, stat(pid)?)))
                .collect();
            if !stats.is_empty() && stats.iter().all(|(_, (state, ..))| *state == 'T') {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// `lambkin` serving `function`'s SAM project, and the reader of its output.
async fn start_lambkin(function: &ShellFunction) -> (tokio::process::Child, std::net::SocketAddr) {
    function.sam_project();
    let mut lambkin = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambkin"))
        .args(["watch", "--no-reload", "--port", "0"])
        .current_dir(&function.dir)
        .env_remove("LAMBKIN_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(lambkin.stdout.take().unwrap()).lines();
    let addr = bounded(async {
        loop {
            let line = lines.next_line().await.unwrap().expect("lambkin exited");
            if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                return url.trim_start_matches("http://").parse().unwrap();
            }
        }
    })
    .await;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (lambkin, addr)
}

/// Invokes `Sh` on `lambkin` with `event`.
async fn invoke(addr: std::net::SocketAddr, event: &str) -> common::Reply {
    let path = "/2015-03-31/functions/Sh/invocations";
    common::request(addr, "POST", path, &[], event.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_of_lambkin_leaves_nothing_running() {
    let function = ShellFunction::new("sigterm");
    let (mut lambkin, addr) = start_lambkin(&function).await;
    let reply = invoke(addr, r#""fork""#).await;
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    function.started("sleep 3000").await;

    let id = libc::pid_t::try_from(lambkin.id().unwrap()).unwrap();
    // SAFETY: kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(id, libc::SIGTERM) }, 0);
    let status = bounded(lambkin.wait()).await.unwrap();
    assert!(status.success(), "{status}");
    assert!(function.all_gone().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_lambkin_leaves_nothing_running() {
    let function = ShellFunction::new("sigkill");
    let (mut lambkin, addr) = start_lambkin(&function).await;
    // One instance busy (hanging), one idle and frozen, each with a background sleep.
    let busy = tokio::spawn(async move {
        let path = "/2015-03-31/functions/Sh/invocations";
        common::try_request(addr, "POST", path, &[], br#""hang""#).await
    });
    function.started("sleep 60").await;
    let reply = invoke(addr, r#""fork""#).await;
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    bounded(async {
        while function
            .processes()
            .iter()
            .filter(|(_, c)| c == "sleep 3000")
            .count()
            < 2
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;

    lambkin.kill().await.unwrap(); // SIGKILL: no chance to clean up
    assert!(
        function.all_gone().await,
        "the watchdog killed both instances' groups"
    );
    // The busy caller's connection died with lambkin.
    assert!(bounded(busy).await.unwrap().is_err());
}
