//! Stopping the real `lambkin` binary: SIGTERM ends it within a few seconds whatever its clients
//! do (a half-sent request head, an invocation of a slow function under way), leaving no
//! function process behind; a second signal during a slow shutdown exits at once.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use common::process::Process;
use common::{bounded, fixture_path, wait_gone};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a stopped `lambkin` may take to exit: its 3 s grace period, then the draining.
const EXIT_WITHIN: Duration = Duration::from_secs(10);

/// The invocation path of the project's one function.
const INVOKE: &str = "/2015-03-31/functions/Slow/invocations";

/// A SAM project in a temp dir whose function `Slow` is the fixture (as its `bootstrap`).
struct Project(PathBuf);

impl Project {
    fn new(name: &str) -> Project {
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("fn")).unwrap();
        std::os::unix::fs::symlink(fixture_path(), dir.join("fn/bootstrap")).unwrap();
        let template = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Slow:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./fn\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Timeout: 120\n      Environment:\n        Variables:\n          FIXTURE: slow\n";
        std::fs::write(dir.join("template.yaml"), template).unwrap();
        Project(dir)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What these tests ask of a `lambkin` process beyond [`Process`].
impl Process {
    /// Waits (bounded) for an output line containing `text`.
    async fn wait_for_text(&mut self, text: &str) -> String {
        self.wait_for(|line| line.contains(text)).await
    }

    /// Waits for lambkin to exit, at most [`EXIT_WITHIN`].
    async fn exited(&mut self) -> ExitStatus {
        tokio::time::timeout(EXIT_WITHIN, self.child.wait())
            .await
            .expect("lambkin still running")
            .unwrap()
    }

    /// The function processes lambkin started (its children running a `bootstrap`).
    fn instances(&self) -> Vec<u64> {
        let parent = self.child.id().unwrap().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                // `pid (comm) state ppid …`
                stat.contains("(bootstrap)")
                    && stat
                        .rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        == Some(parent.as_str())
            })
            .collect()
    }
}

/// A connection that has sent half a request head and nothing more.
async fn half_open(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("POST {INVOKE} HTTP/1.1\r\nHost: {addr}\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_lambkin_within_seconds_whatever_clients_do() {
    let project = Project::new("sigterm");
    let mut lambkin = Process::lambkin(&project.0).await;
    let addr = lambkin.addr;
    let mut half = half_open(addr).await;
    let slow = tokio::spawn(async move {
        common::request(addr, "POST", INVOKE, &[], br#"{"sleep_ms": 60000}"#).await
    });
    lambkin.wait_for_text("slow: handling").await;
    let instances = lambkin.instances();
    assert_eq!(instances.len(), 1, "{instances:?}");

    lambkin.signal(libc::SIGTERM);
    let status = lambkin.exited().await;
    assert!(status.success(), "{status}");
    // The caller under way got an answer; the half-open client was disconnected.
    bounded(slow)
        .await
        .unwrap()
        .assert_aws_error(503, "ServiceException");
    let mut rest = Vec::new();
    let _ = bounded(half.read_to_end(&mut rest)).await;
    for pid in instances {
        assert!(wait_gone(pid).await, "function process {pid} still running");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let project = Project::new("second-signal");
    let mut lambkin = Process::lambkin(&project.0).await;
    let addr = lambkin.addr;
    // Accepted before the next exchange's connection (one accept loop, in order): it holds the
    // graceful shutdown for the whole grace period.
    let _half = half_open(addr).await;
    let warm = common::request(addr, "POST", INVOKE, &[], br#"{"sleep_ms": 0}"#).await;
    assert_eq!(warm.status, 200, "{}", warm.text());
    let instance = warm.json()["pid"].as_u64().unwrap();

    lambkin.signal(libc::SIGTERM);
    lambkin.wait_for_text("shutting down").await;
    lambkin.signal(libc::SIGINT);
    // 130 = 128 + SIGINT: the second signal's exit, not the graceful one (which exits 0).
    let status = lambkin.exited().await;
    assert_eq!(status.code(), Some(130), "{status}");
    assert!(wait_gone(instance).await, "function process still running");
}
