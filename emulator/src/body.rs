//! Reading request bodies under Lambda's size limits, without axum's own (non-AWS) rejections.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

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
}

/// Reads the whole body if it is at most `limit` bytes.
pub(crate) async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Failed)?.into_data() else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::HttpBody;
    use hyper::body::Frame;
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body arriving in several chunks.
    struct Chunks(VecDeque<&'static [u8]>);

    impl HttpBody for Chunks {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(
                self.0
                    .pop_front()
                    .map(|c| Ok(Frame::data(Bytes::from_static(c)))),
            )
        }
    }

    fn chunked(parts: &[&'static [u8]]) -> Body {
        Body::new(Chunks(parts.iter().copied().collect()))
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
}
