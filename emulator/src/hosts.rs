//! The `Host` allow-list every listener applies (the front, function URLs, each instance's
//! Runtime API, the SDK's local mode), a guard against DNS rebinding; and the Runtime API
//! listeners' middleware, which applies it with loopback names only.
//!
//! A page of `evil.example` that re-resolves its own name to 127.0.0.1 calls the emulator as a
//! same-origin server; its requests carry `Host: evil.example[:port]`. So a listener answers only
//! `localhost`, `*.localhost`, `127.0.0.1`, `[::1]`, the address the front listens on, and names
//! the user adds (`--allow-host`, `LAMBKIN_ALLOW_HOSTS`, `[workspace.metadata.lambkin]
//! allow-hosts`). Any port is fine: the port is not what a rebinding attack changes. A request
//! without a `Host` (HTTP/1.0) passes: browsers always send one, and a client that is not a
//! browser could send any `Host` it likes, so refusing those would protect nothing.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{RwLock, RwLockReadGuard};

use axum::extract::Request;
use axum::http::uri::Authority;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Error;
use crate::sync::{read, write};

/// Why a Runtime API listener refuses a `Host`.
const RUNTIME_HOSTS: &str =
    "the Runtime API answers only loopback names (localhost, 127.0.0.1, [::1])";

/// The host names a listener answers to, and the front's own address (for self-links).
#[derive(Debug, Default)]
pub(crate) struct HostPolicy {
    state: RwLock<Allowed>,
}

/// What a [`HostPolicy`] allows at one moment.
#[derive(Debug, Default, Clone)]
pub(crate) struct Allowed {
    /// Where the front listens.
    listen: Option<SocketAddr>,
    /// Names the user added.
    extra: Vec<Pattern>,
}

/// A host name or address a request may name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// A DNS name, lower-case, without a trailing dot.
    Name(String),
    /// An IP address (IPv4-mapped IPv6 addresses as IPv4).
    Ip(IpAddr),
}

/// A host the user allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// Exactly this host.
    Exact(Host),
    /// `*.example.test`: any name ending in `.example.test` (stored with the leading dot).
    Subdomains(String),
}

impl HostPolicy {
    /// What is allowed now.
    pub(crate) fn allowed(&self) -> RwLockReadGuard<'_, Allowed> {
        read(&self.state)
    }

    /// Records where the front listens: its address is allowed, and self-links point at it.
    pub(crate) fn set_listen(&self, addr: SocketAddr) {
        write(&self.state).listen = Some(addr);
    }

    /// The IP address the front listens on; loopback before it listens.
    #[cfg(feature = "manage")]
    pub(crate) fn listen_ip(&self) -> IpAddr {
        self.allowed()
            .listen
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |addr| addr.ip())
    }

    /// Allows `name`: a host name, `*.` and a domain, or an IP address (IPv6 with or without
    /// brackets); no scheme, no port.
    pub(crate) fn allow(&self, name: &str) -> Result<(), Error> {
        let pattern = Pattern::parse(name).ok_or_else(|| Error::InvalidHost(name.to_owned()))?;
        let mut state = write(&self.state);
        if !state.extra.contains(&pattern) {
            state.extra.push(pattern);
        }
        Ok(())
    }

    /// The front's base URL (`http://127.0.0.1:9000`) for links the emulator hands out, never
    /// built from a request's `Host`; `None` before the front listens. An unspecified listen
    /// address (`0.0.0.0`) is given as loopback.
    #[cfg(feature = "manage")]
    pub(crate) fn base_url(&self) -> Option<String> {
        let mut addr = self.allowed().listen?;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Some(format!("http://{addr}"))
    }
}

impl Allowed {
    /// Loopback names only: what a Runtime API listener answers to.
    const LOOPBACK: Allowed = Allowed {
        listen: None,
        extra: Vec::new(),
    };

    /// Whether a request may name `authority` (`host[:port]`) as its host.
    pub(crate) fn permits_authority(&self, authority: &str) -> bool {
        Host::parse_authority(authority).is_some_and(|host| self.permits(&host))
    }

    fn permits(&self, host: &Host) -> bool {
        let loopback = match host {
            Host::Name(name) => name == "localhost" || name.ends_with(".localhost"),
            Host::Ip(ip) => *ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || *ip == Ipv6Addr::LOCALHOST,
        };
        loopback
            || self
                .listen
                .is_some_and(|addr| *host == Host::Ip(addr.ip().to_canonical()))
            || self.extra.iter().any(|pattern| pattern.matches(host))
    }

    /// The first host `request` names (its `Host`s and the authority of an absolute-form
    /// target) that is not allowed.
    pub(crate) fn refused_host(&self, request: &Request) -> Option<String> {
        self.refused_prefixed_host(request, "")
    }

    /// [`Allowed::refused_host`], where an allowed host may also be named with `prefix` in
    /// front of it (the `sync-` host prefix AWS's SDKs put before the endpoint's host for
    /// Step Functions' StartSyncExecution).
    pub(crate) fn refused_prefixed_host(&self, request: &Request, prefix: &str) -> Option<String> {
        request
            .headers()
            .get_all(header::HOST)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .chain(request.uri().authority().map(ToString::to_string))
            .find(|host| {
                let unprefixed = (!prefix.is_empty())
                    .then(|| host.strip_prefix(prefix))
                    .flatten();
                !(self.permits_authority(host)
                    || unprefixed.is_some_and(|h| self.permits_authority(h)))
            })
    }
}

impl Host {
    /// The host of an authority (`host[:port]`, `[v6]:port`); `None` if it is not one.
    fn parse_authority(text: &str) -> Option<Host> {
        if text.contains('@') {
            return None;
        }
        let authority: Authority = text.parse().ok()?;
        Host::parse(authority.host())
    }

    /// A bare host: a name, an IPv4 address or a bracketed IPv6 address.
    fn parse(host: &str) -> Option<Host> {
        if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let ip: Ipv6Addr = v6.parse().ok()?;
            return Some(Host::Ip(IpAddr::V6(ip).to_canonical()));
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Some(Host::Ip(IpAddr::V4(ip)));
        }
        let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        valid.then_some(Host::Name(name))
    }
}

impl Pattern {
    /// A name the user allows: `name`, `*.domain`, an IP address, `[v6]` or a bare IPv6 address.
    fn parse(text: &str) -> Option<Pattern> {
        let text = text.trim();
        if let Ok(ip) = text.parse::<Ipv6Addr>() {
            return Some(Pattern::Exact(Host::Ip(IpAddr::V6(ip).to_canonical())));
        }
        if let Some(domain) = text.strip_prefix("*.") {
            return match Host::parse(domain)? {
                Host::Name(name) => Some(Pattern::Subdomains(format!(".{name}"))),
                Host::Ip(_) => None,
            };
        }
        Host::parse(text).map(Pattern::Exact)
    }

    fn matches(&self, host: &Host) -> bool {
        match (self, host) {
            (Pattern::Exact(allowed), host) => allowed == host,
            (Pattern::Subdomains(suffix), Host::Name(name)) => name.ends_with(suffix.as_str()),
            (Pattern::Subdomains(_), Host::Ip(_)) => false,
        }
    }
}

/// Logs a refused request and why.
pub(crate) fn log_refusal(request: &Request, message: &str) {
    tracing::warn!(
        path = request.uri().path(),
        host = ?request.headers().get(header::HOST),
        origin = ?request.headers().get(header::ORIGIN),
        "refused request: {message}"
    );
}

/// A Runtime API listener's guard: loopback names only (the runtime is told `127.0.0.1:port`).
/// A refusal has the Runtime API's `{"errorType", "errorMessage"}` shape.
pub(crate) async fn runtime_api_guard(request: Request, next: Next) -> Response {
    let Some(host) = Allowed::LOOPBACK.refused_host(&request) else {
        return next.run(request).await;
    };
    let message = format!("Host {host:?} is not allowed: {RUNTIME_HOSTS}");
    log_refusal(&request, &message);
    let body = json!({ "errorType": "Forbidden", "errorMessage": message });
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// A policy listening on `listen` that also allows `extra`.
#[cfg(test)]
pub(crate) fn test_policy(listen: &str, extra: &[&str]) -> HostPolicy {
    let policy = HostPolicy::default();
    policy.set_listen(listen.parse().unwrap());
    for name in extra {
        policy.allow(name).unwrap();
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_the_listen_address_are_allowed_on_any_port() {
        let policy = test_policy("192.168.1.5:9000", &[]);
        for host in [
            "localhost",
            "localhost:9000",
            "LocalHost.:1",
            "app.localhost:3000",
            "127.0.0.1:9000",
            "[::1]:9000",
            "[::ffff:127.0.0.1]:80",
            "192.168.1.5",
            "192.168.1.5:1234",
        ] {
            assert!(policy.allowed().permits_authority(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:9000",
            "localhost.evil.example",
            "127.0.0.2:9000",
            "[::2]",
            "user@localhost",
            "",
            "local host",
            "10.0.0.1",
        ] {
            assert!(!policy.allowed().permits_authority(host), "{host}");
        }
    }

    #[test]
    fn a_prefix_is_allowed_only_where_asked_for() {
        let policy = test_policy("127.0.0.1:9000", &[]);
        let request = |host: &str| {
            Request::builder()
                .header(header::HOST, host)
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let allowed = policy.allowed();
        for host in [
            "sync-127.0.0.1:9000",
            "sync-localhost:9000",
            "127.0.0.1:9000",
        ] {
            assert_eq!(allowed.refused_prefixed_host(&request(host), "sync-"), None);
        }
        assert!(
            allowed
                .refused_host(&request("sync-127.0.0.1:9000"))
                .is_some()
        );
        for host in ["sync-evil.example", "evil.example", "xsync-localhost"] {
            assert!(
                allowed
                    .refused_prefixed_host(&request(host), "sync-")
                    .is_some(),
                "{host}"
            );
        }
    }

    #[test]
    fn added_names_and_wildcards_are_allowed() {
        let policy = test_policy(
            "127.0.0.1:9000",
            &[
                "Dev.Example.test",
                "*.apps.test",
                "10.0.0.7",
                "fd00::1",
                "[fd00::2]",
            ],
        );
        for host in [
            "dev.example.test:9000",
            "a.apps.test",
            "a.b.apps.test:1",
            "10.0.0.7:9000",
            "[fd00::1]:9000",
            "[fd00::2]",
        ] {
            assert!(policy.allowed().permits_authority(host), "{host}");
        }
        for host in ["example.test", "apps.test", "xapps.test", "10.0.0.8"] {
            assert!(!policy.allowed().permits_authority(host), "{host}");
        }
        for bad in [
            "http://a.test",
            "a.test:9000",
            "a/b",
            "",
            "*.",
            "*.10.0.0.1",
            "a b",
        ] {
            assert!(HostPolicy::default().allow(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "manage")]
    #[test]
    fn self_links_use_the_listen_address() {
        assert_eq!(HostPolicy::default().base_url(), None);
        assert_eq!(
            test_policy("0.0.0.0:9000", &[]).base_url().as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            test_policy("[::1]:80", &[]).base_url().as_deref(),
            Some("http://[::1]:80")
        );
    }
}
