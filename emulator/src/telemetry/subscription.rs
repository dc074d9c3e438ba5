//! A subscription request (`PUT /2022-07-01/telemetry` or `PUT /2020-08-15/logs`), read and
//! checked as Lambda checks it.
//!
//! Limits, the same for both APIs: `maxItems` 1,000–10,000 (default 10,000), `maxBytes`
//! 262,144–1,048,576 (default 262,144), `timeoutMs` 25–30,000 (default 1,000), as the Logs API's
//! buffering section
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html#runtimes-logs-api-buffering>)
//! and the Telemetry API's (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html#telemetry-api-buffering>)
//! give them, and AWS's own emulator applies them (its `telemetry-subscription-schema.json` and
//! defaults in aws/aws-lambda-runtime-interface-emulator). The Telemetry API reference page
//! gives a `maxItems` default of 1,000 instead: the emulator follows the two that agree. Lambda sends telemetry only to
//! destinations inside the execution environment (`http://sandbox.localdomain:${PORT}/${PATH}`):
//! here `sandbox.localdomain` is 127.0.0.1, and a destination that is not a loopback address is
//! refused, so the emulator never posts to another host.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

use super::schema::{Api, Stream};

/// The host name Lambda gives the execution environment.
const SANDBOX_HOST: &str = "sandbox.localdomain";

/// A checked subscription.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Subscription {
    pub(crate) api: Api,
    pub(crate) types: Vec<Stream>,
    pub(crate) destination: Destination,
    pub(crate) buffering: Buffering,
}

/// Where batches are posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    /// The loopback address the URI names.
    pub(crate) addr: SocketAddr,
    /// The URI as the extension gave it (its `Host` and path are sent as they are).
    pub(crate) uri: http::Uri,
}

/// When a batch is sent: once it holds `max_items` records or `max_bytes` bytes, or its oldest
/// record waited `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buffering {
    pub(crate) max_items: usize,
    pub(crate) max_bytes: usize,
    pub(crate) timeout: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    schema_version: Option<String>,
    destination: Option<DestinationRequest>,
    types: Option<Vec<String>>,
    buffering: Option<BufferingRequest>,
}

#[derive(Debug, Deserialize)]
struct DestinationRequest {
    protocol: Option<String>,
    #[serde(rename = "URI")]
    uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BufferingRequest {
    max_items: Option<i64>,
    max_bytes: Option<i64>,
    timeout_ms: Option<i64>,
}

/// The Telemetry API's schema versions
/// (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api-reference.html>).
const TELEMETRY_SCHEMAS: [&str; 3] = ["2022-07-01", "2022-12-13", "2025-01-29"];

/// Reads a subscription request to `api`'s endpoint (`Api::Logs`'s `runtime_done` is decided by
/// the body's schema version). The error is the message of Lambda's `ValidationError`.
pub(crate) fn parse(api: Api, body: &[u8]) -> Result<Subscription, String> {
    let request: Request =
        serde_json::from_slice(body).map_err(|e| format!("Invalid request body: {e}"))?;
    let api = match api {
        Api::Telemetry => {
            let version = request
                .schema_version
                .ok_or("schemaVersion is not provided")?;
            if !TELEMETRY_SCHEMAS.contains(&version.as_str()) {
                return Err(format!(
                    "schemaVersion {version:?} is not supported: use one of {TELEMETRY_SCHEMAS:?}"
                ));
            }
            Api::Telemetry
        }
        // The Logs API's schema version is optional.
        Api::Logs { .. } => match request.schema_version.as_deref() {
            None | Some("2020-08-15") => Api::Logs {
                runtime_done: false,
            },
            Some("2021-03-18") => Api::Logs { runtime_done: true },
            Some(other) => {
                return Err(format!(
                    "schemaVersion {other:?} is not supported: use \"2020-08-15\" or \"2021-03-18\""
                ));
            }
        },
    };
    let types = request.types.unwrap_or_default();
    if types.is_empty() {
        return Err("types should not be empty".to_owned());
    }
    let mut streams = Vec::new();
    for name in &types {
        let stream = Stream::parse(name).ok_or_else(|| {
            format!("type {name:?} is not valid: use \"platform\", \"function\" or \"extension\"")
        })?;
        if !streams.contains(&stream) {
            streams.push(stream);
        }
    }
    let destination = request.destination.ok_or("destination is not provided")?;
    match destination.protocol.as_deref() {
        Some("HTTP") => {}
        Some("TCP") => {
            return Err("protocol TCP is not supported by the emulator: use HTTP".to_owned());
        }
        Some(other) => return Err(format!("protocol {other:?} is not valid: use \"HTTP\"")),
        None => return Err("destination protocol is not provided".to_owned()),
    }
    let uri = destination.uri.ok_or("destination URI is not provided")?;
    let destination = parse_destination(&uri)?;
    let buffering = parse_buffering(request.buffering.unwrap_or_default())?;
    Ok(Subscription {
        api,
        types: streams,
        destination,
        buffering,
    })
}

fn parse_destination(text: &str) -> Result<Destination, String> {
    let uri: http::Uri = text
        .parse()
        .map_err(|e| format!("URI {text:?} is not valid: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "URI {text:?} is not valid: only http:// is supported"
        ));
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("URI {text:?} has no host"))?;
    let port = uri.port_u16().ok_or("URI port is not provided")?;
    let ip = if host.eq_ignore_ascii_case(SANDBOX_HOST) || host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| outside(text))?
    };
    if !ip.is_loopback() {
        return Err(outside(text));
    }
    Ok(Destination {
        addr: SocketAddr::new(ip, port),
        uri,
    })
}

fn outside(uri: &str) -> String {
    format!(
        "URI {uri:?} is outside the execution environment: use http://{SANDBOX_HOST}:PORT or a loopback address"
    )
}

fn parse_buffering(request: BufferingRequest) -> Result<Buffering, String> {
    let field = |name: &str, value: Option<i64>, default: i64, min: i64, max: i64| {
        let value = value.unwrap_or(default);
        if (min..=max).contains(&value) {
            Ok(u64::try_from(value).unwrap_or_default())
        } else {
            Err(format!(
                "buffering.{name} is {value}: it must be between {min} and {max}"
            ))
        }
    };
    let max_items = field("maxItems", request.max_items, 10_000, 1_000, 10_000)?;
    let max_bytes = field("maxBytes", request.max_bytes, 262_144, 262_144, 1_048_576)?;
    let timeout_ms = field("timeoutMs", request.timeout_ms, 1_000, 25, 30_000)?;
    Ok(Buffering {
        max_items: usize::try_from(max_items).unwrap_or(usize::MAX),
        max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
        timeout: Duration::from_millis(timeout_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telemetry(body: &str) -> Result<Subscription, String> {
        parse(Api::Telemetry, body.as_bytes())
    }

    #[test]
    fn a_full_request_and_defaults() {
        let sub = telemetry(
            r#"{"schemaVersion":"2022-12-13","types":["platform","function","platform"],
               "buffering":{"maxItems":1000,"maxBytes":262144,"timeoutMs":25},
               "destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:8080/logs"}}"#,
        )
        .unwrap();
        assert_eq!(sub.types, [Stream::Platform, Stream::Function]);
        assert_eq!(sub.destination.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(sub.destination.uri.path(), "/logs");
        assert_eq!(sub.buffering.timeout, Duration::from_millis(25));

        let sub = telemetry(
            r#"{"schemaVersion":"2022-07-01","types":["extension"],
               "destination":{"protocol":"HTTP","URI":"http://127.0.0.1:9"}}"#,
        )
        .unwrap();
        let defaults = Buffering {
            max_items: 10_000,
            max_bytes: 262_144,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(sub.buffering, defaults);
        let logs = parse(
            Api::Logs {
                runtime_done: false,
            },
            br#"{"types":["function"],"destination":{"protocol":"HTTP","URI":"http://[::1]:9"}}"#,
        )
        .unwrap();
        assert_eq!(
            logs.api,
            Api::Logs {
                runtime_done: false
            }
        );
        assert_eq!(logs.buffering.max_items, 10_000);
    }

    #[test]
    fn bad_requests_say_why() {
        let with = |types: &str, uri: &str, buffering: &str| {
            telemetry(&format!(
                r#"{{"schemaVersion":"2022-12-13","types":{types},"buffering":{buffering},
                    "destination":{{"protocol":"HTTP","URI":"{uri}"}}}}"#
            ))
            .unwrap_err()
        };
        let uri = "http://sandbox.localdomain:8080";
        assert_eq!(with("[]", uri, "{}"), "types should not be empty");
        assert!(with(r#"["logs"]"#, uri, "{}").contains(r#""logs" is not valid"#));
        assert_eq!(
            with(r#"["platform"]"#, "http://sandbox.localdomain", "{}"),
            "URI port is not provided"
        );
        for elsewhere in [
            "http://example.com:80",
            "http://10.0.0.1:80",
            "https://127.0.0.1:8",
        ] {
            assert!(
                with(r#"["platform"]"#, elsewhere, "{}").contains("is not valid")
                    || with(r#"["platform"]"#, elsewhere, "{}").contains("outside")
            );
        }
        assert_eq!(
            with(r#"["platform"]"#, uri, r#"{"maxItems":999}"#),
            "buffering.maxItems is 999: it must be between 1000 and 10000"
        );
        assert!(with(r#"["platform"]"#, uri, r#"{"maxBytes":2000000}"#).contains("maxBytes"));
        assert!(with(r#"["platform"]"#, uri, r#"{"timeoutMs":24}"#).contains("timeoutMs"));
        assert!(
            telemetry("{")
                .unwrap_err()
                .starts_with("Invalid request body")
        );
        assert!(
            telemetry(r#"{"types":["platform"],"destination":{"protocol":"HTTP","URI":"x"}}"#)
                .unwrap_err()
                .contains("schemaVersion")
        );
    }
}
