//! Who may talk to the emulator: a `Host` allow-list on every listener, cross-site refusal on
//! the APIs no web page has business calling, and a SigV4-shaped `Authorization` on the
//! management API.
//!
//! The emulator listens on loopback, but a browser on the same machine can still reach it on
//! behalf of any web page:
//! * **DNS rebinding**: a page of `evil.example` re-resolves its own name to 127.0.0.1 and calls
//!   the emulator as a same-origin server, reading every answer. Its requests carry
//!   `Host: evil.example[:port]`, so every listener (the front, function URLs, each instance's
//!   Runtime API, the SDK's local mode) answers only `localhost`, `*.localhost`, `127.0.0.1`,
//!   `[::1]`, the address it listens on, and names the user adds (`--allow-host`,
//!   `LAMBKIN_ALLOW_HOSTS`, `[workspace.metadata.lambkin] allow-hosts`); anything else gets 403.
//!   Any port is fine: the port is not what a rebinding attack changes. A request without a
//!   `Host` (HTTP/1.0) passes: browsers always send one, and a client that is not a browser
//!   could send any `Host` it likes, so refusing those would protect nothing.
//! * **Cross-site simple requests**: a `no-cors` fetch or an auto-submitted
//!   `enctype=text/plain` form sends a POST without a preflight and without the page needing to
//!   read the answer (CreateFunction, then Invoke). The Invoke API, the management API and
//!   `/_lambkin` (status page, code downloads) refuse requests whose `Sec-Fetch-Site` is
//!   `cross-site` or `same-site`, or whose `Origin` is present and not an allowed host
//!   (`Origin: null` included). `same-origin` and `none` (typed URLs, bookmarks) pass, and so
//!   does every client that is not a browser: they send neither header. The API Gateway front
//!   and function URLs are the user's own web API, which browsers may call from anywhere: only
//!   the `Host` check applies there.
//! * The **management API** also requires an `Authorization` header in the form AWS Signature
//!   Version 4 gives it: the AWS CLI and SDKs always sign (any credentials do; the emulator
//!   checks the form, not the keys), and a simple cross-site request cannot set the header.
//!   Query-string signatures (presigned URLs) are not accepted: a form's action URL could
//!   carry one.
//!
//! Refusals are answered in the shape of the surface that refuses: AWS's error shape on Lambda
//! API paths and `/_lambkin`, API Gateway's `{"message": …}` on the gateway front and function
//! URLs, the Runtime API's `{"errorType", "errorMessage"}` on Runtime API listeners.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{PoisonError, RwLock};

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::Error;
use crate::invoke::{AppState, AwsError, LAMBDA_API_PREFIXES};

/// What to tell users who need another host name.
const HOW_TO_ALLOW: &str =
    "start lambkin with `--allow-host NAME` (or set LAMBKIN_ALLOW_HOSTS=NAME,...)";

/// The service a management API request must be signed for.
const SIGNING_SERVICE: &str = "lambda";

/// The host names a listener answers to, and the front's own address (for self-links).
#[derive(Debug, Default)]
pub(crate) struct HostPolicy {
    state: RwLock<Allowed>,
}

#[derive(Debug, Default, Clone)]
struct Allowed {
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
    fn allowed(&self) -> std::sync::RwLockReadGuard<'_, Allowed> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records where the front listens: its address is allowed, and self-links point at it.
    pub(crate) fn set_listen(&self, addr: SocketAddr) {
        self.state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .listen = Some(addr);
    }

    /// Allows `name`: a host name, `*.` and a domain, or an IP address (IPv6 with or without
    /// brackets); no scheme, no port.
    pub(crate) fn allow(&self, name: &str) -> Result<(), Error> {
        let pattern = Pattern::parse(name).ok_or_else(|| Error::InvalidHost(name.to_owned()))?;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
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
    fn permits_authority(&self, authority: &str) -> bool {
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

/// A refused request: the AWS error type and why.
#[derive(Debug)]
struct Refusal {
    error_type: &'static str,
    message: String,
}

impl Refusal {
    fn new(error_type: &'static str, message: String) -> Refusal {
        Refusal {
            error_type,
            message,
        }
    }

    /// Logs the refusal and answers it in the shape of `surface`.
    fn answer(self, surface: Surface, request: &Request) -> Response {
        tracing::warn!(
            path = request.uri().path(),
            host = ?request.headers().get(header::HOST),
            origin = ?request.headers().get(header::ORIGIN),
            "refused request: {}",
            self.message
        );
        match surface {
            Surface::Invoke | Surface::Manage | Surface::Lambkin => {
                AwsError::new(StatusCode::FORBIDDEN, self.error_type, self.message).into_response()
            }
            Surface::Gateway => {
                let mut response =
                    crate::apigw::response::message(StatusCode::FORBIDDEN, &self.message)
                        .map(axum::body::Body::from)
                        .into_response();
                response.headers_mut().insert(
                    HeaderName::from_static("x-amzn-errortype"),
                    HeaderValue::from_static("ForbiddenException"),
                );
                response
            }
            Surface::RuntimeApi => {
                let body = json!({ "errorType": "Forbidden", "errorMessage": self.message });
                (
                    StatusCode::FORBIDDEN,
                    [(header::CONTENT_TYPE, "application/json")],
                    body.to_string(),
                )
                    .into_response()
            }
        }
    }
}

/// What a request is for, which decides the checks it gets and the shape of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// The API Gateway front or a function URL: the user's own web API.
    Gateway,
    /// `POST /2015-03-31/functions/{name}/invocations`.
    Invoke,
    /// Every other Lambda API path: the management API (and unknown operations).
    Manage,
    /// `/_lambkin` and below: the status page and the code downloads.
    Lambkin,
    /// An instance's Runtime API.
    RuntimeApi,
}

impl Surface {
    /// The surface of a path on the front.
    fn of_front(path: &str) -> Surface {
        if path == "/_lambkin" || path.starts_with("/_lambkin/") {
            return Surface::Lambkin;
        }
        let invoked = path
            .strip_prefix("/2015-03-31/functions/")
            .and_then(|rest| rest.strip_suffix("/invocations"))
            .is_some_and(|name| !name.is_empty() && !name.contains('/'));
        if invoked {
            Surface::Invoke
        } else if LAMBDA_API_PREFIXES.iter().any(|p| path.starts_with(p)) {
            Surface::Manage
        } else {
            Surface::Gateway
        }
    }
}

/// Why the front and function URLs refuse a `Host`, and what to do.
const FRONT_HOSTS: &str = "the emulator answers only localhost, *.localhost, 127.0.0.1, [::1], the address it listens on and the names you allow (a guard against DNS rebinding)";

/// Why a Runtime API listener refuses a `Host`.
const RUNTIME_HOSTS: &str =
    "the Runtime API answers only loopback names (localhost, 127.0.0.1, [::1])";

/// The request's `Host` (and the authority of an absolute-form target) must be allowed on the
/// listener of `surface`.
fn check_host(allowed: &Allowed, request: &Request, surface: Surface) -> Result<(), Refusal> {
    let named = request
        .headers()
        .get_all(header::HOST)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .chain(request.uri().authority().map(ToString::to_string));
    for host in named {
        if !allowed.permits_authority(&host) {
            return Err(Refusal::new(
                "AccessDeniedException",
                match surface {
                    Surface::RuntimeApi => format!("Host {host:?} is not allowed: {RUNTIME_HOSTS}"),
                    _ => format!(
                        "Host {host:?} is not allowed: {FRONT_HOSTS}; to reach it under this name, {HOW_TO_ALLOW}"
                    ),
                },
            ));
        }
    }
    Ok(())
}

/// A browser request from another site (or an origin that is not an allowed host) is refused.
fn check_same_origin(allowed: &Allowed, headers: &HeaderMap) -> Result<(), Refusal> {
    const WHY: &str = "browsers may call the Invoke API, the management API and /_lambkin only from pages of this emulator (web pages call functions through API Gateway routes or function URLs; curl, the AWS CLI and SDKs send no such header)";
    for site in headers.get_all("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            let site = String::from_utf8_lossy(site.as_bytes());
            return Err(Refusal::new(
                "AccessDeniedException",
                format!("Cross-site request refused (Sec-Fetch-Site: {site}): {WHY}"),
            ));
        }
    }
    for origin in headers.get_all(header::ORIGIN) {
        let text = String::from_utf8_lossy(origin.as_bytes());
        let host = origin_authority(&text);
        if !host.is_some_and(|host| allowed.permits_authority(host)) {
            let allow = match host {
                Some(host) => format!("; if {host} is yours, {HOW_TO_ALLOW}"),
                None => String::new(),
            };
            return Err(Refusal::new(
                "AccessDeniedException",
                format!("Cross-origin request refused (Origin: {text}): {WHY}{allow}"),
            ));
        }
    }
    Ok(())
}

/// The authority of an `Origin` (`http://host:port`); `None` for `null` or anything else.
fn origin_authority(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains(['/', '?', '#'])).then_some(rest)
}

/// The management API takes requests signed with AWS Signature Version 4 (the form only).
///
/// The errors are AWS's: an unsigned request gets 403 `MissingAuthenticationTokenException`
/// ("Missing Authentication Token"), what AWS's endpoints answer one (see
/// <https://repost.aws/knowledge-center/api-gateway-authentication-token-errors>); a malformed
/// signature gets 403 `IncompleteSignatureException`, Lambda's "IncompleteSignature: the request
/// signature does not conform to AWS standards"
/// (<https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html>).
fn check_signature(headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        // What AWS answers an unsigned request.
        return Err(Refusal::new(
            "MissingAuthenticationTokenException",
            "Missing Authentication Token: the management API takes requests signed with AWS Signature Version 4, as the AWS CLI and SDKs send them (any credentials will do, e.g. AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x)".to_owned(),
        ));
    };
    sigv4_problem(value.to_str().unwrap_or_default()).map_or(Ok(()), |problem| {
        Err(Refusal::new(
            "IncompleteSignatureException",
            format!("{problem} (expected `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/{SIGNING_SERVICE}/aws4_request, SignedHeaders=..., Signature=...`)"),
        ))
    })
}

/// What is wrong with an `Authorization` value as a SigV4 header, if anything.
///
/// The form is AWS's: <https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html>
/// (`AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/iam/aws4_request,
/// SignedHeaders=content-type;host;x-amz-date, Signature=<64 hex digits>`).
fn sigv4_problem(value: &str) -> Option<String> {
    let Some(parameters) = value.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Some("Authorization header requires the AWS4-HMAC-SHA256 algorithm".to_owned());
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for parameter in parameters.split(',') {
        match parameter.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {
                return Some(format!(
                    "Authorization header has a malformed parameter {:?}",
                    parameter.trim()
                ));
            }
        }
    }
    let missing: Vec<&str> = [
        ("Credential", credential.is_none()),
        ("SignedHeaders", signed_headers.is_none()),
        ("Signature", signature.is_none()),
    ]
    .iter()
    .filter(|(_, absent)| *absent)
    .map(|(name, _)| *name)
    .collect();
    if !missing.is_empty() {
        return Some(format!(
            "Authorization header requires {}",
            missing.join(", ")
        ));
    }
    let scope: Vec<&str> = credential.unwrap_or_default().split('/').collect();
    let scope_ok = matches!(
        scope.as_slice(),
        [key, date, region, _, "aws4_request"]
            if !key.is_empty()
                && date.len() == 8
                && date.bytes().all(|b| b.is_ascii_digit())
                && !region.is_empty()
    );
    if !scope_ok {
        return Some("Credential must be KEY/YYYYMMDD/REGION/SERVICE/aws4_request".to_owned());
    }
    if scope[3] != SIGNING_SERVICE {
        return Some(format!(
            "Credential should be scoped to correct service: '{SIGNING_SERVICE}'"
        ));
    }
    let headers_ok = signed_headers.unwrap_or_default().split(';').all(|name| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if !headers_ok {
        return Some("SignedHeaders must be lower-case header names separated by ';'".to_owned());
    }
    let signature = signature.unwrap_or_default();
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some("Signature must be 64 hexadecimal digits".to_owned());
    }
    None
}

/// The front's guard: the `Host` on every path; on the Invoke API, the management API and
/// `/_lambkin`, no cross-site browser request; on the management API, a SigV4 `Authorization`.
pub(crate) async fn front(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let surface = Surface::of_front(request.uri().path());
    let checked = {
        let allowed = state.hosts().allowed();
        check_host(&allowed, &request, surface).and_then(|()| match surface {
            Surface::Gateway | Surface::RuntimeApi => Ok(()),
            Surface::Invoke | Surface::Lambkin => check_same_origin(&allowed, request.headers()),
            Surface::Manage => check_same_origin(&allowed, request.headers())
                .and_then(|()| check_signature(request.headers())),
        })
    };
    match checked {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.answer(surface, &request),
    }
}

/// A function URL's guard: the `Host` only (browsers may call it from anywhere).
pub(crate) async fn function_url(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let checked = check_host(&state.hosts().allowed(), &request, Surface::Gateway);
    match checked {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.answer(Surface::Gateway, &request),
    }
}

/// A Runtime API listener's guard: loopback names only (the runtime is told `127.0.0.1:port`).
pub(crate) async fn runtime_api(request: Request, next: Next) -> Response {
    match check_host(&Allowed::LOOPBACK, &request, Surface::RuntimeApi) {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.answer(Surface::RuntimeApi, &request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(listen: &str, extra: &[&str]) -> HostPolicy {
        let policy = HostPolicy::default();
        policy.set_listen(listen.parse().unwrap());
        for name in extra {
            policy.allow(name).unwrap();
        }
        policy
    }

    #[test]
    fn loopback_names_and_the_listen_address_are_allowed_on_any_port() {
        let policy = policy("192.168.1.5:9000", &[]);
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
    fn added_names_and_wildcards_are_allowed() {
        let policy = policy(
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
            policy("0.0.0.0:9000", &[]).base_url().as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            policy("[::1]:80", &[]).base_url().as_deref(),
            Some("http://[::1]:80")
        );
    }

    #[test]
    fn paths_are_sorted_by_surface() {
        let cases = [
            ("/2015-03-31/functions/f/invocations", Surface::Invoke),
            (
                "/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations",
                Surface::Invoke,
            ),
            ("/2015-03-31/functions", Surface::Manage),
            ("/2015-03-31/functions/f/configuration", Surface::Manage),
            ("/2015-03-31/functions//invocations", Surface::Manage),
            ("/2021-10-31/functions/f/url", Surface::Manage),
            ("/_lambkin", Surface::Lambkin),
            ("/_lambkin/code/f/x", Surface::Lambkin),
            ("/_lambkinx", Surface::Gateway),
            ("/users/1", Surface::Gateway),
        ];
        for (path, surface) in cases {
            assert_eq!(Surface::of_front(path), surface, "{path}");
        }
    }

    #[test]
    fn cross_site_browser_requests_are_refused() {
        let policy = policy("127.0.0.1:9000", &["app.test"]);
        let check = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.append(*name, HeaderValue::from_static(value));
            }
            check_same_origin(&policy.allowed(), &headers).map_err(|r| r.message)
        };
        assert!(check(&[]).is_ok());
        assert!(
            check(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://localhost:9000")
            ])
            .is_ok()
        );
        assert!(check(&[("sec-fetch-site", "none")]).is_ok());
        assert!(check(&[("origin", "https://app.test")]).is_ok());
        for refused in [
            &[("sec-fetch-site", "cross-site")][..],
            &[("sec-fetch-site", "same-site")],
            &[("origin", "null")],
            &[("origin", "http://evil.example")],
            &[("origin", "http://127.0.0.2:8000")],
            &[("origin", "ftp://localhost")],
            &[
                ("origin", "http://localhost"),
                ("origin", "http://evil.example"),
            ],
        ] {
            assert!(check(refused).is_err(), "{refused:?}");
        }
        let message = check(&[("origin", "http://evil.example:8000")]).unwrap_err();
        assert!(message.contains("--allow-host"), "{message}");
    }

    #[test]
    fn signatures_are_checked_for_form() {
        let good = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(sigv4_problem(good), None);
        assert_eq!(sigv4_problem(&good.replace(", ", ",")), None);
        for bad in [
            "",
            "Bearer x",
            "AWS4-HMAC-SHA256 ",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request",
            &good.replace("/lambda/", "/s3/"),
            &good.replace("20240101", "2024"),
            &good.replace("AKIDEXAMPLE/", "/"),
            &good.replace("host;x-amz-date", "Host"),
            &good.replace("Signature=0123", "Signature=zz23"),
            &good.replace("Signature=0123", "Signature=123"),
            &format!("{good}, Extra=1"),
            &good.replace("SignedHeaders", "Signed"),
        ] {
            assert!(sigv4_problem(bad).is_some(), "{bad}");
        }
    }
}
