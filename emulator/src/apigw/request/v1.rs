//! Payload format 1.0: the REST API proxy event, also sent by HTTP APIs set to version 1.0.

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyRequestContext, ApiGatewayRequestIdentity,
};
use aws_lambda_events::query_map::QueryMap;
use serde_json::Value;

use super::encode::{
    binary_media_types, encode_body, group_query, header_map, is_binary_media_type, is_text_type,
    last_values, null_if_empty, query_pairs, rest_body, short_request_id, title_case,
    uuid_request_id,
};
use super::parts::Parts;
use super::{API_ID, EventError, EventOptions, MappedEvent};
use crate::apigw::route::{RouteMatch, percent_decode};

/// Payload format 1.0, from a REST API or (`http_api`) an HTTP API.
pub(super) fn event(
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
    // HTTP APIs decode the path; REST APIs pass it as sent, less the stage it came with.
    let path = if http_api {
        percent_decode(&parts.raw_path)
    } else {
        matched
            .unstaged_path
            .clone()
            .unwrap_or_else(|| parts.raw_path.clone())
    };
    let stage = matched.route.stage();
    let ctx = context(parts, &request_id, &resource, &path, &stage.name, http_api);
    let body = body(parts, matched, options, http_api);

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
    ev.stage_variables = stage.variables.clone().into_iter().collect();
    ev.request_context = ctx;
    ev.is_base64_encoded = body.as_ref().is_some_and(|(_, b64)| *b64);
    ev.body = body.map(|(text, _)| text);

    let mut json = serde_json::to_value(&ev)?;
    if let Some(obj) = json.as_object_mut() {
        shape(obj, http_api);
    }
    Ok(MappedEvent {
        event: json,
        request_id,
        trace_id: parts.trace_id.clone(),
    })
}

/// The `requestContext` of a 1.0 event.
fn context(
    parts: &Parts<'_>,
    request_id: &str,
    resource: &str,
    path: &str,
    stage: &str,
    http_api: bool,
) -> ApiGatewayProxyRequestContext {
    let (domain_name, domain_prefix) = parts.domain();
    let mut identity = ApiGatewayRequestIdentity::default();
    identity.source_ip = Some(parts.source_ip.clone());
    identity.user_agent = parts.user_agent.clone();

    let mut ctx = ApiGatewayProxyRequestContext::default();
    ctx.account_id = Some(crate::ACCOUNT_ID.to_owned());
    ctx.resource_id = (!http_api).then(|| "123456".to_owned());
    ctx.domain_name = Some(domain_name);
    ctx.domain_prefix = Some(domain_prefix);
    ctx.request_id = Some(request_id.to_owned());
    ctx.protocol = Some(parts.protocol.clone());
    ctx.identity = identity;
    ctx.resource_path = Some(resource.to_owned());
    // `$context.path` is the path the client called: with the stage for an execute-api call
    // (`/Prod/hello`), without it through a custom domain (`/hello`)
    // (<https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference>).
    ctx.path = Some(if http_api {
        path.to_owned()
    } else {
        parts.raw_path.clone()
    });
    ctx.stage = Some(stage.to_owned());
    ctx.http_method = parts.request.method().clone();
    ctx.request_time = Some(parts.clf_time.clone());
    ctx.request_time_epoch = parts.epoch_ms;
    ctx.apiid = Some(API_ID.to_owned());
    ctx
}

/// The body of a 1.0 event and whether it is base64; `None` when the request has none.
fn body(
    parts: &Parts<'_>,
    matched: &RouteMatch,
    options: &EventOptions,
    http_api: bool,
) -> Option<(String, bool)> {
    (!parts.body().is_empty()).then(|| {
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
    })
}

/// Trims the serialised event to what AWS sends: `null` for empty maps, and the header names
/// and `version` of the API type.
fn shape(obj: &mut serde_json::Map<String, Value>, http_api: bool) {
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
