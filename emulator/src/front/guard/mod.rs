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
//!   could send any `Host` it likes, so refusing those would protect nothing. The allow-list
//!   itself is [`crate::hosts`], which Runtime API listeners apply on their own.
//! * **Cross-site simple requests**: a `no-cors` fetch or an auto-submitted
//!   `enctype=text/plain` form sends a POST without a preflight and without the page needing to
//!   read the answer (CreateFunction, then Invoke). The Invoke API, the management API and
//!   `/_lambkin` (status page, code downloads) refuse requests whose `Sec-Fetch-Site` is
//!   `cross-site` or `same-site`, or whose `Origin` is present and not an allowed host
//!   (`Origin: null` included). `same-origin` and `none` (typed URLs, bookmarks) pass, and so
//!   does every client that is not a browser: they send neither header. The API Gateway front
//!   and function URLs are the user's own web API, which browsers may call from anywhere: only
//!   the `Host` check applies there. A WebSocket upgrade is the exception: CORS does not cover
//!   WebSockets (a page of any site may open one, with the user's cookies, and read what comes
//!   back), so an upgrade whose `Origin` is present and not an allowed host is refused.
//! * The **management API** also requires an `Authorization` header in the form AWS Signature
//!   Version 4 gives it: the AWS CLI and SDKs always sign (any credentials do; the emulator
//!   checks the form, not the keys), and a simple cross-site request cannot set the header.
//!   Query-string signatures (presigned URLs) are not accepted: a form's action URL could
//!   carry one.
//! * A WebSocket API's **`@connections`** API (`/{stage}/@connections/{id}`) gets the
//!   management API's checks, signed for `execute-api` as AWS requires
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html>):
//!   otherwise a page of any site could push messages into, or close, a user's connections
//!   with a `no-cors` POST.
//!
//! Refusals are answered in the shape of the surface that refuses: AWS's error shape on Lambda
//! API paths and `/_lambkin`, API Gateway's `{"message": …}` on the gateway front and function
//! URLs, the Runtime API's `{"errorType", "errorMessage"}` on Runtime API listeners.

mod origin;
mod signature;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::aws_error::{AwsError, LAMBDA_API_PREFIXES};
use crate::hosts::{Allowed, HostPolicy, log_refusal};
use origin::{check_origin, check_same_origin};
use signature::check_signature;

/// What to tell users who need another host name.
const HOW_TO_ALLOW: &str =
    "start lambkin with `--allow-host NAME` (or set LAMBKIN_ALLOW_HOSTS=NAME,...)";

/// Why the front and function URLs refuse a `Host`, and what to do.
const FRONT_HOSTS: &str = "the emulator answers only localhost, *.localhost, 127.0.0.1, [::1], the address it listens on and the names you allow (a guard against DNS rebinding)";

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
        log_refusal(request, &self.message);
        match surface {
            Surface::Invoke | Surface::Manage | Surface::Connections | Surface::Lambkin => {
                AwsError::new(StatusCode::FORBIDDEN, self.error_type, self.message).into_response()
            }
            #[cfg(feature = "workflows")]
            Surface::StepFunctions => {
                super::aws_error::json_error(StatusCode::FORBIDDEN, self.error_type, self.message)
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
        }
    }
}

/// What a request to the front or a function URL is for, which decides the checks it gets and
/// the shape of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// The API Gateway front or a function URL: the user's own web API.
    Gateway,
    /// `POST /2015-03-31/functions/{name}/invocations` and
    /// `/2021-11-15/functions/{name}/response-streaming-invocations`.
    Invoke,
    /// Every other Lambda API path: the management API (and unknown operations).
    Manage,
    /// `/{stage}/@connections/{id}`: a WebSocket API's management API.
    Connections,
    /// `/_lambkin` and below: the status page and the code downloads.
    Lambkin,
    /// The Step Functions API: a request whose `X-Amz-Target` names one of its operations.
    #[cfg(feature = "workflows")]
    StepFunctions,
}

impl Surface {
    /// The surface of a path on the front.
    fn of_front(path: &str) -> Surface {
        if path == "/_lambkin" || path.starts_with("/_lambkin/") {
            return Surface::Lambkin;
        }
        // Invoke and InvokeWithResponseStream.
        let invoked = [
            ("/2015-03-31/functions/", "/invocations"),
            ("/2021-11-15/functions/", "/response-streaming-invocations"),
        ]
        .iter()
        .any(|(prefix, suffix)| {
            path.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(suffix))
                .is_some_and(|name| !name.is_empty() && !name.contains('/'))
        });
        // The WebSocket front serves every `@connections` path under an API's stage; the guard
        // does not know the stages, so it checks every path of that shape.
        let connections = path
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(stage, rest)| !stage.is_empty() && rest.starts_with("@connections/"));
        if invoked {
            Surface::Invoke
        } else if LAMBDA_API_PREFIXES.iter().any(|p| path.starts_with(p)) {
            Surface::Manage
        } else if connections {
            Surface::Connections
        } else {
            Surface::Gateway
        }
    }
}

/// The request's `Host` (and the authority of an absolute-form target) must be allowed.
/// `host_prefix` is a prefix the request's host may carry before an allowed one.
fn check_host(allowed: &Allowed, request: &Request, host_prefix: &str) -> Result<(), Refusal> {
    match allowed.refused_prefixed_host(request, host_prefix) {
        None => Ok(()),
        Some(host) => Err(Refusal::new(
            "AccessDeniedException",
            format!(
                "Host {host:?} is not allowed: {FRONT_HOSTS}; to reach it under this name, {HOW_TO_ALLOW}"
            ),
        )),
    }
}

/// Why a WebSocket upgrade from another site's page is refused.
const WEBSOCKET_ORIGINS: &str = "a WebSocket is not bound by CORS, so the emulator accepts upgrades only from pages of the hosts it answers (clients that are not browsers send no Origin)";

/// Whether `headers` ask for a WebSocket upgrade.
pub(super) fn is_websocket_upgrade(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::UPGRADE)
        .iter()
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// The front's guard: the `Host` on every path; on WebSocket upgrades, the `Origin`; on the
/// Invoke API, the management APIs and `/_lambkin`, no cross-site browser request; on the
/// management APIs (Lambda's and `@connections`), a SigV4 `Authorization`.
pub(crate) async fn front(
    State(hosts): State<Arc<HostPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let surface = Surface::of_front(request.uri().path());
    #[cfg(feature = "workflows")]
    let surface = if super::stepfunctions::operation(request.headers()).is_some() {
        Surface::StepFunctions
    } else {
        surface
    };
    // The SDKs send StartSyncExecution to `sync-<endpoint host>` (the operation's `hostPrefix`
    // in the service model): <https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html>
    #[cfg(feature = "workflows")]
    let host_prefix = match super::stepfunctions::operation(request.headers()) {
        Some("StartSyncExecution") => "sync-",
        _ => "",
    };
    #[cfg(not(feature = "workflows"))]
    let host_prefix = "";
    let checked = {
        let allowed = hosts.allowed();
        check_host(&allowed, &request, host_prefix).and_then(|()| match surface {
            Surface::Gateway if is_websocket_upgrade(request.headers()) => {
                check_origin(&allowed, request.headers(), WEBSOCKET_ORIGINS)
            }
            Surface::Gateway => Ok(()),
            Surface::Invoke | Surface::Lambkin => check_same_origin(&allowed, request.headers()),
            Surface::Manage => check_same_origin(&allowed, request.headers())
                .and_then(|()| check_signature(request.headers(), signature::LAMBDA)),
            Surface::Connections => check_same_origin(&allowed, request.headers())
                .and_then(|()| check_signature(request.headers(), signature::EXECUTE_API)),
            #[cfg(feature = "workflows")]
            Surface::StepFunctions => check_same_origin(&allowed, request.headers())
                .and_then(|()| check_signature(request.headers(), signature::STATES)),
        })
    };
    match checked {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.answer(surface, &request),
    }
}

/// A function URL's guard: the `Host` only (browsers may call it from anywhere).
pub(crate) async fn function_url(
    State(hosts): State<Arc<HostPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let checked = check_host(&hosts.allowed(), &request, "");
    match checked {
        Ok(()) => next.run(request).await,
        Err(refusal) => refusal.answer(Surface::Gateway, &request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sorted_by_surface() {
        let cases = [
            ("/2015-03-31/functions/f/invocations", Surface::Invoke),
            (
                "/2021-11-15/functions/f/response-streaming-invocations",
                Surface::Invoke,
            ),
            (
                "/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:f/invocations",
                Surface::Invoke,
            ),
            ("/2015-03-31/functions", Surface::Manage),
            ("/2015-03-31/functions/f/configuration", Surface::Manage),
            ("/2015-03-31/functions//invocations", Surface::Manage),
            ("/2021-10-31/functions/f/url", Surface::Manage),
            ("/2017-10-31/functions/f/concurrency", Surface::Manage),
            ("/2019-09-30/functions/f/concurrency", Surface::Manage),
            ("/2016-08-19/account-settings", Surface::Manage),
            (
                "/2019-09-25/functions/f/event-invoke-config",
                Surface::Manage,
            ),
            ("/_lambkin", Surface::Lambkin),
            ("/_lambkin/code/f/x", Surface::Lambkin),
            ("/_lambkinx", Surface::Gateway),
            ("/dev/@connections/abc=", Surface::Connections),
            ("/dev/@connections/", Surface::Connections),
            ("/dev/@connectionsx/abc", Surface::Gateway),
            ("//@connections/abc", Surface::Gateway),
            ("/@connections/abc", Surface::Gateway),
            ("/users/1", Surface::Gateway),
        ];
        for (path, surface) in cases {
            assert_eq!(Surface::of_front(path), surface, "{path}");
        }
    }
}
