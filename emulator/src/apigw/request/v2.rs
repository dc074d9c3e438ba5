//! The 2.0 events: HTTP API payload format 2.0 and Lambda function URLs.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlRequestContext,
    LambdaFunctionUrlRequestContextHttpDescription,
};
use aws_lambda_events::query_map::QueryMap;
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::encode::{
    drop_if_empty, encode_body, group_query, is_text_type, query_pairs, short_request_id,
    uuid_request_id,
};
use super::parts::Parts;
use super::{API_ID, DEFAULT_STAGE, EventError, MappedEvent};
use crate::apigw::route::{RouteMatch, percent_decode};

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

/// Payload format 2.0 of an HTTP API.
pub(super) fn http_event(
    parts: &Parts<'_>,
    matched: &RouteMatch,
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
    ctx.stage = Some(matched.route.stage().name.clone());
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
    ev.stage_variables = matched
        .route
        .stage()
        .variables
        .clone()
        .into_iter()
        .collect();
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

/// The event of a Lambda function URL (the 2.0 shape, function URL context).
pub(super) fn function_url_event(parts: &Parts<'_>) -> Result<MappedEvent, EventError> {
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
