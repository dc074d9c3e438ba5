//! HTTP request → the event API Gateway (or a function URL, or an ALB) sends to the function.
//!
//! Every event is built by filling the `aws_lambda_events` type of its format and serialising it;
//! the resulting JSON is then trimmed to the shape AWS really sends (fields AWS leaves `null` or
//! omits, keys the Rust type carries only for other event kinds).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupRequestContext, ElbContext};
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayRequestIdentity,
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlRequestContext,
    LambdaFunctionUrlRequestContextHttpDescription,
};
use aws_lambda_events::query_map::QueryMap;
use base64::Engine;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, COOKIE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Version};
use serde_json::Value;

use super::route::{PayloadFormat, Route, RouteMatch, percent_decode};
use crate::clock;

/// The API id the emulator reports (`requestContext.apiId`), the one `sam local` uses too.
pub const API_ID: &str = "1234567890";

/// The stage of HTTP APIs and function URLs: `$default`.
pub const DEFAULT_STAGE: &str = "$default";

/// Why a request could not be turned into an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Serialising the event failed (not expected: every header and body is made valid first).
    #[error("could not serialise the event: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// API-level settings that shape the event, beyond the request and the route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOptions {
    /// The REST API stage name (`requestContext.stage`); HTTP APIs always use `$default`.
    pub stage: String,
    /// Stage variables (`stageVariables`); `null` when empty, as AWS sends it.
    pub stage_variables: HashMap<String, String>,
    /// REST API `binaryMediaTypes` (`image/png`, `image/*`, `*/*`) of every REST route, on top
    /// of the route's own API's ([`Route::binary_media_types`]): request bodies of these content
    /// types are base64-encoded, and see [`accepts_binary`].
    pub binary_media_types: Vec<String>,
    /// The region in the ALB target group ARN.
    pub region: String,
    /// ALB only: the target group's `lambda.multi_value_headers.enabled` attribute.
    pub alb_multi_value_headers: bool,
}

impl Default for EventOptions {
    /// Stage `Prod` (the stage of SAM's implicit API), no stage variables, no binary media types,
    /// region `us-east-1`, ALB multi-value headers off.
    fn default() -> Self {
        Self {
            stage: "Prod".to_owned(),
            stage_variables: HashMap::new(),
            binary_media_types: Vec::new(),
            region: "us-east-1".to_owned(),
            alb_multi_value_headers: false,
        }
    }
}

/// An event ready to send, with the request id API Gateway gave the request.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedEvent {
    /// The event JSON.
    pub event: Value,
    /// `requestContext.requestId` (HTTP APIs return it as the `apigw-requestid` header).
    pub request_id: String,
    /// The X-Ray trace header of the request (`Root=1-…`): the client's `X-Amzn-Trace-Id`, or
    /// a new one, which the event's headers carry too (as API Gateway and ALBs add it).
    pub trace_id: String,
}

/// Builds the event for `request` from `peer`, routed to `matched`, in the route's format.
pub fn to_event(
    request: &Request<Bytes>,
    peer: SocketAddr,
    matched: &RouteMatch,
    options: &EventOptions,
) -> Result<MappedEvent, EventError> {
    to_event_at(request, peer, matched, options, SystemTime::now())
}

/// [`to_event`] at a given time (tests pin the clock).
pub(crate) fn to_event_at(
    request: &Request<Bytes>,
    peer: SocketAddr,
    matched: &RouteMatch,
    options: &EventOptions,
    now: SystemTime,
) -> Result<MappedEvent, EventError> {
    let parts = Parts::new(request, peer, now);
    match matched.route.format() {
        PayloadFormat::Rest => v1_event(&parts, matched, options, false),
        PayloadFormat::HttpV1 => v1_event(&parts, matched, options, true),
        PayloadFormat::Http => http_event(&parts, matched, options),
        PayloadFormat::FunctionUrl => function_url_event(&parts),
        PayloadFormat::Alb => alb_event(&parts, matched, options),
    }
}

/// What every format takes from the request, computed once.
struct Parts<'a> {
    request: &'a Request<Bytes>,
    /// Header names and values as text (invalid UTF-8 replaced), in arrival order, plus the
    /// `X-Forwarded-*` headers API Gateway adds.
    headers: Vec<(HeaderName, String)>,
    raw_path: String,
    raw_query: String,
    source_ip: String,
    user_agent: Option<String>,
    host: Option<String>,
    protocol: String,
    epoch_ms: i64,
    /// `21/Apr/2020:15:08:21 +0000`.
    clf_time: String,
    trace_id: String,
}

impl<'a> Parts<'a> {
    fn new(request: &'a Request<Bytes>, peer: SocketAddr, now: SystemTime) -> Self {
        let source_ip = peer.ip().to_canonical().to_string();
        let mut headers: Vec<(HeaderName, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        // API Gateway appends the client address to X-Forwarded-For and sets the protocol.
        let xff = HeaderName::from_static("x-forwarded-for");
        let forwarded: Vec<String> = take_all(&mut headers, &xff);
        let xff_value = if forwarded.is_empty() {
            source_ip.clone()
        } else {
            format!("{}, {source_ip}", forwarded.join(", "))
        };
        headers.push((xff, xff_value));
        let first = |headers: &[(HeaderName, String)], name: &HeaderName| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let user_agent = first(&headers, &USER_AGENT);
        let host =
            first(&headers, &HOST).or_else(|| request.uri().authority().map(|a| a.to_string()));
        let proto = HeaderName::from_static("x-forwarded-proto");
        if first(&headers, &proto).is_none() {
            headers.push((proto, "http".to_owned()));
        }
        let port = HeaderName::from_static("x-forwarded-port");
        if first(&headers, &port).is_none()
            && let Some(p) = host.as_deref().and_then(host_port)
        {
            headers.push((port, p.to_owned()));
        }
        let trace = HeaderName::from_static("x-amzn-trace-id");
        let trace_id = match first(&headers, &trace) {
            Some(t) => t,
            None => {
                let t = new_trace_id(now);
                headers.push((trace, t.clone()));
                t
            }
        };
        let protocol = match request.version() {
            Version::HTTP_09 => "HTTP/0.9",
            Version::HTTP_10 => "HTTP/1.0",
            Version::HTTP_2 => "HTTP/2.0",
            Version::HTTP_3 => "HTTP/3.0",
            _ => "HTTP/1.1",
        }
        .to_owned();
        let raw_path = match request.uri().path() {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Self {
            request,
            headers,
            raw_path,
            raw_query: request.uri().query().unwrap_or("").to_owned(),
            source_ip,
            user_agent,
            host,
            protocol,
            epoch_ms: i64::try_from(clock::epoch_ms(now)).unwrap_or(i64::MAX),
            clf_time: clf_time(now),
            trace_id,
        }
    }

    fn body(&self) -> &Bytes {
        self.request.body()
    }

    fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| *k == CONTENT_TYPE)
            .map(|(_, v)| v.as_str())
    }

    /// Distinct header names in first-seen order, each with all its values.
    fn grouped_headers(&self) -> Vec<(&HeaderName, Vec<&str>)> {
        let mut out: Vec<(&HeaderName, Vec<&str>)> = Vec::new();
        let mut index: HashMap<&HeaderName, usize> = HashMap::new();
        for (k, v) in &self.headers {
            match index.get(k).and_then(|&i| out.get_mut(i)) {
                Some((_, values)) => values.push(v),
                None => {
                    index.insert(k, out.len());
                    out.push((k, vec![v]));
                }
            }
        }
        out
    }

    /// `host` without port, and its first label (`domainName`, `domainPrefix`).
    fn domain(&self) -> (String, String) {
        let host = self.host.as_deref().unwrap_or("localhost");
        let name = match host_port(host) {
            Some(port) => &host[..host.len() - port.len() - 1],
            None => host,
        };
        let prefix = name.split('.').next().unwrap_or(name);
        (name.to_owned(), prefix.to_owned())
    }
}

/// The port of a `Host` header value (`example.com:9000`, `[::1]:9000`), if it has one.
fn host_port(host: &str) -> Option<&str> {
    let (h, port) = host.rsplit_once(':')?;
    let bracketed_or_plain = h.ends_with(']') || !h.contains([':', '[', ']']);
    (bracketed_or_plain && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .then_some(port)
}

/// A new X-Ray trace header: `Root=1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>`.
fn new_trace_id(now: SystemTime) -> String {
    let secs = clock::epoch_ms(now) / 1000;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{secs:08x}-{}", random.get(..24).unwrap_or(&random))
}

/// Removes every `name` header from `headers`, returning their values.
fn take_all(headers: &mut Vec<(HeaderName, String)>, name: &HeaderName) -> Vec<String> {
    let mut taken = Vec::new();
    headers.retain(|(k, v)| {
        if k == name {
            taken.push(v.clone());
            false
        } else {
            true
        }
    });
    taken
}

/// `21/Apr/2020:15:08:21 +0000`, the `requestTime`/`time` format.
fn clf_time(now: SystemTime) -> String {
    // `2020-04-21T15:08:21.067Z`
    let iso = clock::rfc3339(now);
    let field = |a: usize, b: usize| iso.get(a..b).unwrap_or("00");
    let month = match field(5, 7) {
        "01" => "Jan",
        "02" => "Feb",
        "03" => "Mar",
        "04" => "Apr",
        "05" => "May",
        "06" => "Jun",
        "07" => "Jul",
        "08" => "Aug",
        "09" => "Sep",
        "10" => "Oct",
        "11" => "Nov",
        _ => "Dec",
    };
    format!(
        "{}/{month}/{}:{} +0000",
        field(8, 10),
        field(0, 4),
        iso.get(11..19).unwrap_or("00:00:00")
    )
}

/// A header map from text pairs (pairs that are not valid header values are dropped).
fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a HeaderName, &'a str)>) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        if let Ok(value) = HeaderValue::from_str(v) {
            map.append(k.clone(), value);
        }
    }
    map
}

/// Query pairs in order; decoded as API Gateway decodes them (`%XX` and `+`), or kept raw (ALB).
fn query_pairs(raw: &str, decode: bool) -> Vec<(String, String)> {
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
fn group_query(pairs: &[(String, String)]) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        map.entry(k.clone()).or_default().push(v.clone());
    }
    map
}

/// The last value of each key (REST `queryStringParameters`, ALB without multi-value headers).
fn last_values(grouped: &HashMap<String, Vec<String>>) -> HashMap<String, String> {
    grouped
        .iter()
        .filter_map(|(k, vs)| vs.last().map(|v| (k.clone(), v.clone())))
        .collect()
}

/// Whether a content type is text to HTTP APIs, function URLs and ALBs: `text/*`,
/// `application/json`, `application/javascript`, `application/xml`.
fn is_text_type(content_type: Option<&str>) -> bool {
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
fn is_binary_media_type<'t>(
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
fn binary_media_types<'a>(
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
fn encode_body(body: &Bytes, binary: bool) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(text) if !binary => (text.to_owned(), false),
        _ => (base64::engine::general_purpose::STANDARD.encode(body), true),
    }
}

/// A REST API request body as the event carries it: base64 only when its content type is one of
/// the `binaryMediaTypes`; otherwise it is text, and bytes that are not UTF-8 are replaced
/// (U+FFFD), as API Gateway passes a payload it does not treat as binary as a UTF-8 string
/// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html>).
fn rest_body(body: &Bytes, binary: bool) -> (String, bool) {
    if binary {
        encode_body(body, true)
    } else {
        (String::from_utf8_lossy(body).into_owned(), false)
    }
}

/// Sets `obj[key]` to `null` when it is an empty object (AWS sends `null` for empty maps).
fn null_if_empty(obj: &mut serde_json::Map<String, Value>, key: &str) {
    if obj
        .get(key)
        .is_some_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty))
    {
        obj.insert(key.to_owned(), Value::Null);
    }
}

/// Removes `obj[key]` when it is `null` or an empty object.
fn drop_if_empty(obj: &mut serde_json::Map<String, Value>, key: &str) {
    if obj
        .get(key)
        .is_some_and(|v| v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty))
    {
        obj.remove(key);
    }
}

/// `x-forwarded-for` → `X-Forwarded-For`.
fn title_case(name: &str) -> String {
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
fn uuid_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An HTTP API request id: 16 characters of URL-safe base64, as in `LV7fzho-PHcEJPw=`.
fn short_request_id() -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..11]);
    id.push('=');
    id
}

/// Payload format 1.0, from a REST API or (`http_api`) an HTTP API.
fn v1_event(
    parts: &Parts<'_>,
    matched: &RouteMatch,
    options: &EventOptions,
    http_api: bool,
) -> Result<MappedEvent, EventError> {
    let method = parts.request.method().clone();
    let grouped = parts.grouped_headers();
    let request_id = if http_api {
        short_request_id()
    } else {
        uuid_request_id()
    };
    let resource = matched.resource();
    let query = group_query(&query_pairs(&parts.raw_query, true));
    let (domain_name, domain_prefix) = parts.domain();
    // HTTP APIs decode the path; REST APIs pass it as sent.
    let path = if http_api {
        percent_decode(&parts.raw_path)
    } else {
        parts.raw_path.clone()
    };
    let stage = if http_api {
        DEFAULT_STAGE.to_owned()
    } else {
        options.stage.clone()
    };

    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some(parts.source_ip.clone());
    identity.user_agent = parts.user_agent.clone();

    let mut ctx = ApiGatewayProxyRequestContext::default();
    ctx.account_id = Some(crate::ACCOUNT_ID.to_owned());
    ctx.resource_id = (!http_api).then(|| "123456".to_owned());
    ctx.domain_name = Some(domain_name);
    ctx.domain_prefix = Some(domain_prefix);
    ctx.request_id = Some(request_id.clone());
    ctx.protocol = Some(parts.protocol.clone());
    ctx.identity = identity;
    ctx.resource_path = Some(resource.clone());
    // The `$context.path` of a stage other than `$default` starts with the stage name.
    ctx.path = Some(if stage == DEFAULT_STAGE {
        path.clone()
    } else {
        format!("/{stage}{path}")
    });
    ctx.stage = Some(stage);
    ctx.http_method = method.clone();
    ctx.request_time = Some(parts.clf_time.clone());
    ctx.request_time_epoch = parts.epoch_ms;
    ctx.apiid = Some(API_ID.to_owned());

    let body = (!parts.body().is_empty()).then(|| {
        if http_api {
            // HTTP APIs base64 every body whose content type is not text, in either format.
            encode_body(parts.body(), !is_text_type(parts.content_type()))
        } else {
            let types = binary_media_types(&matched.route, options);
            rest_body(
                parts.body(),
                is_binary_media_type(parts.content_type(), types),
            )
        }
    });

    let mut ev = ApiGatewayProxyRequest::default();
    ev.resource = Some(resource);
    ev.path = Some(path);
    ev.http_method = method;
    // `headers` holds the last value of a repeated header, `multiValueHeaders` all of them.
    ev.headers = header_map(
        grouped
            .iter()
            .filter_map(|(k, vs)| vs.last().map(|v| (*k, *v))),
    );
    ev.multi_value_headers = header_map(parts.headers.iter().map(|(k, v)| (k, v.as_str())));
    ev.query_string_parameters = QueryMap::from(last_values(&query));
    ev.multi_value_query_string_parameters = QueryMap::from(query);
    ev.path_parameters = matched.path_parameters.clone();
    ev.stage_variables = options.stage_variables.clone();
    ev.request_context = ctx;
    ev.is_base64_encoded = body.as_ref().is_some_and(|(_, b64)| *b64);
    ev.body = body.map(|(text, _)| text);

    let mut json = serde_json::to_value(&ev)?;
    if let Some(obj) = json.as_object_mut() {
        for key in [
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
        ] {
            null_if_empty(obj, key);
        }
        if http_api {
            // HTTP APIs mark the format; their header names are lowercase.
            obj.insert("version".to_owned(), Value::from("1.0"));
        } else {
            // REST APIs pass header names as the client wrote them (HTTP APIs lowercase them).
            // The original case is gone (the `http` crate lowercases names), so this writes
            // them as HTTP/1.1 clients usually do, and as API Gateway adds its own
            // (`X-Forwarded-For`, `X-Amzn-Trace-Id`): in title case.
            for key in ["headers", "multiValueHeaders"] {
                if let Some(Value::Object(map)) = obj.remove(key) {
                    let titled = map.into_iter().map(|(k, v)| (title_case(&k), v)).collect();
                    obj.insert(key.to_owned(), Value::Object(titled));
                }
            }
        }
    }
    Ok(MappedEvent {
        event: json,
        request_id,
        trace_id: parts.trace_id.clone(),
    })
}

/// Headers as HTTP APIs and function URLs send them: repeated values joined with commas; the
/// cookies split into `cookies` (HTTP APIs also drop the `cookie` header, function URLs keep it).
fn joined_headers(parts: &Parts<'_>, keep_cookie: bool) -> (HeaderMap, Option<Vec<String>>) {
    let mut cookies = Vec::new();
    let mut map = HeaderMap::new();
    for (name, values) in parts.grouped_headers() {
        if *name == COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
            if !keep_cookie {
                continue;
            }
        }
        if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
            map.insert(name.clone(), value);
        }
    }
    (map, (!cookies.is_empty()).then_some(cookies))
}

/// The v2 body: absent when empty, base64 unless the content type is text.
fn v2_body(parts: &Parts<'_>) -> (Option<String>, bool) {
    if parts.body().is_empty() {
        return (None, false);
    }
    let (text, b64) = encode_body(parts.body(), !is_text_type(parts.content_type()));
    (Some(text), b64)
}

fn http_event(
    parts: &Parts<'_>,
    matched: &RouteMatch,
    options: &EventOptions,
) -> Result<MappedEvent, EventError> {
    let method = parts.request.method().clone();
    let request_id = short_request_id();
    let (headers, cookies) = joined_headers(parts, false);
    let query = group_query(&query_pairs(&parts.raw_query, true));
    // HTTP APIs hand the function the path already percent-decoded.
    let path = percent_decode(&parts.raw_path);
    let (domain_name, domain_prefix) = parts.domain();
    let (body, is_base64_encoded) = v2_body(parts);

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method;
    http.path = Some(path.clone());
    http.protocol = Some(parts.protocol.clone());
    http.source_ip = Some(parts.source_ip.clone());
    http.user_agent = parts.user_agent.clone();

    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.route_key = Some(matched.route.key().to_owned());
    ctx.account_id = Some(crate::ACCOUNT_ID.to_owned());
    ctx.stage = Some(DEFAULT_STAGE.to_owned());
    ctx.request_id = Some(request_id.clone());
    ctx.apiid = Some(API_ID.to_owned());
    ctx.domain_name = Some(domain_name);
    ctx.domain_prefix = Some(domain_prefix);
    ctx.time = Some(parts.clf_time.clone());
    ctx.time_epoch = parts.epoch_ms;
    ctx.http = http;

    let mut ev = ApiGatewayV2httpRequest::default();
    ev.version = Some("2.0".to_owned());
    ev.route_key = Some(matched.route.key().to_owned());
    ev.raw_path = Some(path);
    ev.raw_query_string = Some(parts.raw_query.clone());
    ev.cookies = cookies;
    ev.headers = headers;
    ev.query_string_parameters = QueryMap::from(
        query
            .into_iter()
            .map(|(k, vs)| (k, vs.join(",")))
            .collect::<HashMap<_, _>>(),
    );
    ev.path_parameters = matched.path_parameters.clone();
    ev.request_context = ctx;
    ev.stage_variables = options.stage_variables.clone();
    ev.body = body;
    ev.is_base64_encoded = is_base64_encoded;

    let mut json = serde_json::to_value(&ev)?;
    if let Some(obj) = json.as_object_mut() {
        // Keys the Rust type shares with custom-authorizer payloads; HTTP API events have none.
        for key in [
            "type",
            "methodArn",
            "httpMethod",
            "identitySource",
            "authorizationToken",
            "resource",
        ] {
            obj.remove(key);
        }
        drop_if_empty(obj, "stageVariables");
    }
    Ok(MappedEvent {
        event: json,
        request_id,
        trace_id: parts.trace_id.clone(),
    })
}

fn function_url_event(parts: &Parts<'_>) -> Result<MappedEvent, EventError> {
    let request_id = uuid_request_id();
    let (headers, cookies) = joined_headers(parts, true);
    let query = group_query(&query_pairs(&parts.raw_query, true));
    let (domain_name, domain_prefix) = parts.domain();
    let (body, is_base64_encoded) = v2_body(parts);

    let mut http = LambdaFunctionUrlRequestContextHttpDescription::default();
    http.method = Some(parts.request.method().as_str().to_owned());
    // Function URLs keep the path as the client sent it.
    http.path = Some(parts.raw_path.clone());
    http.protocol = Some(parts.protocol.clone());
    http.source_ip = Some(parts.source_ip.clone());
    http.user_agent = parts.user_agent.clone();

    let mut ctx = LambdaFunctionUrlRequestContext::default();
    ctx.account_id = Some(crate::ACCOUNT_ID.to_owned());
    ctx.request_id = Some(request_id.clone());
    ctx.apiid = Some(domain_prefix.clone());
    ctx.domain_name = Some(domain_name);
    ctx.domain_prefix = Some(domain_prefix);
    ctx.time = Some(parts.clf_time.clone());
    ctx.time_epoch = parts.epoch_ms;
    ctx.http = http;

    let mut ev = LambdaFunctionUrlRequest::default();
    ev.version = Some("2.0".to_owned());
    ev.raw_path = Some(parts.raw_path.clone());
    ev.raw_query_string = Some(parts.raw_query.clone());
    ev.cookies = cookies;
    ev.headers = headers;
    ev.query_string_parameters = query.into_iter().map(|(k, vs)| (k, vs.join(","))).collect();
    ev.request_context = ctx;
    ev.body = body;
    ev.is_base64_encoded = is_base64_encoded;

    let mut json = serde_json::to_value(&ev)?;
    if let Some(obj) = json.as_object_mut() {
        // Placeholders function URLs send that the Rust type does not model.
        obj.insert("routeKey".to_owned(), Value::from(DEFAULT_STAGE));
        if let Some(ctx) = obj.get_mut("requestContext").and_then(Value::as_object_mut) {
            ctx.insert("routeKey".to_owned(), Value::from(DEFAULT_STAGE));
            ctx.insert("stage".to_owned(), Value::from(DEFAULT_STAGE));
        }
        for key in ["cookies", "queryStringParameters", "body"] {
            drop_if_empty(obj, key);
        }
    }
    Ok(MappedEvent {
        event: json,
        request_id,
        trace_id: parts.trace_id.clone(),
    })
}

fn alb_event(
    parts: &Parts<'_>,
    matched: &RouteMatch,
    options: &EventOptions,
) -> Result<MappedEvent, EventError> {
    let grouped = parts.grouped_headers();
    // ALBs pass query strings through undecoded.
    let query = group_query(&query_pairs(&parts.raw_query, false));
    let multi = options.alb_multi_value_headers;
    let (body, is_base64_encoded) = if parts.body().is_empty() {
        (String::new(), false)
    } else {
        encode_body(parts.body(), !is_text_type(parts.content_type()))
    };

    let mut elb = ElbContext::default();
    elb.target_group_arn = Some(format!(
        "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{}/{}",
        options.region,
        crate::ACCOUNT_ID,
        matched.route.function(),
        "0123456789abcdef"
    ));
    let mut ctx = AlbTargetGroupRequestContext::default();
    ctx.elb = elb;

    let mut ev = AlbTargetGroupRequest::default();
    ev.http_method = parts.request.method().clone();
    ev.path = Some(parts.raw_path.clone());
    ev.headers = header_map(
        grouped
            .iter()
            .filter_map(|(k, vs)| vs.last().map(|v| (*k, *v))),
    );
    ev.multi_value_headers = header_map(parts.headers.iter().map(|(k, v)| (k, v.as_str())));
    ev.query_string_parameters = QueryMap::from(last_values(&query));
    ev.multi_value_query_string_parameters = QueryMap::from(query);
    ev.request_context = ctx;
    ev.is_base64_encoded = is_base64_encoded;
    ev.body = Some(body);

    let mut json = serde_json::to_value(&ev)?;
    if let Some(obj) = json.as_object_mut() {
        // An ALB sends either the single-value or the multi-value fields, never both.
        let unused = if multi {
            ["headers", "queryStringParameters"]
        } else {
            ["multiValueHeaders", "multiValueQueryStringParameters"]
        };
        for key in unused {
            obj.remove(key);
        }
    }
    Ok(MappedEvent {
        event: json,
        request_id: uuid_request_id(),
        trace_id: parts.trace_id.clone(),
    })
}
