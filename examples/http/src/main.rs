//! Run with: cargo run -p example-http
//!
//! The HTTP form: one handler over `lambkin::http::Request` answers API Gateway REST (v1),
//! HTTP API (v2), ALB and function URL events alike.

use lambkin::http::{Body, IntoResponse, Request, RequestExt, RequestPayloadExt, Response};
use lambkin::{Context, Error};

/// `GET /?name=Ada` says hello; `POST` with a JSON body echoes it back.
#[lambkin::handler]
async fn app(request: Request, ctx: Context) -> Result<impl IntoResponse, Error> {
    if request.method() == "POST" {
        let value: serde_json::Value = request.payload()?.unwrap_or_default();
        return Ok(Response::builder()
            .status(201)
            .header("content-type", "application/json")
            .header("x-request-id", ctx.request_id)
            .body(Body::from(value.to_string()))?);
    }
    let name = request
        .query_string_parameters_ref()
        .and_then(|q| q.first("name"))
        .unwrap_or("world")
        .to_owned();
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain")
        .body(Body::from(format!("Hello, {name}!")))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambkin::testing;
    use serde_json::{Value, json};

    #[tokio::test]
    async fn answers_an_http_api_event() {
        let mut event: Value = testing::fixture("example-apigw-v2-request-no-authorizer");
        event["rawQueryString"] = json!("name=Ada");
        event["queryStringParameters"] = json!({"name": "Ada"});
        let out = testing::invoke_http(|r| app(r, testing::context()), event)
            .await
            .unwrap();
        assert_eq!(out["statusCode"], 200);
        assert_eq!(out["body"], "Hello, Ada!");
    }

    #[tokio::test]
    async fn answers_an_alb_event() {
        let event: Value = testing::fixture("example-alb-lambda-target-request-headers-only");
        let out = testing::invoke_http(|r| app(r, testing::context()), event)
            .await
            .unwrap();
        assert_eq!(out["statusCode"], 200);
        assert_eq!(out["body"], "Hello, world!");
    }
}
