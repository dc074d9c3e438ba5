//! Function logs: each instance's output re-emitted under the function's name, and the lines of
//! the current invocation kept for `X-Amz-Log-Type: Tail`.

use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, Span};

use crate::config::FunctionConfig;
use crate::sync::lock;
use crate::telemetry::{Stream, Telemetry};

/// How much of an invocation's log `X-Amz-Log-Result` carries.
pub(crate) const TAIL_BYTES: usize = 4096;

/// The longest wait for output already written by a function to be read. Reached only by a
/// function that never stops writing: otherwise the pipe runs dry well before.
const SETTLE_WAIT: Duration = Duration::from_millis(250);

/// Emits one line of a function's log.
fn emit(line: &str) {
    tracing::info!(target: "lambkin::function", "{line}");
}

/// Emits a line in a function's log outside any instance (e.g. a failed start).
pub(crate) fn log_line(config: &FunctionConfig, line: &str) {
    tracing::info_span!("function", name = %config.name).in_scope(|| emit(line));
}

/// The log of an instance's current invocation (its last few KB).
#[derive(Debug, Default)]
pub(crate) struct Capture {
    log: Mutex<String>,
    /// Where the function's own lines also go.
    telemetry: Arc<Telemetry>,
}

impl Capture {
    /// The log of an instance whose function's lines also go to `telemetry`'s subscribers.
    pub(crate) fn new(telemetry: Arc<Telemetry>) -> Capture {
        Capture {
            log: Mutex::default(),
            telemetry,
        }
    }

    /// A line the function (or an extension: `source`) wrote: emitted, kept, and delivered to
    /// telemetry subscribers.
    fn output(&self, line: &str, source: Stream) {
        self.line(line);
        self.telemetry.log(source, line);
    }

    /// Emits `line` and keeps it.
    pub(crate) fn line(&self, line: &str) {
        emit(line);
        let mut log = lock(&self.log);
        log.push_str(line);
        log.push('\n');
        if log.len() > 4 * TAIL_BYTES {
            let keep = tail(&log, TAIL_BYTES).len();
            let cut = log.len() - keep;
            log.drain(..cut);
        }
    }

    /// Forgets what was kept (a new invocation starts).
    pub(crate) fn clear(&self) {
        lock(&self.log).clear();
    }

    /// The log's last [`TAIL_BYTES`], left in place (an instance running several invocations
    /// at once shares one log).
    pub(crate) fn tail(&self) -> String {
        tail(&lock(&self.log), TAIL_BYTES).to_owned()
    }

    /// The last [`TAIL_BYTES`] kept, and forgets them.
    pub(crate) fn take_tail(&self) -> String {
        let log = std::mem::take(&mut *lock(&self.log));
        tail(&log, TAIL_BYTES).to_owned()
    }
}

/// The last `max` bytes of `s`, cut at a character boundary.
fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Readers of an instance's stdout and stderr.
#[derive(Debug, Default)]
pub(crate) struct Pumps(Vec<Pump>);

/// One pipe's reader task, as [`Pumps::settle`] sees it.
#[derive(Debug)]
struct Pump {
    /// Asks the task to acknowledge once the pipe holds nothing unread.
    settle: mpsc::UnboundedSender<oneshot::Sender<()>>,
    /// Held while the task runs, so a look at the pipe never lands in the middle of a line
    /// read but not yet emitted.
    running: Arc<Mutex<Running>>,
}

#[derive(Debug)]
struct Running {
    /// The pipe's descriptor; closed once `ended`.
    fd: RawFd,
    ended: bool,
}

impl Pump {
    /// Whether everything written to the pipe so far has been emitted. The task holds
    /// `running` for each of its polls, which read and emit until the pipe is empty (a read
    /// pending leaves nothing buffered but a line's unfinished end, which waits for its newline
    /// anyway).
    fn drained(&self) -> bool {
        let running = lock(&self.running);
        running.ended || unread(running.fd) == 0
    }
}

impl Pumps {
    /// Starts a task re-emitting `stream` line by line into `capture`, as written by `source`.
    pub(crate) fn add(
        &mut self,
        stream: impl AsyncRead + AsRawFd + Unpin + Send + 'static,
        capture: Arc<Capture>,
        span: Span,
        source: Stream,
    ) {
        let (settle_tx, settle_rx) = mpsc::unbounded_channel();
        let running = Arc::new(Mutex::new(Running {
            fd: stream.as_raw_fd(),
            ended: false,
        }));
        let mut task = Box::pin(pump(stream, capture, settle_rx, source));
        let held = running.clone();
        let task = std::future::poll_fn(move |cx| {
            let mut running = lock(&held);
            let poll = task.as_mut().poll(cx);
            // The stream (and its descriptor) was dropped when the task ended, in this poll.
            running.ended = poll.is_ready();
            poll
        });
        tokio::spawn(task.instrument(span));
        self.0.push(Pump {
            settle: settle_tx,
            running,
        });
    }

    /// Starts readers of the piped stdout and stderr of `group`'s leader, the function's or an
    /// extension's (`source`).
    pub(crate) fn add_output(
        &mut self,
        group: &mut super::process::Group,
        capture: &Arc<Capture>,
        span: &Span,
        source: Stream,
    ) {
        let (stdout, stderr) = group.output();
        if let Some(stdout) = stdout {
            self.add(stdout, capture.clone(), span.clone(), source);
        }
        if let Some(stderr) = stderr {
            self.add(stderr, capture.clone(), span.clone(), source);
        }
    }

    /// Waits (briefly) until output the function wrote before answering has been read, so it is
    /// attributed to the invocation that wrote it.
    pub(crate) async fn settle(&self) {
        // Both streams at once: this is on every invocation's path. A pipe already drained (a
        // function that printed nothing) needs no round trip through its task.
        let acks: Vec<_> = self
            .0
            .iter()
            .filter(|pump| !pump.drained())
            .filter_map(|pump| {
                let (ack, acked) = oneshot::channel();
                pump.settle.send(ack).ok().map(|()| acked)
            })
            .collect();
        if acks.is_empty() {
            return;
        }
        let _ = tokio::time::timeout(SETTLE_WAIT, async {
            for acked in acks {
                let _ = acked.await;
            }
        })
        .await;
    }
}

async fn pump(
    stream: impl AsyncRead + AsRawFd + Unpin,
    capture: Arc<Capture>,
    mut settle: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
    source: Stream,
) {
    let fd = stream.as_raw_fd();
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        // Settled once the pipe itself holds nothing unread. Tokio's readiness is not enough:
        // under load the reactor may not yet have seen bytes a function wrote before `/next`.
        if !waiting.is_empty() && reader.buffer().is_empty() && unread(fd) == 0 {
            for ack in waiting.drain(..) {
                let _ = ack.send(());
            }
        }
        tokio::select! {
            biased;
            read = reader.read_until(b'\n', &mut buf) => {
                let done = !matches!(read, Ok(n) if n > 0);
                if !buf.is_empty() {
                    let line = String::from_utf8_lossy(&buf);
                    capture.output(line.trim_end_matches(['\n', '\r']), source);
                    buf.clear();
                }
                if done {
                    return;
                }
            }
            Some(ack) = settle.recv() => waiting.push(ack),
        }
    }
}

/// How many bytes wait in the pipe `fd` (0 when that cannot be told).
fn unread(fd: RawFd) -> usize {
    let mut bytes: libc::c_int = 0;
    // SAFETY: FIONREAD writes one `c_int`; `fd` belongs to the reader, open while it lives.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut bytes) } == 0 {
        usize::try_from(bytes).unwrap_or(0)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_bounded_and_utf8() {
        assert_eq!(tail("héllo", 4), "llo");
        assert_eq!(tail("abc", 10), "abc");
        let capture = Capture::default();
        for i in 0..2000 {
            capture.line(&format!("line {i}"));
        }
        let kept = capture.take_tail();
        assert!(kept.len() <= TAIL_BYTES);
        assert!(kept.ends_with("line 1999\n"));
        assert!(capture.take_tail().is_empty());
    }

    #[tokio::test]
    async fn pumps_split_lines() {
        let capture = Arc::new(Capture::default());
        let mut pumps = Pumps::default();
        let (mut w, r) = tokio::net::unix::pipe::pipe().unwrap();
        pumps.add(r, capture.clone(), Span::none(), Stream::Function);
        tokio::io::AsyncWriteExt::write_all(&mut w, b"one\r\ntwo\n\xffthree\n")
            .await
            .unwrap();
        // No sleep: whatever was written before `settle` is read by the time it returns.
        pumps.settle().await;
        assert_eq!(capture.take_tail(), "one\ntwo\n\u{fffd}three\n");
        drop(w);
    }
}
