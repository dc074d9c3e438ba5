//! Function URLs with `InvokeMode: RESPONSE_STREAM`: the HTTP response streams as the function
//! writes it (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-response-streaming.html>).
//!
//! The status, headers and cookies come from the stream's metadata prelude (the JSON before the
//! 8 NUL bytes, as `lambda_http`'s streaming responses write it); a stream without one is
//! answered `200` with `application/octet-stream`. The response starts with the function's
//! first piece, and ends when the function does: cut short (no final chunk) if the invocation
//! failed after it had started. A function that answers whole gets the buffered URL's answer.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::gateway;
use crate::apigw::{self, PayloadFormat};
use crate::instance::{Invocation, InvokeResult, Outcome, Refused};
use crate::pool::Function;
use crate::runtime_api::Piece;

/// How many pieces may wait between the function and a slow client; past that the function's
/// `/response` stream waits (backpressure).
const BUFFERED_PIECES: usize = 16;

type Invoked = JoinHandle<Result<InvokeResult, Refused>>;

/// Invokes `function` with `invocation` and answers as soon as its stream starts.
pub(crate) async fn respond(function: Arc<Function>, mut invocation: Invocation) -> Response {
    let request_id = invocation.request_id.clone();
    let (tap, mut pieces) = mpsc::channel(BUFFERED_PIECES);
    invocation.stream = Some(tap);
    let mut invoked: Invoked =
        tokio::spawn(async move { function.invoke(invocation, false).await });
    // Pieces are passed on before the invocation ends: one waiting is seen first.
    let first = tokio::select! {
        biased;
        Some(piece) = pieces.recv() => piece,
        result = &mut invoked => return with_id(whole(result.ok()), &request_id),
    };
    let (mut response, first) = match first {
        Piece::Prelude(json) => (from_prelude(&json), None),
        Piece::Chunk(chunk) => {
            let mut response = Response::new(Body::empty());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            (response, Some(chunk))
        }
    };
    *response.body_mut() = Body::new(Stream {
        first,
        pieces,
        invoked: Some(invoked),
        succeeded: false,
    });
    with_id(response, &request_id)
}

/// The buffered URL's answer to an invocation that ended before streaming anything.
fn whole(result: Option<Result<InvokeResult, Refused>>) -> Response {
    let format = PayloadFormat::FunctionUrl;
    let response = match result {
        Some(Ok(InvokeResult {
            outcome: Outcome::Success(body),
            ..
        })) => apigw::from_result_with(format, &body, true),
        Some(Err(Refused::Throttled(_))) => gateway::too_many_requests(),
        _ => apigw::integration_error(format),
    };
    response.map(Body::from).into_response()
}

fn with_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

/// The response head a metadata prelude describes: `statusCode` (default 200), `headers` (a
/// value or a list of values each), `cookies` (as `Set-Cookie`). Bad parts are left out.
fn from_prelude(json: &[u8]) -> Response {
    let prelude: Value = serde_json::from_slice(json).unwrap_or(Value::Null);
    let mut response = Response::new(Body::empty());
    *response.status_mut() = prelude["statusCode"]
        .as_u64()
        .and_then(|code| u16::try_from(code).ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    if let Some(map) = prelude["headers"].as_object() {
        for (name, values) in map {
            let Ok(name) = HeaderName::try_from(name.as_str()) else {
                continue;
            };
            let values = match values {
                Value::Array(list) => list.iter().collect(),
                value => vec![value],
            };
            for value in values.into_iter().filter_map(Value::as_str) {
                if let Ok(value) = HeaderValue::from_str(value) {
                    headers.append(name.clone(), value);
                }
            }
        }
    }
    let cookies = prelude["cookies"].as_array().into_iter().flatten();
    for cookie in cookies.filter_map(Value::as_str) {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    response
}

/// The streamed body: the function's pieces as they come, ended as the invocation ends.
struct Stream {
    /// A piece taken before the body was made.
    first: Option<Bytes>,
    pieces: mpsc::Receiver<Piece>,
    /// The invocation, until it has ended.
    invoked: Option<Invoked>,
    /// Whether it ended well.
    succeeded: bool,
}

impl Stream {
    /// The end of the body: clean if the invocation succeeded, else an error, which cuts the
    /// response short.
    fn end(&self) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.succeeded {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Err(std::io::Error::other(
                "the function failed while streaming",
            ))))
        }
    }
}

impl HttpBody for Stream {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(chunk) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        loop {
            let Some(invoked) = &mut this.invoked else {
                // The invocation has ended: every piece it sent is waiting (a claim it never
                // made may keep the channel open, so nothing more is awaited).
                return match this.pieces.try_recv() {
                    Ok(Piece::Chunk(chunk)) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
                    Ok(Piece::Prelude(_)) => continue,
                    Err(_) => this.end(),
                };
            };
            match this.pieces.poll_recv(cx) {
                Poll::Ready(Some(Piece::Chunk(chunk))) => {
                    return Poll::Ready(Some(Ok(Frame::data(chunk))));
                }
                Poll::Ready(Some(Piece::Prelude(_))) => continue,
                Poll::Ready(None) | Poll::Pending => {}
            }
            let result = std::task::ready!(Pin::new(invoked).poll(cx));
            this.succeeded = matches!(
                result,
                Ok(Ok(InvokeResult {
                    outcome: Outcome::Success(_),
                    ..
                }))
            );
            this.invoked = None;
        }
    }
}
