//! The API Gateway front: a plain HTTP request is routed as API Gateway would, becomes the
//! event API Gateway sends (REST payload 1.0, HTTP API 2.0, function URL or ALB), invokes the
//! function, and its result becomes the HTTP response.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
};
use bytes::Bytes;

use crate::{
    apigw::{self, EventOptions, PayloadFormat, RouteTable},
    body::{BodyError, read_limited},
    instance::{Invocation, Outcome, Refused},
    pool::Function,
};

/// The routes and the API-level settings of the front's API Gateway.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    routes: RouteTable,
    options: EventOptions,
}

impl Gateway {
    /// A gateway over `routes`.
    pub fn new(routes: RouteTable, options: EventOptions) -> Gateway {
        Gateway { routes, options }
    }

    /// The routes it serves.
    pub fn routes(&self) -> &RouteTable {
        &self.routes
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
}

/// Serves one request through the gateway; `lookup` finds a function by name.
pub(crate) async fn serve(
    gateway: &Gateway,
    lookup: impl Fn(&str) -> Option<Arc<Function>>,
    request: Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |c| c.0);
    let (parts, body) = request.into_parts();
    let Some(matched) = gateway.routes.find(&parts.method, parts.uri.path()) else {
        return into_axum(apigw::not_found(gateway.missing_format()));
    };
    let format = matched.route.format();
    let body = match read_limited(body, apigw::MAX_REQUEST_BODY).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return into_axum(apigw::payload_too_large()),
        Err(BodyError::TimedOut) => return into_axum(apigw::request_timeout()),
        Err(BodyError::Failed) => return into_axum(apigw::internal_server_error()),
    };
    let request = http::Request::from_parts(parts, body);
    let mapped = match apigw::to_event(&request, peer, &matched, &gateway.options) {
        Ok(mapped) => mapped,
        Err(error) => {
            tracing::error!(%error, "could not build the API Gateway event");
            return into_axum(apigw::internal_server_error());
        }
    };
    let Some(function) = lookup(matched.route.function()) else {
        tracing::error!(
            function = matched.route.function(),
            "a route names an unknown function"
        );
        return into_axum(apigw::internal_server_error());
    };
    let invocation = Invocation {
        request_id: mapped.request_id.clone(),
        payload: Bytes::from(mapped.event.to_string()),
        trace_id: mapped.trace_id,
        client_context: None,
        cognito_identity: None,
    };
    let mut response = match function.invoke(invocation, false).await {
        Ok(result) => match result.outcome {
            Outcome::Success(body) => apigw::from_result(format, &body),
            Outcome::Unhandled(error) if is_timeout(&error) => apigw::timeout(),
            Outcome::Unhandled(_) => apigw::function_error(),
        },
        Err(Refused::Throttled) => too_many_requests(),
        Err(Refused::ShuttingDown | Refused::Internal) => apigw::internal_server_error(),
    };
    let id_header = match format {
        PayloadFormat::Rest => "x-amzn-requestid",
        _ => "apigw-requestid",
    };
    if let Ok(id) = HeaderValue::from_str(&mapped.request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(id_header), id);
    }
    into_axum(response)
}

/// Lambda's timeout error is the only one without an `errorType`, with this message.
fn is_timeout(error: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(error).is_ok_and(|e| {
        e.get("errorType").is_none()
            && e["errorMessage"]
                .as_str()
                .is_some_and(|m| m.contains("Task timed out after"))
    })
}

/// API Gateway's answer when the function is throttled.
fn too_many_requests() -> http::Response<Bytes> {
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
    fn timeouts_are_told_apart_from_other_errors() {
        let timeout =
            br#"{"errorMessage":"2026-01-01T00:00:00Z 1-2-3 Task timed out after 3.00 seconds"}"#;
        assert!(is_timeout(timeout));
        assert!(!is_timeout(
            br#"{"errorType":"Boom","errorMessage":"Task timed out after lunch"}"#
        ));
        assert!(!is_timeout(b"not json"));
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
}
