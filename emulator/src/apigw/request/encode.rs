//! The encodings shared by the event formats: headers, query strings, bodies (text or base64,
//! `binaryMediaTypes`), request ids, and trimming the serialised JSON to AWS's shape.

use std::collections::HashMap;

use base64::Engine;
use bytes::Bytes;
use http::header::ACCEPT;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::EventOptions;
use crate::apigw::route::{Route, percent_decode};

/// A header map from text pairs (pairs that are not valid header values are dropped).
pub(super) fn header_map<'a>(
    pairs: impl IntoIterator<Item = (&'a HeaderName, &'a str)>,
) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        if let Ok(value) = HeaderValue::from_str(v) {
            map.append(k.clone(), value);
        }
    }
    map
}

/// Query pairs in order; decoded as API Gateway decodes them (`%XX` and `+`), or kept raw (ALB).
pub(super) fn query_pairs(raw: &str, decode: bool) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if decode {
                (
                    percent_decode(&k.replace('+', " ")),
                    percent_decode(&v.replace('+', " ")),
                )
            } else {
                (k.to_owned(), v.to_owned())
            }
        })
        .collect()
}

/// Groups query pairs by key, values in order.
pub(super) fn group_query(pairs: &[(String, String)]) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        map.entry(k.clone()).or_default().push(v.clone());
    }
    map
}

/// The last value of each key (REST `queryStringParameters`, ALB without multi-value headers).
pub(super) fn last_values(grouped: &HashMap<String, Vec<String>>) -> HashMap<String, String> {
    grouped
        .iter()
        .filter_map(|(k, vs)| vs.last().map(|v| (k.clone(), v.clone())))
        .collect()
}

/// Whether a content type is text to HTTP APIs, function URLs and ALBs: `text/*`,
/// `application/json`, `application/javascript`, `application/xml`.
pub(super) fn is_text_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || matches!(
            mime.as_str(),
            "application/json" | "application/javascript" | "application/xml"
        )
}

/// Whether a media type (a `Content-Type` or `Accept` value; parameters ignored) matches one of
/// a REST API's `binaryMediaTypes`, which may end in `/*` or be `*/*`.
pub(super) fn is_binary_media_type<'t>(
    media_type: Option<&str>,
    binary_media_types: impl IntoIterator<Item = &'t String>,
) -> bool {
    let mime = media_type
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (ty, _) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
    binary_media_types.into_iter().any(|b| {
        let b = b.trim().to_ascii_lowercase();
        b == "*/*"
            || (!mime.is_empty() && b == mime)
            || b.strip_suffix("/*")
                .is_some_and(|t| !ty.is_empty() && t == ty)
    })
}

/// The `binaryMediaTypes` that apply to `route`: its API's and the gateway-wide ones.
pub(super) fn binary_media_types<'a>(
    route: &'a Route,
    options: &'a EventOptions,
) -> impl Iterator<Item = &'a String> {
    route
        .binary_media_types()
        .iter()
        .chain(&options.binary_media_types)
}

/// Whether a REST API answers `headers`' request with binary: its first `Accept` media type is
/// one of the `binaryMediaTypes` (then a result body marked `isBase64Encoded` is decoded; else it
/// is sent as the base64 text it is).
///
/// "API Gateway uses the first Accept header from clients to determine if a response should
/// return binary media":
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html>,
/// <https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html>.
pub fn accepts_binary(headers: &HeaderMap, route: &Route, options: &EventOptions) -> bool {
    let first = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next());
    is_binary_media_type(first, binary_media_types(route, options))
}

/// The body as the event carries it: `(body, isBase64Encoded)`; base64 when `binary` says so or
/// when the bytes are not UTF-8 (a JSON string cannot carry them otherwise).
pub(super) fn encode_body(body: &Bytes, binary: bool) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(text) if !binary => (text.to_owned(), false),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
    }
}

/// A REST API request body as the event carries it: base64 only when its content type is one of
/// the `binaryMediaTypes`; otherwise it is text, and bytes that are not UTF-8 are replaced
/// (U+FFFD), as API Gateway passes a payload it does not treat as binary as a UTF-8 string
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html>).
pub(super) fn rest_body(body: &Bytes, binary: bool) -> (String, bool) {
    if binary {
        encode_body(body, true)
    } else {
        (String::from_utf8_lossy(body).into_owned(), false)
    }
}

/// Sets `obj[key]` to `null` when it is an empty object (AWS sends `null` for empty maps).
pub(super) fn null_if_empty(obj: &mut serde_json::Map<String, Value>, key: &str) {
    if obj
        .get(key)
        .is_some_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty))
    {
        obj.insert(key.to_owned(), Value::Null);
    }
}

/// Removes `obj[key]` when it is `null` or an empty object.
pub(super) fn drop_if_empty(obj: &mut serde_json::Map<String, Value>, key: &str) {
    if obj
        .get(key)
        .is_some_and(|v| v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty))
    {
        obj.remove(key);
    }
}

/// `x-forwarded-for` → `X-Forwarded-For`.
pub(super) fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A REST API request id: a UUID, as in `deef4878-7910-11e6-8f14-25afc3e9ae33`.
pub(super) fn uuid_request_id() -> String {
    crate::ids::uuid().to_string()
}

/// An HTTP API request id: 16 characters of URL-safe base64, as in `LV7fzho-PHcEJPw=`.
pub(super) fn short_request_id() -> String {
    let bytes: [u8; 11] = rand::random();
    let mut id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    id.push('=');
    id
}
