//! Reading request bodies under Lambda's size limits, without axum's own (non-AWS) rejections,
//! and within the listener's time limits ([`TimedBody`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::BoxError;
use axum::body::{Body, HttpBody};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep, sleep};

/// Past this many bytes over the limit an oversized body is no longer drained; the connection
/// is dropped.
///
/// Draining up to here lets clients that write the whole body before reading the answer (the
/// AWS CLI does) see the 413 instead of a reset connection.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// More than the limit.
    TooLarge,
    /// The client went away or sent a malformed body.
    Failed,
    /// The client paused too long within the body, or took too long for all of it.
    TimedOut,
}

/// The error a [`TimedBody`] fails with.
#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub(crate) struct BodyTimedOut;

/// A request body that fails with [`BodyTimedOut`] when the client pauses longer than `stall`
/// between two pieces of it, or takes longer than `total` for all of it.
///
/// The clocks start when the body is first read, so a handler that reads it late is not
/// charged for its own delay.
#[derive(Debug)]
pub(crate) struct TimedBody<B> {
    inner: B,
    stall: Duration,
    total: Duration,
    /// Set at the first read.
    clocks: Option<Clocks>,
}

/// The deadlines of a [`TimedBody`].
#[derive(Debug)]
struct Clocks {
    /// For the next piece.
    next: Pin<Box<Sleep>>,
    /// For the end of the body.
    end: Pin<Box<Sleep>>,
}

impl<B> TimedBody<B> {
    pub(crate) fn new(inner: B, stall: Duration, total: Duration) -> Self {
        TimedBody {
            inner,
            stall,
            total,
            clocks: None,
        }
    }
}

impl<B> HttpBody for TimedBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let (stall, total) = (this.stall, this.total);
        let Clocks { next, end } = this.clocks.get_or_insert_with(|| Clocks {
            next: Box::pin(sleep(stall)),
            end: Box::pin(sleep(total)),
        });
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                next.as_mut().reset(Instant::now() + stall);
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                if next.as_mut().poll(cx).is_ready() || end.as_mut().poll(cx).is_ready() {
                    Poll::Ready(Some(Err(BodyTimedOut.into())))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What a failed read of a body means.
fn failure(error: axum::Error) -> BodyError {
    if error.into_inner().is::<BodyTimedOut>() {
        BodyError::TimedOut
    } else {
        BodyError::Failed
    }
}

/// Reads the whole body if it is at most `limit` bytes.
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(failure)?.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen > limit.saturating_add(DRAIN_LIMIT) {
            return Err(BodyError::TooLarge);
        }
        if seen > limit {
            continue;
        }
        // The usual single-chunk body is passed on without a copy.
        match &first {
            None => first = Some(data),
            Some(head) => {
                if rest.is_empty() {
                    rest.extend_from_slice(head);
                }
                rest.extend_from_slice(&data);
            }
        }
    }
    if seen > limit {
        Err(BodyError::TooLarge)
    } else if rest.is_empty() {
        Ok(first.unwrap_or_default())
    } else {
        Ok(rest.freeze())
    }
}

/// A request body of exactly these `frames` (data and trailers), for tests of the readers.
#[cfg(test)]
pub(crate) fn frames(frames: Vec<Frame<Bytes>>) -> Body {
    struct Frames(std::collections::VecDeque<Frame<Bytes>>);

    impl HttpBody for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    Body::new(Frames(frames.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn chunked(parts: &[&'static [u8]]) -> Body {
        frames(
            parts
                .iter()
                .map(|part| Frame::data(Bytes::from_static(part)))
                .collect(),
        )
    }

    #[tokio::test]
    async fn limits() {
        let ok = read_limited(chunked(&[b"ab", b"cd"]), 4).await;
        assert_eq!(ok, Ok(Bytes::from_static(b"abcd")));
        let big = read_limited(chunked(&[b"ab", b"cde"]), 4).await;
        assert_eq!(big, Err(BodyError::TooLarge));
        let one = read_limited(Body::from("xyz"), 3).await;
        assert_eq!(one, Ok(Bytes::from_static(b"xyz")));
        assert_eq!(read_limited(Body::empty(), 0).await, Ok(Bytes::new()));
    }

    /// A body sending `left` pieces (`b"x"`), one every `every`; then its end, or nothing more
    /// if it `stalls`.
    struct Trickle {
        tick: tokio::time::Interval,
        left: usize,
        stalls: bool,
    }

    impl Trickle {
        fn new(every_ms: u64, left: usize, stalls: bool) -> TimedBody<Trickle> {
            let every = Duration::from_millis(every_ms);
            let tick = tokio::time::interval_at(Instant::now() + every, every);
            let body = Trickle { tick, left, stalls };
            TimedBody::new(body, Duration::from_secs(1), Duration::from_secs(10))
        }
    }

    impl HttpBody for Trickle {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            if self.left == 0 {
                return if self.stalls {
                    Poll::Pending
                } else {
                    Poll::Ready(None)
                };
            }
            if self.tick.poll_tick(cx).is_pending() {
                return Poll::Pending;
            }
            self.left -= 1;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    // Paused time: the clock jumps ahead whenever every task waits, so these take no real time.
    #[tokio::test(start_paused = true)]
    async fn time_limits() {
        let read = |body| read_limited(Body::new(body), 1 << 20);
        let started = Instant::now();
        // Pieces within the pause limit, the whole within the total: read.
        let ok = read(Trickle::new(900, 5, false)).await;
        assert_eq!(ok, Ok(Bytes::from_static(b"xxxxx")));
        // Three pieces, then a pause: cut one second after the last piece.
        let started_stall = Instant::now();
        let stalled = read(Trickle::new(500, 3, true)).await;
        assert_eq!(stalled, Err(BodyError::TimedOut));
        assert_eq!(started_stall.elapsed(), Duration::from_millis(2500));
        // Never pausing long, never ending: cut at the total.
        let slow = Instant::now();
        let endless = read(Trickle::new(500, usize::MAX, false)).await;
        assert_eq!(endless, Err(BodyError::TimedOut));
        assert_eq!(slow.elapsed(), Duration::from_secs(10));
        assert!(started.elapsed() > Duration::from_secs(12));
    }
}
