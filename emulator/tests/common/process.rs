//! A process the tests start (the `lambkin` binary, the fixture as an emulator host) and the
//! lines it prints, read as they come.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use super::{bounded, fixture_path};

/// An emulator process and its output lines (stdout and stderr).
pub struct Process {
    pub child: Child,
    /// Where it serves.
    pub addr: SocketAddr,
    lines: mpsc::UnboundedReceiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Process {
    /// `lambkin watch` in `dir`, once it serves.
    pub async fn lambkin(dir: &Path) -> Process {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lambkin"));
        command
            .args(["watch", "--port", "0", "--no-reload"])
            .current_dir(dir)
            .env_remove("LAMBKIN_PORT")
            .env("RUST_LOG", "info");
        Process::start(command, |line| {
            let url = line.split_whitespace().find(|w| w.starts_with("http://"))?;
            line.contains("serving on")
                .then(|| url.trim_start_matches("http://").parse().ok())?
        })
        .await
    }

    /// The fixture as an emulator host, configured by `env` (see the fixture's docs).
    pub async fn host(env: &[(&str, &str)]) -> Process {
        let mut command = Command::new(fixture_path());
        command.env("FIXTURE", "host").envs(env.iter().copied());
        Process::start(command, |line| {
            line.strip_prefix("listening ")?.parse().ok()
        })
        .await
    }

    pub async fn start(
        mut command: Command,
        ready: impl Fn(&str) -> Option<SocketAddr>,
    ) -> Process {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for stream in [
            Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(stderr),
        ] {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("  | {line}");
                    let _ = tx.send(line);
                }
            });
        }
        let mut process = Process {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            seen: Vec::new(),
        };
        let line = process.wait_for(|line| ready(line).is_some()).await;
        process.addr = ready(&line).unwrap();
        process
    }

    /// A line matching `predicate`: one already read (stdout and stderr interleave, so a line
    /// printed before readiness may have been read while waiting for it), else the next one.
    pub async fn saw_or_wait_for(&mut self, predicate: impl Fn(&str) -> bool) -> String {
        match self.seen.iter().find(|line| predicate(line)) {
            Some(line) => line.clone(),
            None => self.wait_for(predicate).await,
        }
    }

    /// The next output line matching `predicate` (bounded).
    pub async fn wait_for(&mut self, predicate: impl Fn(&str) -> bool) -> String {
        bounded(async {
            loop {
                let line = self.lines.recv().await.expect("the process exited");
                self.seen.push(line.clone());
                if predicate(&line) {
                    return line;
                }
            }
        })
        .await
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id().unwrap()).unwrap();
        // SAFETY: kill(2) of our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit, reading the rest of the output.
    pub async fn terminate(&mut self) {
        self.signal(libc::SIGTERM);
        let status = bounded(self.child.wait()).await.unwrap();
        assert!(status.success(), "{status}");
        while let Some(line) = bounded(self.lines.recv()).await {
            self.seen.push(line);
        }
    }

    /// Whether a line read so far has all of `parts`.
    pub fn logged(&self, parts: &[&str]) -> bool {
        self.seen
            .iter()
            .any(|line| parts.iter().all(|part| line.contains(part)))
    }
}
