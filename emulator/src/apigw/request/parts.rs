//! What every event format takes from the request, computed once: headers as text with the
//! `X-Forwarded-*` and trace headers API Gateway adds, the peer, the time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderName, Request, Version};

use crate::clock;

/// What every format takes from the request, computed once.
pub(super) struct Parts<'a> {
    pub(super) request: &'a Request<Bytes>,
    /// Header names and values as text (invalid UTF-8 replaced), in arrival order, plus the
    /// `X-Forwarded-*` headers API Gateway adds.
    pub(super) headers: Vec<(HeaderName, String)>,
    pub(super) raw_path: String,
    pub(super) raw_query: String,
    pub(super) source_ip: String,
    pub(super) user_agent: Option<String>,
    pub(super) host: Option<String>,
    pub(super) protocol: String,
    pub(super) epoch_ms: i64,
    /// `21/Apr/2020:15:08:21 +0000`.
    pub(super) clf_time: String,
    pub(super) trace_id: String,
}

impl<'a> Parts<'a> {
    pub(super) fn new(request: &'a Request<Bytes>, peer: SocketAddr, now: SystemTime) -> Self {
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
                let t = crate::ids::trace_root(now);
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

    pub(super) fn body(&self) -> &Bytes {
        self.request.body()
    }

    pub(super) fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| *k == CONTENT_TYPE)
            .map(|(_, v)| v.as_str())
    }

    /// Distinct header names in first-seen order, each with all its values.
    pub(super) fn grouped_headers(&self) -> Vec<(&HeaderName, Vec<&str>)> {
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
    pub(super) fn domain(&self) -> (String, String) {
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
pub(crate) fn clf_time(now: SystemTime) -> String {
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
