//! The event an Application Load Balancer sends its Lambda target group.

use aws_lambda_events::alb::{AlbTargetGroupRequest, AlbTargetGroupRequestContext, ElbContext};
use aws_lambda_events::query_map::QueryMap;

use super::encode::{
    encode_body, group_query, header_map, is_text_type, last_values, query_pairs, uuid_request_id,
};
use super::parts::Parts;
use super::{EventError, EventOptions, MappedEvent};
use crate::apigw::route::RouteMatch;

/// The event of an Application Load Balancer target group.
pub(super) fn event(
    parts: &Parts<'_>,
    matched: &RouteMatch,
    options: &EventOptions,
) -> Result<MappedEvent, EventError> {
    let grouped = parts.grouped_headers();
    // ALBs pass query strings through undecoded.
    let query = group_query(&query_pairs(&parts.raw_query, false));
    let multi = options.alb_multi_value_headers;
    let (body, is_base64_encoded) = if parts.body().is_empty() {
        (String::new(), false)
    } else {
        encode_body(parts.body(), !is_text_type(parts.content_type()))
    };

    let mut elb = ElbContext::default();
    elb.target_group_arn = Some(format!(
        "arn:aws:elasticloadbalancing:{}:{}:targetgroup/{}/{}",
        options.region,
        crate::ACCOUNT_ID,
        matched.route.function(),
        "0123456789abcdef"
    ));
    let mut ctx = AlbTargetGroupRequestContext::default();
    ctx.elb = elb;

    let mut ev = AlbTargetGroupRequest::default();
    ev.http_method = parts.request.method().clone();
    ev.path = Some(parts.raw_path.clone());
    ev.headers = header_map(
        grouped
            .iter()
            .filter_map(|(k, vs)| vs.last().map(|v| (*k, *v))),
    );
    ev.multi_value_headers = header_map(parts.headers.iter().map(|(k, v)| (k, v.as_str())));
    ev.query_string_parameters = QueryMap::from(last_values(&query));
    ev.multi_value_query_string_parameters = QueryMap::from(query);
    ev.request_context = ctx;
    ev.is_base64_encoded = is_base64_encoded;
    ev.body = Some(body);

    let mut json = serde_json::to_value(&ev)?;
    if let Some(obj) = json.as_object_mut() {
        // An ALB sends either the single-value or the multi-value fields, never both.
        let unused = if multi {
            ["headers", "queryStringParameters"]
        } else {
            ["multiValueHeaders", "multiValueQueryStringParameters"]
        };
        for key in unused {
            obj.remove(key);
        }
    }
    Ok(MappedEvent {
        event: json,
        request_id: uuid_request_id(),
        trace_id: parts.trace_id.clone(),
    })
}
