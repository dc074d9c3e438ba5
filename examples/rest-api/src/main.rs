//! Run with: cargo run -p example-rest-api
//!
//! An API Gateway REST API (payload format 1.0) proxy integration: echoes what API Gateway
//! tells the function about the request.

use lambkin::events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use lambkin::events::encodings::Body;
use lambkin::events::http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use lambkin::{Context, Error};
use serde_json::json;

/// Describes the request: method, resource, path parameters and the `name` query values.
#[lambkin::handler]
fn describe(event: ApiGatewayProxyRequest, ctx: Context) -> Result<ApiGatewayProxyResponse, Error> {
    let body = json!({
        "method": event.http_method.as_str(),
        "resource": event.resource,
        "path": event.path,
        "pathParameters": event.path_parameters,
        "name": event.multi_value_query_string_parameters.all("name"),
        "requestId": ctx.request_id,
    });
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // The event types are non-exhaustive: start from the default and fill in.
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambkin::testing;

    #[tokio::test]
    async fn describes_a_captured_rest_request() {
        let event: ApiGatewayProxyRequest = testing::fixture("example-apigw-request");
        let out = testing::invoke(describe, event).await.unwrap();
        assert_eq!(out["statusCode"], 200);
        let body: serde_json::Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["method"], "POST");
        assert_eq!(body["resource"], "/{proxy+}");
        assert_eq!(body["pathParameters"], json!({"proxy": "hello/world"}));
        assert_eq!(body["name"], json!(["me"]));
    }
}
