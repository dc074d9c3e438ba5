//! The one accept loop of every listener (the front, function URLs, each instance's Runtime API,
//! local mode), with the limits a server needs against slow, idle or too many clients, and a
//! shutdown that ends on time whatever clients do.
//!
//! Connections are HTTP/1.1 served by hyper directly (axum's own `serve` sets no timeouts):
//! * a client has [`Limits::header_timeout`] to send a request head, and a kept-alive connection
//!   is closed when no new head has arrived that long after the last answer (hyper runs one
//!   clock for both: it starts when the connection is ready to read a head). An instance's
//!   Runtime API has no such clock: see [`Limits::runtime_api`];
//! * a request body may pause [`Limits::body_stall_timeout`] between two pieces and take
//!   [`Limits::body_timeout`] in all; the readers answer 408 in their listener's error shape;
//! * at most [`Limits::max_connections`] connections are served at once. Over the cap the loop
//!   stops accepting: new clients wait in the kernel's accept queue (their connect succeeds)
//!   and are served as soon as a connection closes, rather than being refused outright, while
//!   the connections already accepted keep being served. A warning says the cap was reached,
//!   at most once per [`WARN_EVERY`];
//! * on shutdown the listener closes, each connection ends after its request in flight, and
//!   after [`Limits::shutdown_grace`] every connection left is dropped.
//!
//! A long-polling Runtime API `/next` is not cut: its request head arrives at once, and it is
//! the answer that waits.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower_service::Service;

use crate::body::TimedBody;
use crate::sync::closed;

/// How often at most a listener warns that it is full, or that it cannot accept.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// How long the loop waits after an accept error other than a failed handshake, such as
/// running out of file descriptors (which would otherwise fail again at once).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);

/// How a listener treats its clients.
///
/// The defaults suit the front; [`Options::limits`](crate::Options::limits) changes
/// them (tests shorten them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// How long a client has to send a whole request head; also how long a kept-alive
    /// connection may stay idle between requests. Default 10 s; `None`, no limit.
    pub header_timeout: Option<Duration>,
    /// The longest pause allowed between two pieces of a request body. Default 10 s.
    pub body_stall_timeout: Duration,
    /// How long a client has to send a whole request body (Lambda's payloads are at most a
    /// few MB; a zip for the management API, 70 MB). Default 120 s.
    pub body_timeout: Duration,
    /// How many connections are served at once; more wait to be accepted. Default 1024.
    pub max_connections: usize,
    /// After a shutdown, how long requests in flight have to finish before every connection
    /// is dropped. Default 3 s.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Some(Duration::from_secs(10)),
            body_stall_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(120),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

impl Limits {
    /// An instance's Runtime API: its only clients are the runtime (and extensions) of one
    /// process, which use a connection or two, and one more per `/next` long poll a runtime
    /// taking `polls` invocations at once keeps open. A streamed answer may pause and last as
    /// long as the function's timeout (at most 900 s), which the instance enforces itself.
    ///
    /// Idle kept-alive connections are never closed: the runtime is frozen with its function
    /// between invocations, for as long as the instance stays idle, so it cannot see a
    /// connection close meanwhile. Its HTTP client keeps such connections pooled, and the first
    /// request it wrote on one after the thaw was reset, which made `lambda_runtime` exit
    /// with its handler's result undelivered (`Runtime.ExitError` instead of that result).
    /// Lambda's own Runtime API server sets no timeouts (`lambda/rapi/server.go` in
    /// aws/aws-lambda-runtime-interface-emulator: a plain `http.Server`).
    pub(crate) fn runtime_api(polls: u32) -> Limits {
        let extra_polls = usize::try_from(polls.saturating_sub(1)).unwrap_or(0);
        Limits {
            header_timeout: None,
            max_connections: 64 + extra_polls,
            body_stall_timeout: Duration::from_secs(900),
            body_timeout: Duration::from_secs(900),
            ..Limits::default()
        }
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then closes the
/// listener and returns once every connection has ended or been dropped (at most
/// [`Limits::shutdown_grace`] later). Dropping the returned future drops every connection.
///
/// Handlers see the client's address as `ConnectInfo<SocketAddr>`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    let local = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let body = BodyLimits {
        stall: limits.body_stall_timeout,
        total: limits.body_timeout,
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut full = RateLimit::default();
    let mut failing = RateLimit::default();
    tokio::pin!(shutdown);
    loop {
        // Ended connections leave their results here until collected.
        while connections.try_join_next().is_some() {}
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if full.due() {
                    tracing::warn!(
                        listener = %local,
                        limit = limits.max_connections,
                        "connection limit reached: new connections wait until one closes"
                    );
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break, // never closed
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error, &local, &mut failing).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            router: router.clone(),
            http: http.clone(),
            body,
            peer,
            _permit: permit,
        };
        connections.spawn(connection.serve(stream, stopping.clone()));
    }
    // New clients are refused from here on.
    drop(listener);
    stop.send_replace(true);
    let ended = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if ended.is_err() {
        tracing::debug!(
            listener = %local,
            count = connections.len(),
            "dropping the connections still open after the grace period"
        );
        connections.shutdown().await;
    }
}

/// After an accept error: a client that gave up during the handshake is no concern; anything
/// else (such as running out of file descriptors) is logged now and then, and the loop pauses.
async fn accept_failed(error: &io::Error, local: &str, failing: &mut RateLimit) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    if failing.due() {
        tracing::error!(listener = %local, %error, "cannot accept connections");
    }
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// The time limits of request bodies.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    stall: Duration,
    total: Duration,
}

/// One accepted connection and what serving it takes.
struct Connection {
    router: Router,
    http: http1::Builder,
    body: BodyLimits,
    peer: SocketAddr,
    /// Frees a place under the cap when the connection ends.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    /// Serves requests until the client closes, a limit is hit, or the listener stops (then
    /// the request in flight is answered and the connection closed).
    async fn serve(self, stream: TcpStream, mut stopping: watch::Receiver<bool>) {
        // Each invocation is a few small exchanges; Nagle's delay would dominate them.
        let _ = stream.set_nodelay(true);
        let Connection {
            router,
            http,
            body,
            peer,
            _permit,
        } = self;
        let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
            let mut request =
                request.map(|incoming| Body::new(TimedBody::new(incoming, body.stall, body.total)));
            request.extensions_mut().insert(ConnectInfo(peer));
            // A router is always ready: no `poll_ready` needed.
            router.clone().call(request)
        });
        // Upgrades (WebSocket APIs) take the connection over once their response is sent.
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let served = tokio::select! {
            served = connection.as_mut() => served,
            () = closed(&mut stopping) => {
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(error) = served {
            // Timeouts and clients going away mid-request: routine, not the server's failure.
            tracing::debug!(%peer, %error, "connection ended");
        }
    }
}

/// Lets an event through at most once per [`WARN_EVERY`].
#[derive(Debug, Default)]
struct RateLimit {
    last: Option<Instant>,
}

impl RateLimit {
    fn due(&mut self) -> bool {
        let now = Instant::now();
        let due = self
            .last
            .is_none_or(|last| now.duration_since(last) >= WARN_EVERY);
        if due {
            self.last = Some(now);
        }
        due
    }
}
