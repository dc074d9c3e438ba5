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
    /// A project named `name` (unique per test) whose `template.yaml` is `template`, where
    /// `{fixtures}` stands for the tests crate's directory.
    fn new(name: &str, template: &str) -> SamProject {
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fixtures = repository().join("tests");
        let template = template.replace("{fixtures}", &fixtures.display().to_string());
        std::fs::write(dir.join("template.yaml"), template).unwrap();
        SamProject(dir)
    }

    fn template(&self) -> PathBuf {
        self.0.join("template.yaml")
    }
}

/// REST and HTTP API routes to the `echo-http` and `echo` fixtures.
const ECHO_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
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
            Path: /items/{id}
            Method: get
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
            Path: /files/{proxy+}
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
"#;

impl Drop for SamProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn watch(dir: &Path, args: &[&str]) -> Watching {
    Watching::start_in(&lambkin_binary(), dir, args, &target_dir()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_and_http_api_events_are_what_api_gateway_sends() {
    let project = SamProject::new("sam", ECHO_TEMPLATE);
    let template = project.template();
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

    // HTTP APIs base64 binary bodies (REST APIs only those of their binaryMediaTypes: see
    // `errors_timeouts_request_ids_and_binary_media_are_api_gateways`).
    let binary = vec![0u8, 159, 146, 150, 255];
    let event = echoed(
        &request(
            addr,
            "POST",
            "/files/upload.bin",
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

    // A function without routes of its own answers under its name, as an HTTP API route: its
    // error is a 500.
    let answer = request(addr, "POST", "/errors", &[], r#"{"quantity":"900"}"#).await;
    assert_eq!(
        (answer.status, &answer.body),
        (500, &json!({"message": "Internal Server Error"}))
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

/// The `apigw-probe` fixture behind a REST API and an HTTP API (payload 2.0 and 1.0): a 3 s
/// function timeout, routes with the default integration timeout and routes with a 500 ms one,
/// and `image/png` as the REST API's binary media type.
const PROBE_TEMPLATE: &str = r#"Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 3
  Api:
    BinaryMediaTypes: [image~1png]
Resources:
  RestProbe:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: apigw-probe
      Runtime: provided.al2023
      Events:
        Probe:
          Type: Api
          Properties: {Path: /rest/probe, Method: ANY}
        Short:
          Type: Api
          Properties: {Path: /rest/short, Method: GET, TimeoutInMillis: 500}
  HttpProbe:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: apigw-probe
      Runtime: provided.al2023
      Events:
        Probe:
          Type: HttpApi
          Properties: {Path: /http/probe, Method: ANY}
        Short:
          Type: HttpApi
          Properties: {Path: /http/short, Method: GET, TimeoutInMillis: 500}
        V1:
          Type: HttpApi
          Properties:
            Path: /v1/probe
            Method: GET
            PayloadFormatVersion: "1.0"
            TimeoutInMillis: 500
"#;

/// The probe's answer: its Lambda request id and the event it received.
fn probed(answer: &Answer) -> (String, Value) {
    assert_eq!(answer.status, 200, "{answer:?}");
    let id = answer.body["lambdaRequestId"].as_str().unwrap().to_owned();
    (id, answer.body["event"].clone())
}

/// Whether `id` is a lowercase hyphenated UUID, as Lambda's request ids are.
fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

/// Waits (bounded) until the function that timed out at the gateway has written `marker`, and
/// returns what it wrote: its Lambda request id.
async fn ran_on(marker: &Path) -> String {
    tokio::time::timeout(lambkin_tests::STEP, async {
        loop {
            if let Ok(id) = std::fs::read_to_string(marker)
                && !id.is_empty()
            {
                return id;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the function ran on after the integration timeout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_timeouts_request_ids_and_binary_media_are_api_gateways() {
    let project = SamProject::new("probe", PROBE_TEMPLATE);
    let template = project.template();
    let lambkin = watch(
        repository(),
        &["--no-reload", "--template", template.to_str().unwrap()],
    )
    .await;
    let addr = lambkin.addr;
    let marker = |name: &str| project.0.join(name);

    // The function has a request id of its own; API Gateway's is the event's and the header's.
    let answer = request(addr, "GET", "/rest/probe", &[], Vec::new()).await;
    let (lambda_id, event) = probed(&answer);
    let gateway_id = event["requestContext"]["requestId"].as_str().unwrap();
    assert_eq!(answer.headers["x-amzn-requestid"], gateway_id);
    assert_ne!(lambda_id, gateway_id);
    assert!(
        is_uuid(&lambda_id) && is_uuid(gateway_id),
        "{lambda_id} {gateway_id}"
    );
    let answer = request(addr, "GET", "/http/probe", &[], Vec::new()).await;
    let (lambda_id, event) = probed(&answer);
    let gateway_id = event["requestContext"]["requestId"].as_str().unwrap();
    assert_eq!(answer.headers["apigw-requestid"], gateway_id);
    assert_ne!(lambda_id, gateway_id);
    assert!(is_uuid(&lambda_id), "{lambda_id}");
    let second = probed(&request(addr, "GET", "/http/probe", &[], Vec::new()).await).0;
    assert_ne!(second, lambda_id, "a new id per invocation");

    // A function error: REST 502, HTTP API 500 (payload 2.0 and 1.0 alike).
    let rest_502 = (502, json!({"message": "Internal server error"}));
    let http_500 = (500, json!({"message": "Internal Server Error"}));
    let answer = request(addr, "GET", "/rest/probe?fail=1", &[], Vec::new()).await;
    assert_eq!((answer.status, answer.body), rest_502);
    let answer = request(addr, "GET", "/http/probe?fail=1", &[], Vec::new()).await;
    assert_eq!((answer.status, answer.body.clone()), http_500);
    assert!(answer.headers.contains_key("apigw-requestid"));
    let answer = request(addr, "GET", "/v1/probe?fail=1", &[], Vec::new()).await;
    assert_eq!((answer.status, answer.body), http_500);

    // The function's own 3 s timeout, well inside the integration timeout: the same answers.
    let answer = request(addr, "GET", "/rest/probe?sleep_ms=5000", &[], Vec::new()).await;
    assert_eq!((answer.status, answer.body), rest_502);
    let answer = request(addr, "GET", "/http/probe?sleep_ms=5000", &[], Vec::new()).await;
    assert_eq!((answer.status, answer.body), http_500);

    // Past the 500 ms integration timeout: REST 504, HTTP API 503; the function runs on to its
    // end (it writes the marker 2.5 s in, inside its 3 s timeout).
    let cases = [
        (
            "/rest/short",
            504,
            json!({"message": "Endpoint request timed out"}),
        ),
        (
            "/http/short",
            503,
            json!({"message": "Service Unavailable"}),
        ),
        ("/v1/probe", 503, json!({"message": "Service Unavailable"})),
    ];
    for (path, status, body) in cases {
        let file = marker(&format!("ran{}", path.replace('/', "-")));
        let query = format!("{path}?sleep_ms=2500&touch={}", file.display());
        let answer = request(addr, "GET", &query, &[], Vec::new()).await;
        assert_eq!((answer.status, answer.body), (status, body), "{path}");
        assert!(
            !file.exists(),
            "{path}: the gateway answered before the function ended"
        );
        assert!(is_uuid(&ran_on(&file).await), "{path}");
    }
    // Quick answers on the same routes are unaffected; the 1.0 event is the REST shape.
    let (_, event) = probed(&request(addr, "GET", "/v1/probe", &[], Vec::new()).await);
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert!(
        event["headers"]["host"].is_string(),
        "lowercase names: {event}"
    );

    // REST binaryMediaTypes: a request body is base64 only when its type is one of them...
    let png = vec![0u8, 159, 146, 150, 255];
    let upload = |content_type: &'static str| {
        let body = png.clone();
        async move {
            let headers = [("content-type", content_type)];
            request(addr, "POST", "/rest/probe", &headers, body).await
        }
    };
    let (_, event) = probed(&upload("image/png").await);
    assert_eq!(
        (&event["body"], &event["isBase64Encoded"]),
        (&json!("AJ+Slv8="), &json!(true))
    );
    let (_, event) = probed(&upload("application/octet-stream").await);
    assert_eq!(
        (&event["body"], &event["isBase64Encoded"]),
        (
            &json!("\u{0}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
            &json!(false)
        ),
        "not a binary media type: passed as UTF-8 text"
    );
    // ... and a base64 result is decoded only when the first Accept type is one of them.
    let binary = |path: &'static str, accept: &'static str| async move {
        request(addr, "GET", path, &[("accept", accept)], Vec::new()).await
    };
    let answer = binary("/rest/probe?binary=1", "image/png").await;
    assert_eq!(answer.headers["content-length"], "5", "{answer:?}");
    assert_eq!(answer.body, json!("\u{0}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"));
    let answer = binary("/rest/probe?binary=1", "*/*").await;
    assert_eq!(
        (answer.status, answer.body),
        (200, json!("AJ+Slv8=")),
        "sent as the base64 text it is"
    );
    // HTTP APIs always decode.
    let answer = binary("/http/probe?binary=1", "*/*").await;
    assert_eq!(answer.headers["content-length"], "5", "{answer:?}");
}

/// An HTTP API and a REST API with CORS configured, and an HTTP API without.
const CORS_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Web:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [http://app.localhost:3000]
        AllowMethods: [GET, PUT]
        AllowHeaders: [content-type, x-key]
        ExposeHeaders: [x-total]
        MaxAge: 300
        AllowCredentials: true
  Legacy:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Cors:
        AllowOrigin: "'*'"
        AllowHeaders: "'Content-Type'"
  Counted:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: counter
      Runtime: provided.al2023
      Events:
        Count:
          Type: HttpApi
          Properties: {Path: /count, Method: GET, ApiId: !Ref Web}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo-http
      Runtime: provided.al2023
      Events:
        Plain:
          Type: HttpApi
          Properties: {Path: /plain, Method: ANY}
        AnyCors:
          Type: HttpApi
          Properties: {Path: /any, Method: ANY, ApiId: !Ref Web}
        Rest:
          Type: Api
          Properties: {Path: /rest, Method: GET, RestApiId: !Ref Legacy}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_configured_on_an_api_is_applied_by_the_gateway() {
    let project = SamProject::new("cors", CORS_TEMPLATE);
    let template = project.template();
    let lambkin = watch(
        repository(),
        &["--no-reload", "--template", template.to_str().unwrap()],
    )
    .await;
    let addr = lambkin.addr;
    let header = |answer: &Answer, name: &str| {
        answer
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let app = "http://app.localhost:3000";

    // HTTP API: the gateway answers the preflight; the function is not invoked.
    let preflight = request(
        addr,
        "OPTIONS",
        "/count",
        &[
            ("origin", app),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "x-key"),
        ],
        Vec::new(),
    )
    .await;
    assert_eq!(preflight.status, 204, "{preflight:?}");
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some(app)
    );
    assert_eq!(
        header(&preflight, "access-control-allow-methods").as_deref(),
        Some("GET,PUT")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers").as_deref(),
        Some("content-type,x-key")
    );
    assert_eq!(
        header(&preflight, "access-control-max-age").as_deref(),
        Some("300")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    // The first invocation counts 1: the preflight never reached the function.
    let answer = request(addr, "GET", "/count", &[("origin", app)], Vec::new()).await;
    assert_eq!((answer.status, answer.body.clone()), (200, json!(1)));
    assert_eq!(
        header(&answer, "access-control-allow-origin").as_deref(),
        Some(app)
    );
    assert_eq!(
        header(&answer, "access-control-expose-headers").as_deref(),
        Some("x-total")
    );
    assert_eq!(
        header(&answer, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(header(&answer, "access-control-max-age"), None);
    // Another origin: served, without CORS headers (the browser withholds the answer).
    let other = [("origin", "http://other.localhost:4000")];
    let answer = request(addr, "GET", "/count", &other, Vec::new()).await;
    assert_eq!((answer.status, answer.body.clone()), (200, json!(2)));
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
    let preflight = request(
        addr,
        "OPTIONS",
        "/count",
        &[other[0], ("access-control-request-method", "GET")],
        Vec::new(),
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert!(
        !preflight
            .headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")),
        "{preflight:?}"
    );

    // No CORS configured: the preflight goes to the function, and no CORS header comes back.
    let answer = request(
        addr,
        "OPTIONS",
        "/plain",
        &[("origin", app), ("access-control-request-method", "GET")],
        Vec::new(),
    )
    .await;
    let event = echoed(&answer);
    assert_eq!(event["requestContext"]["http"]["method"], "OPTIONS");
    assert_eq!(header(&answer, "access-control-allow-origin"), None);

    // An ANY route takes OPTIONS to its function, whose answer gets the configured headers.
    let answer = request(
        addr,
        "OPTIONS",
        "/any",
        &[("origin", app), ("access-control-request-method", "GET")],
        Vec::new(),
    )
    .await;
    assert_eq!(
        echoed(&answer)["requestContext"]["http"]["method"],
        "OPTIONS"
    );
    assert_eq!(
        header(&answer, "access-control-allow-origin").as_deref(),
        Some(app)
    );
    assert_eq!(
        header(&answer, "access-control-allow-methods").as_deref(),
        Some("GET,PUT")
    );

    // REST API (SAM's OPTIONS mock integration): the configured values, whatever the origin.
    let preflight = request(
        addr,
        "OPTIONS",
        "/rest",
        &[("origin", app), ("access-control-request-method", "GET")],
        Vec::new(),
    )
    .await;
    assert_eq!(preflight.status, 200, "{preflight:?}");
    assert_eq!(preflight.body, Value::Null, "not the function's echo");
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers").as_deref(),
        Some("Content-Type")
    );
    // The function's own response carries only what the function sets.
    let answer = request(addr, "GET", "/rest", &[("origin", app)], Vec::new()).await;
    assert_eq!(echoed(&answer)["httpMethod"], "GET");
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
}

/// A REST API and an HTTP API in named stages with stage variables, and a function URL with CORS.
const STAGE_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Variables: {table: users-dev}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: v1
      StageVariables: {mode: fast}
  RestEcho:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo-http
      Runtime: provided.al2023
      Events:
        Item:
          Type: Api
          Properties: {Path: '/items/{id}', Method: get, RestApiId: !Ref Rest}
  HttpEcho:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo-http
      Runtime: provided.al2023
      Events:
        Thing:
          Type: HttpApi
          Properties: {Path: '/things/{id}', Method: get, ApiId: !Ref Http}
  UrlEcho:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo-http
      Runtime: provided.al2023
      FunctionUrlConfig:
        AuthType: NONE
        Cors:
          AllowOrigins: [http://app.localhost:3000]
          AllowMethods: [POST]
          AllowHeaders: [x-key]
          ExposeHeaders: [x-total]
          MaxAge: 60
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stages_and_function_url_cors_are_api_gateways_and_lambdas() {
    let project = SamProject::new("stages", STAGE_TEMPLATE);
    let template = project.template();
    let mut lambkin = watch(
        repository(),
        &["--no-reload", "--template", template.to_str().unwrap()],
    )
    .await;
    let addr = lambkin.addr;
    // The route list says where a named stage is served.
    let listed = lambkin
        .wait_for(std::time::Duration::from_secs(30), |l| {
            l.contains("GET /items/{id}")
        })
        .await;
    assert!(listed.contains("(stage dev: also under /dev)"), "{listed}");

    // REST: called as execute-api does (`/dev/…`) or as a custom domain does (no stage).
    let event = echoed(&request(addr, "GET", "/dev/items/7", &[], Vec::new()).await);
    assert_eq!(event["path"], "/items/7");
    assert_eq!(event["resource"], "/items/{id}");
    assert_eq!(event["pathParameters"], json!({"id": "7"}));
    assert_eq!(event["requestContext"]["path"], "/dev/items/7");
    assert_eq!(event["requestContext"]["stage"], "dev");
    assert_eq!(event["stageVariables"], json!({"table": "users-dev"}));
    let event = echoed(&request(addr, "GET", "/items/8", &[], Vec::new()).await);
    assert_eq!(event["path"], "/items/8");
    assert_eq!(event["requestContext"]["path"], "/items/8");
    assert_eq!(event["requestContext"]["stage"], "dev");
    assert_eq!(event["stageVariables"], json!({"table": "users-dev"}));
    // Another stage is no stage of this API: no route (404, the gateway serving an HTTP API too).
    let answer = request(addr, "GET", "/prod/items/7", &[], Vec::new()).await;
    assert_eq!(answer.status, 404, "{answer:?}");

    // HTTP API in stage v1: the path as called, the stage and its variables.
    let event = echoed(&request(addr, "GET", "/v1/things/a", &[], Vec::new()).await);
    assert_eq!(event["rawPath"], "/v1/things/a");
    assert_eq!(event["routeKey"], "GET /things/{id}");
    assert_eq!(event["pathParameters"], json!({"id": "a"}));
    assert_eq!(event["requestContext"]["stage"], "v1");
    assert_eq!(event["stageVariables"], json!({"mode": "fast"}));
    let event = echoed(&request(addr, "GET", "/things/b", &[], Vec::new()).await);
    assert_eq!(event["rawPath"], "/things/b");
    assert_eq!(event["requestContext"]["stage"], "v1");

    // The function URL answers preflights itself, and adds its CORS headers to the function's
    // answers.
    let line = lambkin
        .wait_for(std::time::Duration::from_secs(30), |l| {
            l.contains("UrlEcho") && l.contains("function URL")
        })
        .await;
    let url: std::net::SocketAddr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let header = |answer: &Answer, name: &str| {
        answer
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let app = "http://app.localhost:3000";
    let preflight = request(
        url,
        "OPTIONS",
        "/submit",
        &[("origin", app), ("access-control-request-method", "POST")],
        Vec::new(),
    )
    .await;
    assert_eq!(preflight.status, 200, "{preflight:?}");
    assert_eq!(preflight.body, Value::Null, "not the function's echo");
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some(app)
    );
    assert_eq!(
        header(&preflight, "access-control-allow-methods").as_deref(),
        Some("POST")
    );
    assert_eq!(
        header(&preflight, "access-control-allow-headers").as_deref(),
        Some("x-key")
    );
    assert_eq!(
        header(&preflight, "access-control-max-age").as_deref(),
        Some("60")
    );
    assert_eq!(header(&preflight, "vary").as_deref(), Some("Origin"));
    let answer = request(url, "POST", "/submit", &[("origin", app)], b"{}".to_vec()).await;
    assert_eq!(echoed(&answer)["rawPath"], "/submit");
    assert_eq!(
        header(&answer, "access-control-allow-origin").as_deref(),
        Some(app)
    );
    assert_eq!(
        header(&answer, "access-control-expose-headers").as_deref(),
        Some("x-total")
    );
    assert_eq!(header(&answer, "vary").as_deref(), Some("Origin"));
    // Another origin: no CORS headers, in the preflight or the answer.
    let other = ("origin", "http://other.localhost:4000");
    let answer = request(url, "POST", "/submit", &[other], b"{}".to_vec()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(header(&answer, "access-control-allow-origin"), None);
    // A plain OPTIONS (no preflight) is the function's.
    let answer = request(url, "OPTIONS", "/submit", &[other], Vec::new()).await;
    assert_eq!(
        echoed(&answer)["requestContext"]["http"]["method"],
        "OPTIONS"
    );
}
