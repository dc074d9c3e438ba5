//! One subscription's buffer and the task that posts it to the extension's listener.
//!
//! Records wait in a buffer bounded by the subscription's `maxItems` and `maxBytes`; a batch
//! (a JSON array) is posted once the buffer holds either, or once its oldest record waited
//! `timeoutMs`. A batch stays buffered until the listener acknowledges it with a 2xx, and is
//! retried with backoff while the listener is down or failing, as Lambda does ("Lambda retries
//! the attempt to send the logs (with backoff) if there is no listener, or if the POST or PUT
//! request results in an error",
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html#runtimes-logs-api-dest>).
//! Records that arrive while the buffer is full are dropped and counted, and the next batch
//! starts with a `platform.logsDropped` record saying how many. The first failure is logged
//! with its reason, once per subscription; so is the recovery.
//!
//! There is no deadline on the listener's answer: an extension is frozen with its instance, and
//! answers once thawed. A listener that never answers only stalls its own subscription, whose
//! buffer then drops what does not fit.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, timeout};

use super::schema::{Event, Stream};
use super::subscription::Subscription;
use crate::sync::lock;

/// The longest wait for a connection to a listener.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest pause between two attempts at a failing listener.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The most of a listener's answer read (it is discarded; listeners answer with a few bytes).
const MAX_ANSWER: usize = 64 * 1024;

/// Lambda's words in `platform.logsDropped`
/// (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html#runtimes-logs-api-msg-platform>).
const DROPPED_REASON: &str =
    "Consumer seems to have fallen behind as it has not acknowledged receipt of logs.";

/// A subscription of one extension and its delivery task (stopped when this is dropped).
#[derive(Debug)]
pub(crate) struct Subscriber {
    /// The extension's name.
    pub(crate) name: String,
    pub(crate) subscription: Subscription,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    buffer: Mutex<Buffer>,
    /// Wakes the task when a record is buffered.
    wake: Notify,
}

#[derive(Debug, Default)]
struct Buffer {
    /// Serialised records, oldest first.
    records: VecDeque<Vec<u8>>,
    bytes: usize,
    /// When the oldest buffered record arrived.
    oldest: Option<Instant>,
    /// Dropped and not yet reported: records, bytes.
    dropped: (u64, u64),
}

impl Subscriber {
    /// Starts delivering to `subscription`'s destination for extension `name` of `function`.
    pub(crate) fn start(name: String, subscription: Subscription, function: String) -> Subscriber {
        let shared = Arc::new(Shared {
            buffer: Mutex::default(),
            wake: Notify::new(),
        });
        let task = tokio::spawn(deliver(
            name.clone(),
            function,
            subscription.clone(),
            shared.clone(),
        ));
        Subscriber {
            name,
            subscription,
            shared,
            task,
        }
    }

    /// Whether the subscription takes records of `stream`.
    pub(crate) fn wants(&self, stream: Stream) -> bool {
        self.subscription.types.contains(&stream)
    }

    /// Buffers `event`, which happened at `time`, as this subscription's API writes it.
    pub(crate) fn push(&self, event: &Event, time: SystemTime) {
        let buffering = self.subscription.buffering;
        for record in event.records(self.subscription.api, time) {
            let Ok(record) = serde_json::to_vec(&record) else {
                continue;
            };
            let mut buffer = lock(&self.shared.buffer);
            // A drop is reported as soon as a record would have been sent.
            buffer.oldest.get_or_insert_with(Instant::now);
            if buffer.records.len() >= buffering.max_items
                || buffer.bytes + record.len() > buffering.max_bytes
            {
                buffer.dropped.0 += 1;
                buffer.dropped.1 += record.len() as u64;
                continue;
            }
            buffer.bytes += record.len();
            buffer.records.push_back(record);
            drop(buffer);
            self.shared.wake.notify_one();
        }
    }

    /// Makes what is buffered due now.
    pub(crate) fn flush(&self) {
        let mut buffer = lock(&self.shared.buffer);
        if buffer.oldest.is_some() {
            let timeout = self.subscription.buffering.timeout;
            buffer.oldest = Instant::now().checked_sub(timeout).or(buffer.oldest);
            drop(buffer);
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A batch taken from the front of the buffer.
struct Batch {
    body: Bytes,
    /// How many buffered records it holds.
    records: usize,
    /// The drops it reports: records, bytes.
    dropped: (u64, u64),
}

/// The delivery task: waits for a batch to be due, posts it until the listener takes it.
async fn deliver(name: String, function: String, subscription: Subscription, shared: Arc<Shared>) {
    let destination = &subscription.destination;
    let mut connection: Option<SendRequest<Full<Bytes>>> = None;
    let mut failing = false;
    let mut backoff = Duration::from_millis(25);
    loop {
        let batch = loop {
            let due = {
                let buffer = lock(&shared.buffer);
                let full = buffer.records.len() >= subscription.buffering.max_items
                    || buffer.bytes >= subscription.buffering.max_bytes;
                match buffer.oldest {
                    Some(_) if full => Some(Instant::now()),
                    Some(oldest) => Some(oldest + subscription.buffering.timeout),
                    None => None,
                }
            };
            match due {
                None => shared.wake.notified().await,
                Some(at) if at > Instant::now() => {
                    tokio::select! {
                        () = sleep_until(at.into()) => {}
                        () = shared.wake.notified() => {}
                    }
                }
                Some(_) => break take_batch(&shared),
            }
        };
        loop {
            match post(
                &mut connection,
                destination.addr,
                &destination.uri,
                &batch.body,
            )
            .await
            {
                Ok(()) => {
                    if std::mem::take(&mut failing) {
                        tracing::info!(
                            function = %function,
                            extension = %name,
                            "the telemetry listener at {} is back: delivering again",
                            destination.uri
                        );
                    }
                    backoff = Duration::from_millis(25);
                    acknowledge(&shared, &batch);
                    break;
                }
                Err(reason) => {
                    connection = None;
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(
                            function = %function,
                            extension = %name,
                            "telemetry could not be delivered to {}: {reason}; records are kept \
                             within the subscription's buffer and retried, and what does not fit \
                             is dropped (the listener gets platform.logsDropped)",
                            destination.uri
                        );
                    }
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// The records due, as a JSON array: a `platform.logsDropped` first if records were dropped,
/// then the buffer's front, within `maxItems` and `maxBytes`. They stay buffered until
/// acknowledged.
fn take_batch(shared: &Shared) -> Batch {
    let buffer = lock(&shared.buffer);
    let mut body = vec![b'['];
    let dropped = buffer.dropped;
    if dropped.0 > 0 {
        let event = Event::LogsDropped {
            reason: DROPPED_REASON.to_owned(),
            records: dropped.0,
            bytes: dropped.1,
        };
        // Every API has this record.
        for record in event.records(super::schema::Api::Telemetry, SystemTime::now()) {
            if let Ok(record) = serde_json::to_vec(&record) {
                body.extend_from_slice(&record);
                body.push(b',');
            }
        }
    }
    // The buffer is bounded by the same limits: it all fits.
    let records = buffer.records.len();
    for record in &buffer.records {
        body.extend_from_slice(record);
        body.push(b',');
    }
    if body.len() > 1 {
        body.pop();
    }
    body.push(b']');
    Batch {
        body: Bytes::from(body),
        records,
        dropped,
    }
}

/// Removes an acknowledged batch from the buffer.
fn acknowledge(shared: &Shared, batch: &Batch) {
    let mut buffer = lock(&shared.buffer);
    for _ in 0..batch.records {
        if let Some(record) = buffer.records.pop_front() {
            buffer.bytes -= record.len();
        }
    }
    buffer.dropped.0 -= batch.dropped.0;
    buffer.dropped.1 -= batch.dropped.1;
    // What is left arrived while the batch was out: its wait starts now.
    let left = !buffer.records.is_empty() || buffer.dropped.0 > 0;
    buffer.oldest = left.then(Instant::now);
}

/// Posts `body` to the listener, over the kept connection or a new one.
async fn post(
    connection: &mut Option<SendRequest<Full<Bytes>>>,
    addr: SocketAddr,
    uri: &http::Uri,
    body: &Bytes,
) -> Result<(), String> {
    if connection.as_ref().is_none_or(SendRequest::is_closed) {
        *connection = Some(connect(addr).await?);
    }
    let Some(sender) = connection.as_mut() else {
        return Err("no connection".to_owned());
    };
    sender.ready().await.map_err(|e| e.to_string())?;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let host = uri
        .authority()
        .map_or("sandbox.localdomain", |a| a.as_str());
    let request = http::Request::post(path)
        .header(http::header::HOST, host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body.clone()))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    // Read to the end, so the connection can carry the next batch; an answer longer than
    // MAX_ANSWER (or broken) is not read further, and its connection not reused.
    if Limited::new(response.into_body(), MAX_ANSWER)
        .collect()
        .await
        .is_err()
    {
        *connection = None;
    }
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the listener answered {status}"))
    }
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connecting to {addr} timed out"))?
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// A listener that acknowledges with an endless body is read no further than MAX_ANSWER:
    /// the batch counts as delivered and the connection is dropped, not kept half read.
    #[tokio::test]
    async fn an_endless_answer_is_read_bounded() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0; 4096];
            let _ = stream.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
            // Until the client stops reading and closes the connection.
            while stream.write_all(chunk.as_bytes()).await.is_ok() {}
        });
        let uri: http::Uri = format!("http://{addr}/telemetry").parse().unwrap();
        let mut connection = None;
        let posted = timeout(
            Duration::from_secs(10),
            post(&mut connection, addr, &uri, &Bytes::from_static(b"[]")),
        )
        .await
        .expect("the answer is read bounded");
        assert_eq!(posted, Ok(()));
        assert!(connection.is_none(), "a half-read connection is not reused");
    }
}
