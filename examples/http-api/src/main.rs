//! Run with: cargo run -p example-http-api
//!
//! An API Gateway HTTP API (payload format 2.0) route `GET /users/{id}`, with the typed event
//! and response from `lambkin::events`.

use lambkin::events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambkin::events::encodings::Body;
use lambkin::events::http::{HeaderMap, HeaderValue, header::CONTENT_TYPE};
use lambkin::{Context, Error};
use serde::Serialize;

#[derive(Serialize)]
struct User<'a> {
    id: &'a str,
    name: String,
    #[serde(rename = "requestId")]
    request_id: &'a str,
}

/// Answers `GET /users/{id}` with the user as JSON, 404 for an unknown id.
#[lambkin::handler]
async fn get_user(
    event: ApiGatewayV2httpRequest,
    ctx: Context,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let Some(id) = event.path_parameters.get("id").filter(|id| !id.is_empty()) else {
        return Ok(json_response(
            400,
            &serde_json::json!({"message": "missing path parameter `id`"}),
        )?);
    };
    if !id.chars().all(|c| c.is_ascii_digit()) {
        return Ok(json_response(
            404,
            &serde_json::json!({"message": format!("no user {id}")}),
        )?);
    }
    let user = User {
        id,
        name: format!("user-{id}"),
        request_id: &ctx.request_id,
    };
    Ok(json_response(200, &user)?)
}

fn json_response(
    status: i64,
    body: &impl Serialize,
) -> Result<ApiGatewayV2httpResponse, serde_json::Error> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // The event types are non-exhaustive: start from the default and fill in.
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(serde_json::to_string(body)?));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambkin::testing;

    fn request(id: &str) -> ApiGatewayV2httpRequest {
        let mut event: ApiGatewayV2httpRequest =
            testing::fixture("example-apigw-v2-request-no-authorizer");
        event.path_parameters = [("id".to_owned(), id.to_owned())].into();
        event
    }

    #[tokio::test]
    async fn finds_a_user_by_path_parameter() {
        let out = testing::invoke(get_user, request("42")).await.unwrap();
        assert_eq!(out["statusCode"], 200);
        let body: serde_json::Value = serde_json::from_str(out["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["name"], "user-42");
    }

    #[tokio::test]
    async fn unknown_ids_are_404() {
        let out = testing::invoke(get_user, request("bob")).await.unwrap();
        assert_eq!(out["statusCode"], 404);
    }
}
