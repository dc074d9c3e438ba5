//! Function result → HTTP response, and the answers API Gateway gives on its own.

use base64::Engine;
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, SET_COOKIE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

use super::route::PayloadFormat;

/// The largest request body API Gateway accepts: 10 MB (10485760 bytes).
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// Why a function result is not a valid response (API Gateway answers 502).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultError {
    /// The result is not JSON.
    #[error("the function result is not valid JSON")]
    NotJson,
    /// The format requires an object with `statusCode` and the result is not one.
    #[error("the function result is not an object with a statusCode")]
    NotAResponse,
    /// `statusCode` is not an integer HTTP status (100–599).
    #[error("statusCode is not an HTTP status code")]
    BadStatus,
    /// A field has the wrong JSON type.
    #[error("`{0}` has the wrong type")]
    BadField(&'static str),
    /// `isBase64Encoded` is true and `body` is not valid base64.
    #[error("isBase64Encoded is true but body is not valid base64")]
    BadBase64,
}

/// A JSON error body response: `{"message": …}` with `application/json`.
pub(crate) fn message(status: StatusCode, text: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "message": text }).to_string();
    raw_message(status, Bytes::from(body))
}

/// An error response with `body` as it is, `application/json`.
pub(crate) fn raw_message(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// A REST API's answer to a failed integration: 502 `{"message": "Internal server error"}` (the
/// spacing is REST's own).
///
/// "If the function runs but returns an error, or returns a response in the wrong format, API
/// Gateway returns a 502": <https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html>.
pub fn internal_server_error() -> Response<Bytes> {
    raw_message(
        StatusCode::BAD_GATEWAY,
        Bytes::from_static(br#"{"message": "Internal server error"}"#),
    )
}

/// The answer to an invocation that failed (an unhandled error, a crash, the function's own
/// timeout) or whose result is malformed.
///
/// REST APIs (and function URLs and ALBs here) answer [`internal_server_error`]; HTTP APIs, in
/// either payload format, answer 500 `{"message":"Internal Server Error"}`
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html>).
pub fn integration_error(format: PayloadFormat) -> Response<Bytes> {
    match format {
        PayloadFormat::Http | PayloadFormat::HttpV1 => {
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
        PayloadFormat::Rest | PayloadFormat::FunctionUrl | PayloadFormat::Alb => {
            internal_server_error()
        }
    }
}

/// The answer when the integration timeout passed before the function answered (the function
/// itself runs on): REST APIs 504 `{"message": "Endpoint request timed out"}`, HTTP APIs 503
/// `{"message":"Service Unavailable"}`.
///
/// The timeouts are those of <https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>
/// (see [`super::Route::integration_timeout`]); function URLs and ALBs have none.
pub fn integration_timeout(format: PayloadFormat) -> Response<Bytes> {
    match format {
        PayloadFormat::Http | PayloadFormat::HttpV1 => {
            message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        PayloadFormat::Rest | PayloadFormat::FunctionUrl | PayloadFormat::Alb => raw_message(
            StatusCode::GATEWAY_TIMEOUT,
            Bytes::from_static(br#"{"message": "Endpoint request timed out"}"#),
        ),
    }
}

/// The answer when no route matches: 404 `{"message":"Not Found"}` for HTTP APIs (either payload
/// format; function URLs and ALBs alike), 403 `{"message":"Missing Authentication Token"}` for
/// REST APIs.
pub fn not_found(format: PayloadFormat) -> Response<Bytes> {
    match format {
        PayloadFormat::Rest => {
            let mut res = message(StatusCode::FORBIDDEN, "Missing Authentication Token");
            res.headers_mut().insert(
                HeaderName::from_static("x-amzn-errortype"),
                HeaderValue::from_static("MissingAuthenticationTokenException"),
            );
            res
        }
        PayloadFormat::Http
        | PayloadFormat::HttpV1
        | PayloadFormat::FunctionUrl
        | PayloadFormat::Alb => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// The answer to a request body over [`MAX_REQUEST_BODY`]: 413
/// `{"message":"Request Entity Too Large"}`.
pub fn payload_too_large() -> Response<Bytes> {
    message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
}

/// The answer to a request body that came too slowly (the emulator's listener limits): 408
/// `{"message":"Request Timeout"}`.
pub fn request_timeout() -> Response<Bytes> {
    message(StatusCode::REQUEST_TIMEOUT, "Request Timeout")
}

/// Maps a function result to the HTTP response; a malformed result becomes the format's
/// [`integration_error`]. A body marked `isBase64Encoded` is decoded.
pub fn from_result(format: PayloadFormat, result: &[u8]) -> Response<Bytes> {
    from_result_with(format, result, true)
}

/// [`from_result`], decoding a body marked `isBase64Encoded` only when `decode_base64` says so
/// (see [`try_from_result_with`]).
pub fn from_result_with(
    format: PayloadFormat,
    result: &[u8],
    decode_base64: bool,
) -> Response<Bytes> {
    try_from_result_with(format, result, decode_base64)
        .unwrap_or_else(|_| integration_error(format))
}

/// Maps a function result to the HTTP response, saying why a malformed result is malformed.
///
/// Payload format 1.0 (REST APIs, HTTP APIs set to 1.0) and ALBs require an object with
/// `statusCode`. HTTP APIs (2.0) and function URLs infer a response from any other valid JSON:
/// 200, `content-type: application/json`, the result as body (an HTTP API sends a JSON string
/// result as its text; a function URL sends the JSON).
pub fn try_from_result(
    format: PayloadFormat,
    result: &[u8],
) -> Result<Response<Bytes>, ResultError> {
    try_from_result_with(format, result, true)
}

/// [`try_from_result`], where `decode_base64` says whether a body marked `isBase64Encoded` is
/// decoded or sent as the base64 text it is.
///
/// HTTP APIs, function URLs and ALBs always decode it; a REST API only when the request's first
/// `Accept` media type is one of its `binaryMediaTypes` (see [`super::request::accepts_binary`]).
pub fn try_from_result_with(
    format: PayloadFormat,
    result: &[u8],
    decode_base64: bool,
) -> Result<Response<Bytes>, ResultError> {
    let value: Value = serde_json::from_slice(result).map_err(|_| ResultError::NotJson)?;
    let structured = value.as_object().filter(|o| o.contains_key("statusCode"));
    let Some(obj) = structured else {
        return match format {
            PayloadFormat::Rest | PayloadFormat::HttpV1 | PayloadFormat::Alb => {
                Err(ResultError::NotAResponse)
            }
            PayloadFormat::Http | PayloadFormat::FunctionUrl => {
                let body = match (&value, format) {
                    (Value::String(s), PayloadFormat::Http) => Bytes::from(s.clone()),
                    _ => Bytes::copy_from_slice(result),
                };
                let mut res = Response::new(body);
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Ok(res)
            }
        };
    };
    structured_response(format, obj, decode_base64)
}

/// A header value from JSON: strings as they are, numbers and booleans as text, `null` skipped.
fn header_text(v: &Value, field: &'static str) -> Result<Option<String>, ResultError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(ResultError::BadField(field)),
    }
}

/// `obj[key]` as an object; absent or `null` is empty.
fn object_field<'a>(
    obj: &'a Map<String, Value>,
    key: &'static str,
) -> Result<Option<&'a Map<String, Value>>, ResultError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ResultError::BadField(key)),
    }
}

fn structured_response(
    format: PayloadFormat,
    obj: &Map<String, Value>,
    decode_base64: bool,
) -> Result<Response<Bytes>, ResultError> {
    let status = status_code(obj)?;
    let headers = result_headers(format, obj)?;
    let body = result_body(obj, decode_base64)?;
    let mut res = Response::new(body);
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    Ok(res)
}

/// `statusCode`: a number (or an integral string) from 100 to 599.
fn status_code(obj: &Map<String, Value>) -> Result<StatusCode, ResultError> {
    match obj.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64(),
        // Integral strings (`"200"`) are accepted as well.
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .and_then(|n| u16::try_from(n).ok())
    .filter(|n| (100..=599).contains(n))
    .and_then(|n| StatusCode::from_u16(n).ok())
    .ok_or(ResultError::BadStatus)
}

/// `headers`, `multiValueHeaders` and (2.0 formats) `cookies`, less the hop-by-hop headers.
fn result_headers(
    format: PayloadFormat,
    obj: &Map<String, Value>,
) -> Result<HeaderMap, ResultError> {
    let mut headers = HeaderMap::new();
    // Single-value headers first; a name also in `multiValueHeaders` takes only those values.
    let multi = object_field(obj, "multiValueHeaders")?;
    if let Some(single) = object_field(obj, "headers")? {
        for (name, v) in single {
            if multi.is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(name))) {
                continue;
            }
            if let Some(text) = header_text(v, "headers")? {
                append(&mut headers, name, &text);
            }
        }
    }
    if let Some(multi) = multi {
        for (name, vs) in multi {
            match vs {
                Value::Null => {}
                Value::Array(items) => {
                    for item in items {
                        if let Some(text) = header_text(item, "multiValueHeaders")? {
                            append(&mut headers, name, &text);
                        }
                    }
                }
                other => {
                    if let Some(text) = header_text(other, "multiValueHeaders")? {
                        append(&mut headers, name, &text);
                    }
                }
            }
        }
    }
    if matches!(format, PayloadFormat::Http | PayloadFormat::FunctionUrl) {
        set_cookies(obj, &mut headers)?;
    }
    // The gateway frames the body itself.
    for hop in [CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION] {
        headers.remove(hop);
    }
    Ok(headers)
}

/// A 2.0 result's `cookies`, as `Set-Cookie` headers.
fn set_cookies(obj: &Map<String, Value>, headers: &mut HeaderMap) -> Result<(), ResultError> {
    match obj.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for c in cookies {
                let text = c.as_str().ok_or(ResultError::BadField("cookies"))?;
                if let Ok(value) = HeaderValue::from_str(text) {
                    headers.append(SET_COOKIE, value);
                }
            }
        }
        Some(_) => return Err(ResultError::BadField("cookies")),
    }
    Ok(())
}

/// `body`, base64-decoded when `isBase64Encoded` says so and `decode_base64` allows.
fn result_body(obj: &Map<String, Value>, decode_base64: bool) -> Result<Bytes, ResultError> {
    let is_base64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => return Err(ResultError::BadField("isBase64Encoded")),
    };
    Ok(match obj.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(s)) if is_base64 && decode_base64 => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| ResultError::BadBase64)?,
        ),
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(_) => return Err(ResultError::BadField("body")),
    })
}

/// Appends a header, skipping names or values HTTP cannot carry.
fn append(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.append(name, value);
    }
}
