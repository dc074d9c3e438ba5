//! Cross-site refusal: the Invoke API, the management API and `/_lambkin` answer no browser
//! request from another site, nor from an origin that is not an allowed host.

use axum::http::{HeaderMap, header};

use super::{HOW_TO_ALLOW, Refusal};
use crate::hosts::Allowed;

/// A browser request from another site (or an origin that is not an allowed host) is refused.
pub(super) fn check_same_origin(allowed: &Allowed, headers: &HeaderMap) -> Result<(), Refusal> {
    const WHY: &str = "browsers may call the Invoke API, the management APIs (Lambda's and @connections) and /_lambkin only from pages of this emulator (web pages call functions through API Gateway routes or function URLs; curl, the AWS CLI and SDKs send no such header)";
    for site in headers.get_all("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            let site = String::from_utf8_lossy(site.as_bytes());
            return Err(Refusal::new(
                "AccessDeniedException",
                format!("Cross-site request refused (Sec-Fetch-Site: {site}): {WHY}"),
            ));
        }
    }
    check_origin(allowed, headers, WHY)
}

/// A browser request whose `Origin` is present and not an allowed host (`null` included) is
/// refused, with `why` as the reason.
pub(super) fn check_origin(
    allowed: &Allowed,
    headers: &HeaderMap,
    why: &str,
) -> Result<(), Refusal> {
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
                format!("Cross-origin request refused (Origin: {text}): {why}{allow}"),
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::hosts::test_policy;

    #[test]
    fn cross_site_browser_requests_are_refused() {
        let policy = test_policy("127.0.0.1:9000", &["app.test"]);
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
}
