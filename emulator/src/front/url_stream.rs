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

use super::gateway;
use super::streamed::{self, Next, Pieces, Start};
use crate::apigw::{self, PayloadFormat};
use crate::instance::{Invocation, InvokeResult, Outcome, Refused};
use crate::pool::Function;
use crate::runtime_api::Piece;

/// Invokes `function` with `invocation` and answers as soon as its stream starts.
pub(crate) async fn respond(function: Arc<Function>, invocation: Invocation) -> Response {
    let request_id = invocation.request_id.clone();
    let (first, pieces) = match streamed::start(function, invocation).await {
        Start::Ended(result) => return with_id(whole(result), &request_id),
        Start::Streaming(first, pieces) => (first, pieces),
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
    *response.body_mut() = Body::new(Stream { first, pieces });
    with_id(response, &request_id)
}

/// The buffered URL's answer to an invocation that ended before streaming anything.
fn whole(result: Result<InvokeResult, Refused>) -> Response {
    let format = PayloadFormat::FunctionUrl;
    let response = match result {
        Ok(InvokeResult {
            outcome: Outcome::Success(body),
            ..
        }) => apigw::from_result_with(format, &body, true),
        Err(Refused::Throttled(_)) => gateway::too_many_requests(),
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

/// The streamed body: the function's pieces as they come, ended as the invocation ends: clean
/// if it succeeded, else with an error, which cuts the response short.
struct Stream {
    /// A piece taken before the body was made.
    first: Option<Bytes>,
    pieces: Pieces,
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
            return Poll::Ready(match std::task::ready!(this.pieces.poll_next(cx)) {
                Some(Next::Piece(Piece::Chunk(chunk))) => Some(Ok(Frame::data(chunk))),
                Some(Next::Piece(Piece::Prelude(_))) => continue,
                Some(Next::End(Some(InvokeResult {
                    outcome: Outcome::Success(_),
                    ..
                })))
                | None => None,
                Some(Next::End(_)) => Some(Err(std::io::Error::other(
                    "the function failed while streaming",
                ))),
            });
        }
    }
}
