//! The API Gateway front of `lambkin watch`, end to end: real HTTP requests become the events
//! API Gateway sends (checked field by field through a function that echoes its event), routes
//! come from Cargo metadata, SAM and Serverless configurations, and results become responses.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use lambkin_tests::project::{Watching, lambkin_binary, repository, target_dir};
use lambkin_tests::{Answer, request};
use serde_json::{Value, json};

/// The event the `echo-http` fixture received: its answer's JSON body.
fn echoed(answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body.clone()
}

/// A SAM project in a temp dir whose functions run the tests crate's fixtures.
struct SamProject(PathBuf);

impl SamProject {
    fn new() -> SamProject {
        let dir = std::env::temp_dir().join(format!("lambkin-sam-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fixtures = repository().join("tests");
        let template = format!(
            r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 5
Resources:
  RestEcho:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo-http
      Runtime: provided.al2023
      Events:
        Item:
          Type: Api
          Properties:
            Path: /items/{{id}}
            Method: get
        Upload:
          Type: Api
          Properties:
            Path: /upload
            Method: post
  HttpEcho:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo-http
      Runtime: provided.al2023
      Events:
        Files:
          Type: HttpApi
          Properties:
            Path: /files/{{proxy+}}
            Method: ANY
        Exact:
          Type: HttpApi
          Properties:
            Path: /files/readme
            Method: GET
  Raw:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo
      Runtime: provided.al2023
      Events:
        Raw:
          Type: HttpApi
          Properties:
            Path: /raw
            Method: POST
"#,
            fixtures = fixtures.display()
        );
        std::fs::write(dir.join("template.yaml"), template).unwrap();
        SamProject(dir)
    }
}

impl Drop for SamProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn watch(dir: &Path, args: &[&str]) -> Watching {
    Watching::start_in(&lambkin_binary(false), dir, args, &target_dir()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_http_api_events_are_what_api_gateway_sends() {
    let project = SamProject::new();
    let template = project.0.join("template.yaml");
    let lambkin = watch(
        repository(),
        &["--no-reload", "--template", template.to_str().unwrap()],
    )
    .await;
    let addr = lambkin.addr;

    // REST (payload 1.0): repeated headers and query keys, path parameters, the resource.
    let answer = request(
        addr,
        "GET",
        "/items/42?tag=a&tag=b&q=x%20y",
        &[
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("cookie", "a=1; b=2"),
        ],
        Vec::new(),
    )
    .await;
    let event = echoed(&answer);
    assert_eq!(event["resource"], "/items/{id}");
    assert_eq!(event["path"], "/items/42");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"], json!({"id": "42"}));
    assert_eq!(
        event["queryStringParameters"]["tag"], "b",
        "REST keeps the last value"
    );
    assert_eq!(
        event["multiValueQueryStringParameters"]["tag"],
        json!(["a", "b"])
    );
    assert_eq!(event["queryStringParameters"]["q"], "x y");
    // REST keeps header names as clients usually write them (HTTP/1 title case).
    assert_eq!(event["multiValueHeaders"]["X-Multi"], json!(["one", "two"]));
    assert_eq!(event["requestContext"]["resourcePath"], "/items/{id}");
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert!(
        event["requestContext"]["requestTimeEpoch"]
            .as_i64()
            .unwrap()
            > 1_700_000_000_000,
        "epoch ms"
    );
    assert_eq!(
        answer.headers["x-amzn-requestid"],
        event["requestContext"]["requestId"].as_str().unwrap()
    );

    // HTTP API (payload 2.0): joined repeated values, cookies, greedy path, route key.
    let answer = request(
        addr,
        "PUT",
        "/files/docs/a%20b.txt?tag=a&tag=b",
        &[
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("cookie", "a=1; b=2"),
            ("content-type", "text/plain"),
        ],
        "hello",
    )
    .await;
    let event = echoed(&answer);
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /files/{proxy+}");
    // HTTP APIs hand the function the decoded path.
    assert_eq!(event["rawPath"], "/files/docs/a b.txt");
    assert_eq!(event["rawQueryString"], "tag=a&tag=b");
    assert_eq!(event["queryStringParameters"]["tag"], "a,b");
    assert_eq!(event["headers"]["x-multi"], "one,two");
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    assert_eq!(event["pathParameters"]["proxy"], "docs/a b.txt");
    assert_eq!(event["requestContext"]["http"]["method"], "PUT");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert_eq!(event["body"], "hello");
    assert_eq!(event["isBase64Encoded"], false);
    assert!(
        event["requestContext"]["timeEpoch"].as_i64().unwrap() > 1_700_000_000_000,
        "epoch ms"
    );
    let first_id = event["requestContext"]["requestId"].clone();

    // The most specific route wins; request ids are unique.
    let event = echoed(&request(addr, "GET", "/files/readme", &[], Vec::new()).await);
    assert_eq!(event["routeKey"], "GET /files/readme");
    assert_ne!(event["requestContext"]["requestId"], first_id);

    // Binary bodies arrive base64-encoded.
    let binary = vec![0u8, 159, 146, 150, 255];
    let event = echoed(
        &request(
            addr,
            "POST",
            "/upload",
            &[("content-type", "application/octet-stream")],
            binary.clone(),
        )
        .await,
    );
    assert_eq!(event["isBase64Encoded"], true, "{event}");
    assert_eq!(event["body"], "AJ+Slv8=");

    // A result that is not an HTTP response: inferred (2.0) as a 200 JSON body.
    let answer = request(
        addr,
        "POST",
        "/raw",
        &[("content-type", "application/json")],
        r#"{"k":1}"#,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(
        answer.body["version"], "2.0",
        "the raw event came back as the body"
    );

    // Unknown routes: HTTP API style (there are HTTP API routes), Invoke API errors unchanged.
    let answer = request(addr, "GET", "/nowhere", &[], Vec::new()).await;
    assert_eq!(
        (answer.status, &answer.body),
        (404, &json!({"message": "Not Found"}))
    );
    let signed = &[lambkin_tests::SIGNED];
    let answer = request(
        addr,
        "GET",
        "/2015-03-31/functions/nope",
        signed,
        Vec::new(),
    )
    .await;
    assert_eq!(
        answer.headers["x-amzn-errortype"],
        "ResourceNotFoundException"
    );
    let answer = request(
        addr,
        "GET",
        "/2015-03-31/functions/nope/aliases",
        signed,
        Vec::new(),
    )
    .await;
    assert_eq!(
        answer.headers["x-amzn-errortype"],
        "UnknownOperationException"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_from_cargo_metadata_serve_the_examples() {
    let lambkin = watch(
        repository(),
        &[
            "--no-reload",
            "-p",
            "example-http-api",
            "-p",
            "example-rest-api",
            "-p",
            "example-errors",
        ],
    )
    .await;
    let addr = lambkin.addr;
    let answer = request(addr, "GET", "/users/42", &[], Vec::new()).await;
    assert_eq!(
        (answer.status, &answer.body["name"]),
        (200, &json!("user-42")),
        "{answer:?}"
    );
    assert!(answer.headers.contains_key("apigw-requestid"));
    let answer = request(addr, "GET", "/users/bob", &[], Vec::new()).await;
    assert_eq!(answer.status, 404, "the function's own 404");

    let answer = request(addr, "DELETE", "/rest/a/b?name=x&name=y", &[], Vec::new()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["method"], "DELETE");
    assert_eq!(answer.body["resource"], "/rest/{proxy+}");
    assert_eq!(answer.body["name"], json!(["x", "y"]));

    // A function without routes of its own answers under its name; its error is a 502.
    let answer = request(addr, "POST", "/errors", &[], r#"{"quantity":"900"}"#).await;
    assert_eq!(
        (answer.status, &answer.body),
        (502, &json!({"message": "Internal server error"}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sam_and_serverless_examples_route_the_same_way() {
    for dir in ["examples/sam-app", "examples/serverless-app"] {
        let lambkin = watch(&repository().join(dir), &["--no-reload"]).await;
        let answer = request(lambkin.addr, "GET", "/users/7", &[], Vec::new()).await;
        assert_eq!(
            (answer.status, &answer.body["name"]),
            (200, &json!("user-7")),
            "{dir}: {answer:?}"
        );
        let status = lambkin_tests::get(lambkin.addr, "/_lambkin").await;
        let functions = status.body["functions"]
            .as_array()
            .map(Vec::len)
            .unwrap_or_default();
        assert!(functions >= 3, "{dir}: {status:?}");
    }
}
