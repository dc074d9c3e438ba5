//! The API Gateway front: a plain HTTP request is routed as API Gateway would, becomes the
//! event API Gateway sends (REST payload 1.0, HTTP API 2.0, function URL or ALB), invokes the
//! function, and its result becomes the HTTP response. An API (or function URL) with CORS
//! configured has its preflights answered here and its responses' CORS headers set
//! ([`apigw::Cors`]). A route with an authorizer runs it first (`authorize.rs`).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use bytes::Bytes;

use crate::{
    apigw::{self, Cors, EventOptions, Integration, METHODS, PayloadFormat, Route, RouteTable},
    body::{BodyError, read_limited},
    instance::{HttpRequest, Invocation, Outcome, Refused, Trigger},
    pool::Function,
    sync::{read, write},
};

use super::authorize::{self, AuthState};

/// The routes and the API-level settings of the front's API Gateway.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    routes: RouteTable,
    options: EventOptions,
    /// The authorizers' caches: a new gateway (a reload) starts with empty ones.
    auth: Arc<AuthState>,
}

impl Gateway {
    /// A gateway over `routes`.
    pub fn new(routes: RouteTable, options: EventOptions) -> Gateway {
        Gateway {
            routes,
            options,
            auth: Arc::default(),
        }
    }

    /// The routes it serves.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
    }

    /// This gateway with `extra` routes besides its own (a state machine's), its settings
    /// kept.
    pub fn with_routes(&self, extra: &[Route]) -> Result<Gateway, apigw::RouteError> {
        let routes = (self.routes.routes().iter())
            .chain(extra)
            .cloned()
            .collect();
        Ok(Gateway::new(RouteTable::new(routes)?, self.options.clone()))
    }

    /// The format of a "no route" answer: REST APIs say 403, the others 404.
    fn missing_format(&self) -> PayloadFormat {
        let rest = !self.routes.is_empty()
            && self
                .routes
                .routes()
                .iter()
                .all(|r| r.format() == PayloadFormat::Rest);
        if rest {
            PayloadFormat::Rest
        } else {
            PayloadFormat::Http
        }
    }

    /// The gateway's own answer to an `OPTIONS` request on a path of an API with CORS
    /// configured, or `None` when a function gets it.
    ///
    /// An HTTP API answers a preflight (`Origin` and `Access-Control-Request-Method`) itself
    /// unless a route takes `OPTIONS` for the path: an `OPTIONS` or `ANY` route, or `$default`,
    /// which "catches requests for all methods and routes that you haven't explicitly defined,
    /// including OPTIONS requests" (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>);
    /// the function's answer then gets the configured headers. SAM gives each path of a REST API
    /// an `OPTIONS` mock integration, which an `ANY` method does not override but an `OPTIONS`
    /// route of the user's does. A function URL with CORS answers every preflight itself.
    fn preflight<B>(&self, request: &http::Request<B>) -> Option<http::Response<Bytes>> {
        if request.method() != http::Method::OPTIONS {
            return None;
        }
        let path = request.uri().path();
        let routed = self.routes.find(&http::Method::OPTIONS, path);
        if routed
            .as_ref()
            .is_some_and(|m| m.route.method() == Some(&http::Method::OPTIONS))
        {
            return None;
        }
        let asked = Cors::preflight_method(request);
        // CORS is the API's: any route of the path tells it, the asked method's first.
        let methods = asked.iter().cloned().chain(
            METHODS
                .iter()
                .filter_map(|m| http::Method::from_bytes(m.as_bytes()).ok()),
        );
        for method in methods {
            let Some(matched) = self.routes.find(&method, path) else {
                continue;
            };
            let Some(cors) = matched.route.cors() else {
                continue;
            };
            return match matched.route.format() {
                PayloadFormat::Rest => Some(cors.rest_preflight()),
                PayloadFormat::FunctionUrl if asked.is_some() => {
                    Some(cors.url_preflight(request.headers()))
                }
                _ if asked.is_some() && routed.is_none() => {
                    Some(cors.http_preflight(request.headers()))
                }
                _ => None,
            };
        }
        None
    }
}

/// The gateway in force, shared by the front's handlers; hot reload swaps it whole.
#[derive(Debug, Clone)]
pub(crate) struct CurrentGateway(Arc<RwLock<Arc<Gateway>>>);

impl CurrentGateway {
    /// `gateway` in force.
    pub(crate) fn new(gateway: Gateway) -> CurrentGateway {
        CurrentGateway(Arc::new(RwLock::new(Arc::new(gateway))))
    }

    /// The gateway in force now (requests under way keep the one they started with).
    pub(crate) fn get(&self) -> Arc<Gateway> {
        read(&self.0).clone()
    }

    /// Puts `gateway` in force for the requests that come next.
    pub(crate) fn replace(&self, gateway: Gateway) {
        *write(&self.0) = Arc::new(gateway);
    }
}

/// Marks a request as the dashboard's replay of a recorded one: its invocation gets this
/// request id (the dashboard finds it by that) and shows as a replay.
#[derive(Debug, Clone)]
pub(crate) struct Replay(pub(crate) String);

/// Serves one request through the gateway; `lookup` finds a function by name, `workflows`
/// (none for function URLs) serves the routes that start state machines.
pub(crate) async fn serve(
    gateway: &Gateway,
    lookup: impl Fn(&str) -> Option<Arc<Function>>,
    #[cfg(feature = "workflows")] workflows: Option<&crate::workflows::Workflows>,
    request: Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
    if let Some(answer) = gateway.preflight(&request) {
        return into_axum(answer);
    }
    let (parts, body) = request.into_parts();
    let Some(matched) = gateway.routes.find(&parts.method, parts.uri.path()) else {
        return into_axum(apigw::not_found(gateway.missing_format()));
    };
    let route = &matched.route;
    let format = route.format();
    let body = match read_limited(body, apigw::MAX_REQUEST_BODY).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return into_axum(apigw::payload_too_large()),
        Err(BodyError::TimedOut) => return into_axum(apigw::request_timeout()),
        Err(BodyError::Failed) => return into_axum(apigw::integration_error(format)),
    };
    let request = http::Request::from_parts(parts, body);
    let mut mapped = match apigw::to_event(&request, peer, &matched, &gateway.options) {
        Ok(mapped) => mapped,
        Err(error) => {
            tracing::error!(%error, "could not build the API Gateway event");
            return into_axum(apigw::integration_error(format));
        }
    };
    if let Some(auth) = route.auth() {
        let asked = authorize::Request {
            http: &request,
            peer,
            matched: &matched,
            options: &gateway.options,
            mapped: &mapped,
        };
        match gateway.auth.authorize(auth, &asked, &lookup).await {
            Ok(value) => apigw::auth::set_authorizer(&mut mapped.event, value),
            // API Gateway's own answer, as its gateway responses are: no CORS headers, but
            // the request's id.
            Err(mut refused) => {
                set_request_id(&mut refused, format, &mapped.request_id);
                return into_axum(refused);
            }
        }
    }
    if let Integration::StartExecution { named_by_request } = route.integration() {
        #[cfg(feature = "workflows")]
        if let Some(workflows) = workflows {
            let name = named_by_request.then_some(mapped.request_id.as_str());
            let mut response = super::stepfunctions::start_from_route(
                workflows,
                route.function(),
                request.body(),
                name,
            );
            if let (true, Some(cors)) = (named_by_request, route.cors()) {
                cors.apply_integration(response.headers_mut());
            }
            set_request_id(&mut response, format, &mapped.request_id);
            return into_axum(response);
        }
        #[cfg(not(feature = "workflows"))]
        let _ = named_by_request;
        tracing::error!(
            machine = route.function(),
            "a route starts a state machine, which this build does not serve"
        );
        return into_axum(apigw::integration_error(format));
    }
    let Some(function) = lookup(route.function()) else {
        tracing::error!(
            function = route.function(),
            "a route names an unknown function"
        );
        return into_axum(apigw::integration_error(format));
    };
    let decode_base64 = format != PayloadFormat::Rest
        || apigw::accepts_binary(request.headers(), route, &gateway.options);
    let replay = request.extensions().get::<Replay>();
    let function_url = format == PayloadFormat::FunctionUrl;
    let kept = HttpRequest::new(&request, function_url, replay.is_some());
    let invocation = Invocation {
        request_id: replay.map_or_else(
            || lambda_request_id(format, &mapped.request_id),
            |r| r.0.clone(),
        ),
        payload: Bytes::from(mapped.event.to_string()),
        trace_id: mapped.trace_id,
        client_context: None,
        cognito_identity: None,
        stream: None,
        trigger: if function_url {
            Trigger::FunctionUrl(kept)
        } else {
            Trigger::Route(route.key().to_owned(), kept)
        },
    };
    if format == PayloadFormat::FunctionUrl && function.config().url_invoke_mode.streams() {
        let mut response = super::url_stream::respond(function, invocation).await;
        if let Some(cors) = route.cors() {
            cors.apply_url(request.headers(), response.headers_mut());
        }
        return response;
    }
    let mut response = integrate(&function, route, invocation, decode_base64).await;
    // REST APIs' proxy integrations send only what the function sets (see `apigw::cors`).
    match (format, route.cors()) {
        (PayloadFormat::Rest, _) | (_, None) => {}
        (PayloadFormat::FunctionUrl, Some(cors)) => {
            cors.apply_url(request.headers(), response.headers_mut());
        }
        (_, Some(cors)) => {
            let preflight = Cors::preflight_method(&request).is_some();
            cors.apply_http(request.headers(), preflight, &mut response);
        }
    }
    set_request_id(&mut response, format, &mapped.request_id);
    into_axum(response)
}

/// Names the request's id in `response`, in the header of `format` (if it has one).
fn set_request_id(response: &mut http::Response<Bytes>, format: PayloadFormat, id: &str) {
    if let Some(name) = request_id_header(format)
        && let Ok(id) = HeaderValue::from_str(id)
    {
        response.headers_mut().insert(name, id);
    }
}

/// Invokes `function` for `route` and makes API Gateway's answer of the result (or of the
/// route's integration timeout).
async fn integrate(
    function: &Function,
    route: &apigw::Route,
    invocation: Invocation,
    decode_base64: bool,
) -> http::Response<Bytes> {
    let format = route.format();
    // The invocation runs in a task of its own: when API Gateway stops waiting, the function
    // runs on to its own end (and timeout), as in AWS.
    let invoked = function.invoke(invocation, false);
    let result = match route.integration_timeout() {
        Some(limit) => tokio::time::timeout(limit, invoked).await.ok(),
        None => Some(invoked.await),
    };
    match result {
        None => {
            tracing::warn!(
                function = route.function(),
                route = route.key(),
                "the integration timed out; the function runs on"
            );
            apigw::integration_timeout(format)
        }
        Some(Ok(result)) => match result.outcome {
            Outcome::Success(body) => apigw::from_result_with(format, &body, decode_base64),
            // A function error, a crash or the function's own timeout.
            Outcome::Unhandled(_) => apigw::integration_error(format),
        },
        Some(Err(Refused::Throttled(_))) => too_many_requests(),
        Some(Err(Refused::ShuttingDown | Refused::NoInstance | Refused::Internal)) => {
            apigw::integration_error(format)
        }
    }
}

/// The request id of the Lambda invocation behind a request whose event carries
/// `event_request_id`.
///
/// API Gateway's request id (`requestContext.requestId`) is its own: the function is invoked
/// under a new one, as any Lambda invocation is. A function URL's event carries the invocation's
/// own id.
fn lambda_request_id(format: PayloadFormat, event_request_id: &str) -> String {
    match format {
        PayloadFormat::Rest | PayloadFormat::Http | PayloadFormat::HttpV1 => {
            crate::ids::uuid().to_string()
        }
        PayloadFormat::FunctionUrl | PayloadFormat::Alb => event_request_id.to_owned(),
    }
}

/// The response header carrying the event's request id: `x-amzn-RequestId` (REST APIs, function
/// URLs), `apigw-requestid` (HTTP APIs); ALBs add none.
fn request_id_header(format: PayloadFormat) -> Option<HeaderName> {
    match format {
        PayloadFormat::Rest | PayloadFormat::FunctionUrl => {
            Some(HeaderName::from_static("x-amzn-requestid"))
        }
        PayloadFormat::Http | PayloadFormat::HttpV1 => {
            Some(HeaderName::from_static("apigw-requestid"))
        }
        PayloadFormat::Alb => None,
    }
}

/// API Gateway's answer when the function is throttled.
pub(super) fn too_many_requests() -> http::Response<Bytes> {
    let mut response =
        http::Response::new(Bytes::from_static(br#"{"message":"Too Many Requests"}"#));
    *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn into_axum(response: http::Response<Bytes>) -> Response {
    response.map(Body::from).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_gateway_invokes_under_a_request_id_of_its_own() {
        for format in [
            PayloadFormat::Rest,
            PayloadFormat::Http,
            PayloadFormat::HttpV1,
        ] {
            let id = lambda_request_id(format, "gateway-id");
            assert_ne!(id, "gateway-id");
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
            assert_ne!(id, lambda_request_id(format, "gateway-id"), "unique");
        }
        // A function URL's event carries the invocation's own id.
        assert_eq!(lambda_request_id(PayloadFormat::FunctionUrl, "inv"), "inv");
        let header = |format| request_id_header(format).map(|h| h.to_string());
        assert_eq!(
            header(PayloadFormat::Rest).as_deref(),
            Some("x-amzn-requestid")
        );
        assert_eq!(
            header(PayloadFormat::Http).as_deref(),
            Some("apigw-requestid")
        );
        assert_eq!(
            header(PayloadFormat::HttpV1).as_deref(),
            Some("apigw-requestid")
        );
        assert_eq!(
            header(PayloadFormat::FunctionUrl).as_deref(),
            Some("x-amzn-requestid")
        );
        assert_eq!(header(PayloadFormat::Alb), None);
    }

    #[test]
    fn rest_only_gateways_answer_missing_routes_with_403() {
        let rest = RouteTable::new(vec![
            apigw::Route::parse("GET /a", "f", PayloadFormat::Rest).unwrap(),
        ])
        .unwrap();
        assert_eq!(
            Gateway::new(rest, EventOptions::default()).missing_format(),
            PayloadFormat::Rest
        );
        assert_eq!(Gateway::default().missing_format(), PayloadFormat::Http);
    }

    #[test]
    fn the_gateway_answers_preflights_of_apis_with_cors_only() {
        let cors = Cors {
            allow_origins: vec!["*".to_owned()],
            ..Cors::default()
        };
        let route = |key: &str, format, cors: Option<&Cors>| {
            apigw::Route::parse(key, "f", format)
                .unwrap()
                .with_cors(cors.cloned())
        };
        let gateway = Gateway::new(
            RouteTable::new(vec![
                route("GET /http", PayloadFormat::Http, Some(&cors)),
                route("OPTIONS /own", PayloadFormat::Http, Some(&cors)),
                route("ANY /any", PayloadFormat::Http, Some(&cors)),
                route("GET /rest", PayloadFormat::Rest, Some(&cors)),
                route("ANY /rest-any", PayloadFormat::Rest, Some(&cors)),
                route("GET /plain", PayloadFormat::Http, None),
                route("GET /staged", PayloadFormat::Http, Some(&cors))
                    .with_stage(apigw::Stage::named("v1")),
                route("GET /url", PayloadFormat::FunctionUrl, Some(&cors)),
            ])
            .unwrap(),
            EventOptions::default(),
        );
        let answer = |method: &str, path: &str, preflight: bool| {
            let mut request = http::Request::builder().method(method).uri(path);
            if preflight {
                request = request
                    .header("origin", "http://a.test")
                    .header("access-control-request-method", "PUT");
            }
            gateway
                .preflight(&request.body(()).unwrap())
                .map(|r| r.status().as_u16())
        };
        // HTTP APIs answer preflights of any method of a path they route, not other OPTIONS.
        assert_eq!(answer("OPTIONS", "/http", true), Some(204));
        // An ANY route (or $default) takes OPTIONS to its function.
        assert_eq!(answer("OPTIONS", "/any", true), None);
        assert_eq!(answer("OPTIONS", "/http", false), None);
        assert_eq!(answer("GET", "/http", true), None);
        // A route of its own takes OPTIONS to its function.
        assert_eq!(answer("OPTIONS", "/own", true), None);
        // SAM's mock OPTIONS method answers any OPTIONS of a REST API path.
        assert_eq!(answer("OPTIONS", "/rest", false), Some(200));
        assert_eq!(answer("OPTIONS", "/rest-any", true), Some(200));
        // A named stage's path, with or without its prefix.
        assert_eq!(answer("OPTIONS", "/v1/staged", true), Some(204));
        assert_eq!(answer("OPTIONS", "/staged", true), Some(204));
        // A function URL answers preflights itself (200), other OPTIONS go to the function.
        assert_eq!(answer("OPTIONS", "/url", true), Some(200));
        assert_eq!(answer("OPTIONS", "/url", false), None);
        // No CORS, or no route: the request goes on as any other.
        assert_eq!(answer("OPTIONS", "/plain", true), None);
        assert_eq!(answer("OPTIONS", "/nowhere", true), None);
    }
}
