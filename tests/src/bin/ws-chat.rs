//! Fixture: a WebSocket API's function. `$connect` refuses (403) a query with `refuse`; a
//! message `{"action": "sendmessage", "data": …}` is sent back to its connection through the
//! `@connections` API (PostToConnection at `http://{domainName}/{stage}/@connections/{id}`,
//! signed for `execute-api` as the `apigatewaymanagementapi` client signs it: the emulator
//! checks the signature's form, not its keys); anything else is answered 200.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[lambkin::handler]
async fn ws_chat(event: Value) -> Result<Value, lambkin::Error> {
    let context = &event["requestContext"];
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    match context["routeKey"].as_str().unwrap_or_default() {
        "$connect" if event["queryStringParameters"].get("refuse").is_some() => {
            Ok(json!({ "statusCode": 403 }))
        }
        "sendmessage" => {
            let message: Value = serde_json::from_str(&text(&event["body"]))?;
            let data = text(&message["data"]);
            let domain = text(&context["domainName"]);
            let path = format!(
                "/{}/@connections/{}",
                text(&context["stage"]),
                text(&context["connectionId"])
            );
            let mut stream = tokio::net::TcpStream::connect(&domain).await?;
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: {domain}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature={}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{data}",
                "0".repeat(64),
                data.len()
            );
            stream.write_all(request.as_bytes()).await?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await?;
            let status = answer.lines().next().unwrap_or_default().to_owned();
            Ok(json!({ "statusCode": 200, "posted": status }))
        }
        _ => Ok(json!({ "statusCode": 200 })),
    }
}
