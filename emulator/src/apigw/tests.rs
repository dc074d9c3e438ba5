//! Mapping tests, against `aws_lambda_events`' captured AWS fixtures where they exist (read from
//! the crate's source directory at test time, not copied) and against AWS's documented shapes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::alb::AlbTargetGroupRequest;
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use serde_json::{Value, json};

use super::request::{EventOptions, to_event_at};
use super::*;

// ---------------------------------------------------------------- fixtures

/// `aws_lambda_events`' `src/fixtures` directory, found through `cargo metadata`, or failing
/// that in Cargo's registry sources.
fn fixtures_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let out = std::process::Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--offline",
                "--manifest-path",
            ])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .output();
        if let Ok(out) = out
            && out.status.success()
            && let Ok(meta) = serde_json::from_slice::<Value>(&out.stdout)
            && let Some(pkgs) = meta["packages"].as_array()
        {
            for p in pkgs {
                if p["name"] == "aws_lambda_events"
                    && let Some(manifest) = p["manifest_path"].as_str()
                {
                    let dir = PathBuf::from(manifest)
                        .with_file_name("src")
                        .join("fixtures");
                    if dir.is_dir() {
                        return dir;
                    }
                }
            }
        }
        let home = std::env::var("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
            });
        let src = home.join("registry").join("src");
        for index in std::fs::read_dir(&src).into_iter().flatten().flatten() {
            for krate in std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let name = krate.file_name();
                if name.to_string_lossy().starts_with("aws_lambda_events-1.") {
                    let dir = krate.path().join("src").join("fixtures");
                    if dir.is_dir() {
                        return dir;
                    }
                }
            }
        }
        panic!("aws_lambda_events fixtures not found (cargo metadata and {src:?})");
    })
}

fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A JSON object of string values with lowercased keys.
fn lower_keys(v: &Value) -> serde_json::Map<String, Value> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect()
}

// ---------------------------------------------------------------- helpers

fn peer(ip: &str) -> SocketAddr {
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    };
    format!("{host}:50000").parse().unwrap()
}

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Request<Bytes> {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Bytes::copy_from_slice(body)).unwrap()
}

fn route(key: &str, format: PayloadFormat) -> RouteTable {
    RouteTable::new(vec![Route::parse(key, "fn", format).unwrap()]).unwrap()
}

fn map(format: PayloadFormat, key: &str, req: &Request<Bytes>, opts: &EventOptions) -> Value {
    let table = route(key, format);
    let m = table
        .find(req.method(), req.uri().path())
        .expect("route matches");
    super::to_event(req, peer("10.1.2.3"), &m, opts)
        .unwrap()
        .event
}

fn event(format: PayloadFormat, key: &str, req: &Request<Bytes>) -> Value {
    map(format, key, req, &EventOptions::default())
}

/// Headers of a fixture, as a request would carry them (minus what API Gateway adds itself).
fn fixture_headers(v: &Value, skip: &[&str]) -> Vec<(String, String)> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !skip.contains(&k.to_ascii_lowercase().as_str()))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn build(method: &str, uri: &str, headers: &[(String, String)], body: &[u8]) -> Request<Bytes> {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    request(method, uri, &h, body)
}

fn body_of(res: &http::Response<Bytes>) -> String {
    String::from_utf8(res.body().to_vec()).unwrap()
}

// ---------------------------------------------------------------- REST (payload 1.0)

#[test]
fn rest_event_matches_captured_apigw_request() {
    let fx = fixture("example-apigw-request.json");
    // The client sent X-Forwarded-For's first hop; API Gateway appended the address it saw.
    let mut headers = fixture_headers(&fx["headers"], &["x-forwarded-for"]);
    headers.push(("X-Forwarded-For".into(), "54.240.196.186".into()));
    let req = build(
        "POST",
        "/hello/world?name=me",
        &headers,
        b"{\r\n\t\"a\": 1\r\n}",
    );
    let stage = Stage {
        name: "testStage".into(),
        variables: BTreeMap::from([("stageVariableName".into(), "stageVariableValue".into())]),
    };
    let table = RouteTable::new(vec![
        Route::parse("ANY /{proxy+}", "fn", PayloadFormat::Rest)
            .unwrap()
            .with_stage(stage),
    ])
    .unwrap();
    let m = table.find(&Method::POST, "/hello/world").unwrap();
    let opts = EventOptions::default();
    let mine = to_event_at(&req, peer("54.182.214.83"), &m, &opts, SystemTime::now())
        .unwrap()
        .event;

    // Same top-level fields, same requestContext fields (no authorizer: none configured).
    let mut want = keys(&fx);
    want.insert("isBase64Encoded".into()); // AWS always sends it; this capture dropped it
    assert_eq!(keys(&mine), want);
    let mut ctx_want = keys(&fx["requestContext"]);
    ctx_want.remove("authorizer");
    assert_eq!(keys(&mine["requestContext"]), ctx_want);
    assert_eq!(
        keys(&mine["requestContext"]["identity"]),
        keys(&fx["requestContext"]["identity"])
    );

    // Field by field, through the typed struct (header names compare case-insensitively).
    let theirs: ApiGatewayProxyRequest = serde_json::from_value(fx.clone()).unwrap();
    let mut ours: ApiGatewayProxyRequest = serde_json::from_value(mine.clone()).unwrap();
    // This 2016 capture predates API Gateway adding X-Amzn-Trace-Id.
    assert!(ours.headers.remove("x-amzn-trace-id").is_some());
    assert!(ours.multi_value_headers.remove("x-amzn-trace-id").is_some());
    assert_eq!(ours.resource, theirs.resource);
    assert_eq!(ours.path, theirs.path);
    assert_eq!(ours.http_method, theirs.http_method);
    assert_eq!(ours.headers, theirs.headers);
    assert_eq!(ours.multi_value_headers, theirs.multi_value_headers);
    assert_eq!(ours.query_string_parameters, theirs.query_string_parameters);
    assert_eq!(
        ours.multi_value_query_string_parameters,
        theirs.multi_value_query_string_parameters
    );
    assert_eq!(ours.path_parameters, theirs.path_parameters);
    assert_eq!(ours.stage_variables, theirs.stage_variables);
    assert_eq!(ours.body, theirs.body);
    assert_eq!(ours.is_base64_encoded, theirs.is_base64_encoded);
    let (c, t) = (&ours.request_context, &theirs.request_context);
    assert_eq!(c.resource_path, t.resource_path);
    assert_eq!(c.http_method, t.http_method);
    assert_eq!(c.stage, t.stage);
    assert_eq!(c.protocol, t.protocol);
    assert_eq!(c.identity.user_agent, t.identity.user_agent);
    assert_eq!(c.identity.source_ip.as_deref(), Some("54.182.214.83"));
    assert_eq!(
        mine["headers"]["X-Forwarded-For"],
        "54.240.196.186, 54.182.214.83"
    );
    // Header names in title case, as HTTP/1.1 clients send them and REST APIs pass them on.
    for name in [
        "Content-Type",
        "User-Agent",
        "Host",
        "Cloudfront-Viewer-Country",
    ] {
        assert!(mine["headers"].get(name).is_some(), "{name}");
        assert!(mine["multiValueHeaders"].get(name).is_some(), "{name}");
    }
    // Unique id, epoch milliseconds, CLF time.
    assert_eq!(c.request_id.as_deref().map(str::len), Some(36));
    let now_ms = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    assert!(
        (now_ms - c.request_time_epoch).abs() < 60_000,
        "{}",
        c.request_time_epoch
    );
    assert_eq!(
        c.request_time.as_deref().map(str::len),
        t.request_time.as_deref().map(str::len)
    );
    assert_eq!(
        c.domain_name.as_deref(),
        Some("gy415nuibc.execute-api.us-east-1.amazonaws.com")
    );
    assert_eq!(c.domain_prefix.as_deref(), Some("gy415nuibc"));
}

#[test]
fn rest_repeated_query_and_headers_list_all_and_keep_the_last() {
    // The captured multi-value fixture lists name=[me, me2]; AWS's documentation shows the
    // single-value map holding the *last* value (`multivalueName: [you, me]` → `me`).
    let fx = fixture("example-apigw-request-multi-value-parameters.json");
    let req = request(
        "GET",
        "/hello/world?name=me&name=me2&e=a%20b+c&flag",
        &[("x-h", "1"), ("x-h", "2"), ("cookie", "a=1; b=2")],
        b"",
    );
    let ev = event(PayloadFormat::Rest, "GET /hello/{rest+}", &req);
    assert_eq!(
        ev["multiValueQueryStringParameters"]["name"],
        fx["multiValueQueryStringParameters"]["name"]
    );
    assert_eq!(ev["queryStringParameters"]["name"], "me2");
    assert_eq!(ev["queryStringParameters"]["e"], "a b c");
    assert_eq!(ev["queryStringParameters"]["flag"], "");
    assert_eq!(ev["multiValueHeaders"]["X-H"], json!(["1", "2"]));
    assert_eq!(ev["headers"]["X-H"], "2");
    assert_eq!(ev["headers"]["Cookie"], "a=1; b=2");
    assert_eq!(ev["pathParameters"], json!({"rest": "world"}));
    assert_eq!(ev["resource"], "/hello/{rest+}");
    assert_eq!(ev["requestContext"]["resourcePath"], "/hello/{rest+}");
    assert_eq!(ev["requestContext"]["stage"], "Prod");
    // Called without the stage (custom-domain style): the path as called.
    assert_eq!(ev["requestContext"]["path"], "/hello/world");
    assert_eq!(ev["body"], Value::Null);
    assert_eq!(ev["isBase64Encoded"], false);
}

/// A table of one route of `key` in `format`, in `stage` with one variable.
fn staged(key: &str, format: PayloadFormat, stage: &str) -> RouteTable {
    let stage = Stage {
        name: stage.into(),
        variables: BTreeMap::from([("table".into(), "users-dev".into())]),
    };
    RouteTable::new(vec![
        Route::parse(key, "fn", format).unwrap().with_stage(stage),
    ])
    .unwrap()
}

fn staged_event(table: &RouteTable, uri: &str) -> Value {
    let req = request("GET", uri, &[], b"");
    let m = table
        .find(req.method(), req.uri().path())
        .expect("route matches");
    super::to_event(&req, peer("10.1.2.3"), &m, &EventOptions::default())
        .unwrap()
        .event
}

#[test]
fn rest_events_carry_the_stage_called_with_or_without_its_prefix() {
    let table = staged("GET /hello/{name}", PayloadFormat::Rest, "dev");
    // execute-api style: the stage is the first segment of the path.
    let ev = staged_event(&table, "/dev/hello/a%20b");
    assert_eq!(ev["path"], "/hello/a%20b");
    assert_eq!(ev["resource"], "/hello/{name}");
    assert_eq!(ev["pathParameters"], json!({"name": "a b"}));
    assert_eq!(ev["requestContext"]["path"], "/dev/hello/a%20b");
    assert_eq!(ev["requestContext"]["stage"], "dev");
    assert_eq!(ev["stageVariables"], json!({"table": "users-dev"}));
    // Custom-domain style: no stage in the path.
    let ev = staged_event(&table, "/hello/x");
    assert_eq!(ev["path"], "/hello/x");
    assert_eq!(ev["requestContext"]["path"], "/hello/x");
    assert_eq!(ev["requestContext"]["stage"], "dev");
    assert_eq!(ev["stageVariables"], json!({"table": "users-dev"}));
    // Another first segment is not a stage.
    assert!(table.find(&Method::GET, "/Prod/hello/x").is_none());
}

#[test]
fn a_path_that_only_looks_staged_is_matched_as_it_is() {
    let table = RouteTable::new(vec![
        Route::parse("GET /dev/items", "literal", PayloadFormat::Rest)
            .unwrap()
            .with_stage(Stage::named("dev")),
        Route::parse("GET /items", "plain", PayloadFormat::Rest)
            .unwrap()
            .with_stage(Stage::named("dev")),
    ])
    .unwrap();
    // `/dev/items` is `/items` called in stage dev: that route wins.
    let m = table.find(&Method::GET, "/dev/items").unwrap();
    assert_eq!(m.route.function(), "plain");
    assert_eq!(m.unstaged_path.as_deref(), Some("/items"));
    // `/dev/dev/items` is the literal route called in stage dev.
    let m = table.find(&Method::GET, "/dev/dev/items").unwrap();
    assert_eq!(m.route.function(), "literal");
    // A stage of no route is no prefix.
    let other = staged("GET /items", PayloadFormat::Rest, "prod");
    assert!(other.find(&Method::GET, "/dev/items").is_none());
    // A staged path is matched among its stage's routes, however specific another API's are.
    let mixed = RouteTable::new(vec![
        Route::parse("ANY /{proxy+}", "rest", PayloadFormat::Rest)
            .unwrap()
            .with_stage(Stage::named("dev")),
        Route::parse("GET /items", "http", PayloadFormat::Http).unwrap(),
    ])
    .unwrap();
    let m = mixed.find(&Method::GET, "/dev/items").unwrap();
    assert_eq!(m.route.function(), "rest");
    assert_eq!(m.path_parameters["proxy"], "items");
    assert_eq!(
        mixed.find(&Method::GET, "/items").unwrap().route.function(),
        "http"
    );
}

#[test]
fn http_api_events_carry_named_stages_and_keep_the_path_as_called() {
    for key in ["GET /hello", "$default"] {
        let table = staged(key, PayloadFormat::Http, "v1");
        let ev = staged_event(&table, "/v1/hello");
        assert_eq!(ev["rawPath"], "/v1/hello", "{key}");
        assert_eq!(ev["requestContext"]["http"]["path"], "/v1/hello");
        assert_eq!(ev["requestContext"]["stage"], "v1");
        assert_eq!(ev["routeKey"], key);
        assert_eq!(ev["stageVariables"], json!({"table": "users-dev"}));
        let ev = staged_event(&table, "/hello");
        assert_eq!(ev["rawPath"], "/hello");
        assert_eq!(ev["requestContext"]["stage"], "v1");
    }
    // Payload 1.0 of an HTTP API: the stage and its variables, the path as called.
    let table = staged("GET /hello", PayloadFormat::HttpV1, "v1");
    let ev = staged_event(&table, "/v1/hello");
    assert_eq!(ev["requestContext"]["stage"], "v1");
    assert_eq!(ev["path"], "/v1/hello");
    assert_eq!(ev["requestContext"]["path"], "/v1/hello");
    assert_eq!(ev["stageVariables"], json!({"table": "users-dev"}));
    // `$default` is never a path prefix.
    let table = route("GET /hello", PayloadFormat::Http);
    assert!(table.find(&Method::GET, "/$default/hello").is_none());
}

#[test]
fn rest_empty_maps_are_null() {
    let ev = event(PayloadFormat::Rest, "GET /", &request("GET", "/", &[], b""));
    for k in [
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ] {
        assert_eq!(ev[k], Value::Null, "{k}");
    }
    // Parses as the type a Rust function would use.
    let _: ApiGatewayProxyRequest = serde_json::from_value(ev).unwrap();
}

#[test]
fn rest_path_stays_encoded_and_parameters_are_decoded() {
    let req = request("GET", "/users/a%2Bb%40c?q=x%26y", &[], b"");
    let ev = event(PayloadFormat::Rest, "GET /users/{id}", &req);
    assert_eq!(ev["path"], "/users/a%2Bb%40c");
    assert_eq!(ev["pathParameters"]["id"], "a+b@c");
    assert_eq!(ev["queryStringParameters"]["q"], "x&y");
}

#[test]
fn rest_binary_bodies() {
    let png = [0x89, b'P', b'N', b'G', 0, 0xFF];
    // Without binaryMediaTypes a REST API passes any body as UTF-8 text: bytes that are not
    // UTF-8 are replaced, and isBase64Encoded stays false.
    let ev = event(
        PayloadFormat::Rest,
        "POST /up",
        &request("POST", "/up", &[("content-type", "image/png")], &png),
    );
    assert_eq!(
        (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
        (Some("\u{FFFD}PNG\0\u{FFFD}"), Some(false))
    );
    // A content type among binaryMediaTypes: base64, UTF-8 or not.
    let opts = EventOptions {
        binary_media_types: vec!["application/octet-stream".into(), "image/*".into()],
        ..EventOptions::default()
    };
    let ev = map(
        PayloadFormat::Rest,
        "POST /up",
        &request("POST", "/up", &[("content-type", "image/png")], &png),
        &opts,
    );
    assert_eq!(ev["isBase64Encoded"], true);
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(ev["body"].as_str().unwrap())
            .unwrap(),
        png
    );
    let req = request(
        "POST",
        "/up",
        &[("content-type", "application/octet-stream")],
        b"abc",
    );
    let ev = map(PayloadFormat::Rest, "POST /up", &req, &opts);
    assert_eq!(
        (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
        (Some("YWJj"), Some(true))
    );
    let req = request("POST", "/up", &[("content-type", "Image/GIF; x=y")], b"abc");
    assert_eq!(
        map(PayloadFormat::Rest, "POST /up", &req, &opts)["isBase64Encoded"],
        true
    );
    // Other types stay text.
    let req = request(
        "POST",
        "/up",
        &[("content-type", "application/json")],
        b"{}",
    );
    let ev = map(PayloadFormat::Rest, "POST /up", &req, &opts);
    assert_eq!(
        (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
        (Some("{}"), Some(false))
    );
}

#[test]
fn a_routes_own_binary_media_types_apply_to_its_rest_events() {
    let route = Route::parse("POST /up", "fn", PayloadFormat::Rest)
        .unwrap()
        .with_binary_media_types(vec!["*/*".into()]);
    let table = RouteTable::new(vec![route]).unwrap();
    let req = request("POST", "/up", &[("content-type", "text/plain")], b"hi");
    let matched = table.find(req.method(), "/up").unwrap();
    let ev = super::to_event(&req, peer("10.1.2.3"), &matched, &EventOptions::default())
        .unwrap()
        .event;
    // `*/*` makes every body binary, text included.
    assert_eq!(
        (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
        (Some("aGk="), Some(true))
    );
}

#[test]
fn rest_answers_binary_when_the_first_accept_type_is_binary() {
    let route = Route::parse("GET /img", "fn", PayloadFormat::Rest)
        .unwrap()
        .with_binary_media_types(vec!["image/png".into(), "application/*".into()]);
    let opts = EventOptions::default();
    let accepts = |accept: Option<&str>| {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(http::header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        accepts_binary(&headers, &route, &opts)
    };
    assert!(accepts(Some("image/png")));
    assert!(accepts(Some("image/png;q=0.9, text/html")));
    assert!(accepts(Some("application/pdf")));
    // Only the first media type counts; `*/*` is not `image/png`.
    assert!(!accepts(Some("text/html, image/png")));
    assert!(!accepts(Some("*/*")));
    assert!(!accepts(None));
    // With `*/*` among the types, every request is answered in binary.
    let all = route.clone().with_binary_media_types(vec!["*/*".into()]);
    assert!(accepts_binary(&HeaderMap::new(), &all, &opts));

    // The result body is decoded only then; otherwise the base64 text goes out as it is.
    let result = br#"{"statusCode":200,"headers":{"content-type":"image/png"},"body":"AJ+Slv8=","isBase64Encoded":true}"#;
    let decoded = from_result_with(PayloadFormat::Rest, result, true);
    assert_eq!(decoded.body().as_ref(), [0, 159, 146, 150, 255]);
    let kept = from_result_with(PayloadFormat::Rest, result, false);
    assert_eq!(kept.body().as_ref(), b"AJ+Slv8=");
    assert_eq!(kept.status(), StatusCode::OK);
    // HTTP APIs always decode.
    let http = from_result(PayloadFormat::Http, result);
    assert_eq!(http.body().as_ref(), [0, 159, 146, 150, 255]);
}

#[test]
fn integration_timeouts_default_to_the_api_types_limits() {
    let timeout = |format| {
        Route::parse("GET /a", "fn", format)
            .unwrap()
            .integration_timeout()
    };
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
    assert_eq!(timeout(PayloadFormat::Rest), Some(Duration::from_secs(29)));
    assert_eq!(timeout(PayloadFormat::Http), Some(Duration::from_secs(30)));
    assert_eq!(
        timeout(PayloadFormat::HttpV1),
        Some(Duration::from_secs(30))
    );
    // Function URLs and ALBs wait for the function.
    assert_eq!(timeout(PayloadFormat::FunctionUrl), None);
    assert_eq!(timeout(PayloadFormat::Alb), None);
    let set = Route::parse("GET /a", "fn", PayloadFormat::Http)
        .unwrap()
        .with_integration_timeout(Duration::from_millis(250));
    assert_eq!(set.integration_timeout(), Some(Duration::from_millis(250)));
}

// ---------------------------------------------------------------- HTTP API (payload 2.0)

#[test]
fn http_event_matches_captured_v2_request() {
    let fx = fixture("example-apigw-v2-request-no-authorizer.json");
    let headers = fixture_headers(&fx["headers"], &["x-forwarded-for"]);
    let req = build("GET", "/", &headers, b"");
    let table = route("$default", PayloadFormat::Http);
    let m = table.find(&Method::GET, "/").unwrap();
    let mine = to_event_at(
        &req,
        peer("1.2.3.4"),
        &m,
        &EventOptions::default(),
        SystemTime::now(),
    )
    .unwrap()
    .event;

    assert_eq!(keys(&mine), keys(&fx));
    let mut ctx_want = keys(&fx["requestContext"]);
    ctx_want.remove("authentication"); // mutual TLS only
    assert_eq!(keys(&mine["requestContext"]), ctx_want);
    for k in [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "isBase64Encoded",
    ] {
        assert_eq!(mine[k], fx[k], "{k}");
    }
    assert_eq!(mine["requestContext"]["http"], fx["requestContext"]["http"]);
    for k in ["routeKey", "stage"] {
        assert_eq!(mine["requestContext"][k], fx["requestContext"][k], "{k}");
    }
    let ours: ApiGatewayV2httpRequest = serde_json::from_value(mine.clone()).unwrap();
    let theirs: ApiGatewayV2httpRequest = serde_json::from_value(fx).unwrap();
    assert_eq!(ours.headers, theirs.headers);
    assert_eq!(ours.request_context.http, theirs.request_context.http);
    assert_eq!(
        ours.request_context.time.as_deref().map(str::len),
        theirs.request_context.time.as_deref().map(str::len)
    );
}

#[test]
fn http_repeated_values_join_with_commas_and_cookies_split() {
    let fx = fixture("example-apigw-v2-request-multi-value-parameters.json");
    let req = request(
        "POST",
        "/my/path?Parameter1=value1&Parameter1=value2",
        &[
            ("header2", "value1"),
            ("header2", "value2"),
            ("cookie", "cookie1"),
            ("cookie", "cookie2"),
            ("content-type", "application/json"),
        ],
        b"{\r\n\t\"a\": 1\r\n}",
    );
    let ev = event(PayloadFormat::Http, "$default", &req);
    assert_eq!(ev["rawQueryString"], fx["rawQueryString"]);
    assert_eq!(ev["queryStringParameters"], fx["queryStringParameters"]);
    assert_eq!(ev["cookies"], fx["cookies"]);
    assert_eq!(
        ev["headers"]["header2"],
        lower_keys(&fx["headers"])["header2"]
    );
    assert!(ev["headers"].get("cookie").is_none());
    assert_eq!(ev["body"], fx["body"]);
    assert_eq!(ev["isBase64Encoded"], fx["isBase64Encoded"]);

    let req = request(
        "GET",
        "/",
        &[("cookie", "a=1; b=2"), ("cookie", "c=3")],
        b"",
    );
    assert_eq!(
        event(PayloadFormat::Http, "$default", &req)["cookies"],
        json!(["a=1", "b=2", "c=3"])
    );
}

#[test]
fn http_route_key_path_parameters_and_decoded_path() {
    let req = request(
        "GET",
        "/users/j%C3%B6rg/files/a%20b/c.txt?x=%2F&y=1&y=2",
        &[],
        b"",
    );
    let ev = event(
        PayloadFormat::Http,
        "GET /users/{name}/files/{proxy+}",
        &req,
    );
    assert_eq!(ev["routeKey"], "GET /users/{name}/files/{proxy+}");
    assert_eq!(
        ev["requestContext"]["routeKey"],
        "GET /users/{name}/files/{proxy+}"
    );
    assert_eq!(
        ev["pathParameters"],
        json!({"name": "jörg", "proxy": "a b/c.txt"})
    );
    assert_eq!(ev["rawPath"], "/users/jörg/files/a b/c.txt");
    assert_eq!(
        ev["requestContext"]["http"]["path"],
        "/users/jörg/files/a b/c.txt"
    );
    assert_eq!(ev["rawQueryString"], "x=%2F&y=1&y=2");
    assert_eq!(ev["queryStringParameters"], json!({"x": "/", "y": "1,2"}));
    assert_eq!(ev["requestContext"]["stage"], "$default");
    assert!(ev.get("body").is_none());
    assert!(ev.get("stageVariables").is_none());
    assert!(ev.get("cookies").is_none());
}

#[test]
fn http_binary_bodies() {
    let cases: &[(Option<&str>, &[u8], bool)] = &[
        (Some("text/plain; charset=utf-8"), b"hi", false),
        (Some("application/json"), b"{}", false),
        (Some("application/xml"), b"<a/>", false),
        (Some("application/javascript"), b"1", false),
        (Some("application/octet-stream"), b"hi", true),
        (Some("application/x-www-form-urlencoded"), b"a=1", true),
        (Some("image/png"), b"\x89PNG", true),
        (None, b"hi", true),
        (Some("text/plain"), b"\xff\xfe", true),
    ];
    for (ct, body, b64) in cases {
        let headers: Vec<(&str, &str)> = ct.iter().map(|c| ("content-type", *c)).collect();
        let ev = event(
            PayloadFormat::Http,
            "$default",
            &request("POST", "/", &headers, body),
        );
        assert_eq!(ev["isBase64Encoded"], *b64, "{ct:?}");
        let got = ev["body"].as_str().unwrap();
        let bytes = if *b64 {
            base64::engine::general_purpose::STANDARD
                .decode(got)
                .unwrap()
        } else {
            got.as_bytes().to_vec()
        };
        assert_eq!(bytes, *body, "{ct:?}");
    }
}

#[test]
fn request_ids_are_unique() {
    let table = route("$default", PayloadFormat::Http);
    let req = request("GET", "/", &[], b"");
    let m = table.find(&Method::GET, "/").unwrap();
    let ids: BTreeSet<String> = (0..50)
        .map(|_| super::to_event(&req, peer("127.0.0.1"), &m, &EventOptions::default()).unwrap())
        .map(|e| {
            assert_eq!(
                e.event["requestContext"]["requestId"],
                e.request_id.as_str()
            );
            e.request_id
        })
        .collect();
    assert_eq!(ids.len(), 50);
    assert!(ids.iter().all(|id| id.len() == 16 && id.ends_with('=')));
}

#[test]
fn times_are_epoch_milliseconds_and_clf() {
    let t = UNIX_EPOCH + Duration::from_millis(1_587_481_701_067); // 21/Apr/2020:15:08:21
    let req = request("GET", "/", &[], b"");
    let table = route("$default", PayloadFormat::Http);
    let m = table.find(&Method::GET, "/").unwrap();
    let ev = to_event_at(
        &req,
        peer("::ffff:1.2.3.4"),
        &m,
        &EventOptions::default(),
        t,
    )
    .unwrap()
    .event;
    assert_eq!(ev["requestContext"]["timeEpoch"], 1_587_481_701_067_i64);
    assert_eq!(ev["requestContext"]["time"], "21/Apr/2020:15:08:21 +0000");
    assert_eq!(ev["requestContext"]["http"]["sourceIp"], "1.2.3.4");
    let rest = route("$default", PayloadFormat::Rest);
    let m = rest.find(&Method::GET, "/").unwrap();
    let ev = to_event_at(&req, peer("::1"), &m, &EventOptions::default(), t)
        .unwrap()
        .event;
    assert_eq!(
        ev["requestContext"]["requestTimeEpoch"],
        1_587_481_701_067_i64
    );
    assert_eq!(
        ev["requestContext"]["requestTime"],
        "21/Apr/2020:15:08:21 +0000"
    );
    assert_eq!(ev["requestContext"]["identity"]["sourceIp"], "::1");
}

// ---------------------------------------------------------------- function URLs

#[test]
fn function_url_event_has_the_documented_shape() {
    let req = request(
        "POST",
        "/my/pa%20th?parameter1=value1&parameter1=value2&parameter2=value",
        &[
            ("host", "abc123.lambda-url.us-west-2.on.aws"),
            ("cookie", "c1=1; c2=2"),
            ("header2", "value1"),
            ("header2", "value2"),
            ("content-type", "text/plain"),
            ("user-agent", "agent"),
        ],
        b"Hello from client!",
    );
    let ev = event(PayloadFormat::FunctionUrl, "$default", &req);
    // AWS's documented request payload, minus the fields it documents as null or excluded.
    assert_eq!(
        keys(&ev),
        set(&[
            "version",
            "routeKey",
            "rawPath",
            "rawQueryString",
            "cookies",
            "headers",
            "queryStringParameters",
            "requestContext",
            "body",
            "isBase64Encoded"
        ])
    );
    assert_eq!(
        keys(&ev["requestContext"]),
        set(&[
            "accountId",
            "apiId",
            "authorizer",
            "domainName",
            "domainPrefix",
            "http",
            "requestId",
            "routeKey",
            "stage",
            "time",
            "timeEpoch"
        ])
    );
    assert_eq!(ev["rawPath"], "/my/pa%20th");
    assert_eq!(ev["cookies"], json!(["c1=1", "c2=2"]));
    // Function URLs keep the cookie header too (HTTP APIs drop it).
    assert_eq!(ev["headers"]["cookie"], "c1=1; c2=2");
    assert_eq!(ev["headers"]["header2"], "value1,value2");
    assert_eq!(
        ev["queryStringParameters"],
        json!({"parameter1": "value1,value2", "parameter2": "value"})
    );
    assert_eq!(
        ev["requestContext"]["domainName"],
        "abc123.lambda-url.us-west-2.on.aws"
    );
    assert_eq!(ev["requestContext"]["apiId"], "abc123");
    assert_eq!(ev["requestContext"]["http"]["method"], "POST");
    assert_eq!(ev["requestContext"]["http"]["userAgent"], "agent");
    assert_eq!(ev["requestContext"]["authorizer"], Value::Null);
    assert_eq!(ev["body"], "Hello from client!");
    let typed: LambdaFunctionUrlRequest = serde_json::from_value(ev).unwrap();
    assert_eq!(
        typed.request_context.http.path.as_deref(),
        Some("/my/pa%20th")
    );
}

// ---------------------------------------------------------------- ALB

#[test]
fn alb_event_matches_captured_requests() {
    let fx = fixture("example-alb-lambda-target-request-headers-only.json");
    let headers = fixture_headers(&fx["headers"], &["x-forwarded-for"]);
    let req = build("GET", "/?key=hello", &headers, b"");
    let table = route("$default", PayloadFormat::Alb);
    let m = table.find(&Method::GET, "/").unwrap();
    let mine = to_event_at(
        &req,
        peer("25.12.198.67"),
        &m,
        &EventOptions::default(),
        SystemTime::now(),
    )
    .unwrap()
    .event;
    let mut want = keys(&fx);
    want.insert("body".into()); // ALB sends "" for no body (see its health check event)
    assert_eq!(keys(&mine), want);
    for k in [
        "httpMethod",
        "path",
        "queryStringParameters",
        "headers",
        "isBase64Encoded",
    ] {
        assert_eq!(mine[k], fx[k], "{k}");
    }
    assert_eq!(mine["body"], "");
    let ours: AlbTargetGroupRequest = serde_json::from_value(mine).unwrap();
    let theirs: AlbTargetGroupRequest = serde_json::from_value(fx).unwrap();
    assert_eq!(ours.headers, theirs.headers);

    let fx = fixture("example-alb-lambda-target-request-multivalue-headers.json");
    let headers = fixture_headers(
        &Value::Object(
            fx["multiValueHeaders"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v[0].clone()))
                .collect(),
        ),
        &["x-forwarded-for"],
    );
    let req = build("GET", "/?key=hello", &headers, b"");
    let opts = EventOptions {
        alb_multi_value_headers: true,
        ..EventOptions::default()
    };
    let m = table.find(&Method::GET, "/").unwrap();
    let mine = to_event_at(&req, peer("72.21.198.67"), &m, &opts, SystemTime::now())
        .unwrap()
        .event;
    assert_eq!(keys(&mine), keys(&fx));
    for k in [
        "httpMethod",
        "path",
        "multiValueQueryStringParameters",
        "multiValueHeaders",
    ] {
        assert_eq!(mine[k], fx[k], "{k}");
    }
}

#[test]
fn alb_query_is_not_decoded_and_last_value_wins() {
    let req = request(
        "GET",
        "/p%20q?a=1&a=x%20y&h=%2F",
        &[("x", "1"), ("x", "2")],
        b"",
    );
    let ev = event(PayloadFormat::Alb, "$default", &req);
    assert_eq!(ev["path"], "/p%20q");
    assert_eq!(
        ev["queryStringParameters"],
        json!({"a": "x%20y", "h": "%2F"})
    );
    assert_eq!(ev["headers"]["x"], "2");
    assert!(ev.get("multiValueHeaders").is_none());
    assert!(
        ev["requestContext"]["elb"]["targetGroupArn"]
            .as_str()
            .unwrap()
            .contains(":targetgroup/fn/")
    );
    let ev = event(
        PayloadFormat::Alb,
        "$default",
        &request("POST", "/", &[("content-type", "application/pdf")], b"%PDF"),
    );
    assert_eq!(
        (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
        (Some("JVBERg=="), Some(true))
    );
}

// ---------------------------------------------------------------- responses

#[test]
fn rest_response_fixture_maps_to_http() {
    let fx = fixture("example-apigw-response.json");
    let res = from_result(PayloadFormat::Rest, fx.to_string().as_bytes());
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_of(&res), "Hello World");
    let typed: ApiGatewayProxyResponse = serde_json::from_value(fx).unwrap();
    for (name, value) in &typed.headers {
        assert_eq!(
            res.headers().get_all(name).iter().collect::<Vec<_>>(),
            vec![value]
        );
    }
}

#[test]
fn alb_response_fixture_multi_value_headers_win() {
    let fx = fixture("example-alb-lambda-target-response.json");
    let res = from_result(PayloadFormat::Alb, fx.to_string().as_bytes());
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_of(&res), "Hello from Lambda");
    let cookies: Vec<_> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        cookies,
        fx["multiValueHeaders"]["Set-cookie"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect::<Vec<_>>()
    );
    assert_eq!(res.headers().get_all("content-type").iter().count(), 1);
}

#[test]
fn v2_structured_response_round_trip() {
    // What a Rust function returning `ApiGatewayV2httpResponse` sends.
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = 201;
    out.headers.insert("x-one", HeaderValue::from_static("1"));
    out.multi_value_headers
        .append("x-many", HeaderValue::from_static("a"));
    out.multi_value_headers
        .append("x-many", HeaderValue::from_static("b"));
    out.cookies = vec!["a=1; Path=/".into(), "b=2; Max-Age=60".into()];
    out.body = Some(Body::Binary(vec![0, 1, 2, 255]));
    out.is_base64_encoded = true;
    let res = from_result(PayloadFormat::Http, &serde_json::to_vec(&out).unwrap());
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.body().as_ref(), &[0, 1, 2, 255]);
    assert_eq!(res.headers()["x-one"], "1");
    assert_eq!(
        res.headers().get_all("x-many").iter().collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    assert_eq!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .collect::<Vec<_>>(),
        vec!["a=1; Path=/", "b=2; Max-Age=60"]
    );

    // v1 struct, text body; REST ignores `cookies`.
    let mut out = ApiGatewayProxyResponse::default();
    out.status_code = 404;
    out.body = Some(Body::Text("nope".into()));
    let res = from_result(PayloadFormat::Rest, &serde_json::to_vec(&out).unwrap());
    assert_eq!(
        (res.status(), body_of(&res)),
        (StatusCode::NOT_FOUND, "nope".to_owned())
    );
    let res = from_result(
        PayloadFormat::Rest,
        br#"{"statusCode":200,"cookies":["a=1"],"headers":{"X-N":5,"X-B":true,"X-Null":null}}"#,
    );
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(
        (
            res.headers()["x-n"].to_str().unwrap(),
            res.headers()["x-b"].to_str().unwrap()
        ),
        ("5", "true")
    );
    assert!(res.body().is_empty());
}

#[test]
fn v2_infers_a_response_from_any_other_json() {
    for (format, result, body) in [
        (
            PayloadFormat::Http,
            r#"{"message":"hi"}"#,
            r#"{"message":"hi"}"#,
        ),
        (
            PayloadFormat::Http,
            r#""Hello from Lambda!""#,
            "Hello from Lambda!",
        ),
        (PayloadFormat::Http, "[1, 2]", "[1, 2]"),
        (PayloadFormat::Http, "42", "42"),
        (PayloadFormat::Http, "null", "null"),
        (
            PayloadFormat::FunctionUrl,
            r#""Hello, world!""#,
            r#""Hello, world!""#,
        ),
        (
            PayloadFormat::FunctionUrl,
            r#"{"status":"x"}"#,
            r#"{"status":"x"}"#,
        ),
    ] {
        let res = try_from_result(format, result.as_bytes()).unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{result}");
        assert_eq!(res.headers()["content-type"], "application/json");
        assert_eq!(body_of(&res), body, "{format:?} {result}");
    }
}

#[test]
fn malformed_results_are_integration_errors() {
    let cases: &[(PayloadFormat, &str, ResultError)] = &[
        (PayloadFormat::Http, "not json", ResultError::NotJson),
        (PayloadFormat::Http, "", ResultError::NotJson),
        (
            PayloadFormat::Rest,
            r#"{"body":"x"}"#,
            ResultError::NotAResponse,
        ),
        (PayloadFormat::Rest, r#""hello""#, ResultError::NotAResponse),
        (PayloadFormat::Alb, "[]", ResultError::NotAResponse),
        (
            PayloadFormat::Http,
            r#"{"statusCode":"abc"}"#,
            ResultError::BadStatus,
        ),
        (
            PayloadFormat::Http,
            r#"{"statusCode":1000}"#,
            ResultError::BadStatus,
        ),
        (
            PayloadFormat::Rest,
            r#"{"statusCode":-1}"#,
            ResultError::BadStatus,
        ),
        (
            PayloadFormat::Rest,
            r#"{"statusCode":200.5}"#,
            ResultError::BadStatus,
        ),
        (
            PayloadFormat::Rest,
            r#"{"statusCode":null}"#,
            ResultError::BadStatus,
        ),
        (
            PayloadFormat::Rest,
            r#"{"statusCode":200,"headers":[]}"#,
            ResultError::BadField("headers"),
        ),
        (
            PayloadFormat::Rest,
            r#"{"statusCode":200,"headers":{"a":{}}}"#,
            ResultError::BadField("headers"),
        ),
        (
            PayloadFormat::Rest,
            r#"{"statusCode":200,"multiValueHeaders":{"a":[[]]}}"#,
            ResultError::BadField("multiValueHeaders"),
        ),
        (
            PayloadFormat::Rest,
            r#"{"statusCode":200,"body":{"a":1}}"#,
            ResultError::BadField("body"),
        ),
        (
            PayloadFormat::Http,
            r#"{"statusCode":200,"cookies":"a=1"}"#,
            ResultError::BadField("cookies"),
        ),
        (
            PayloadFormat::Http,
            r#"{"statusCode":200,"cookies":[1]}"#,
            ResultError::BadField("cookies"),
        ),
        (
            PayloadFormat::Http,
            r#"{"statusCode":200,"isBase64Encoded":1}"#,
            ResultError::BadField("isBase64Encoded"),
        ),
        (
            PayloadFormat::Http,
            r#"{"statusCode":200,"isBase64Encoded":true,"body":"***"}"#,
            ResultError::BadBase64,
        ),
    ];
    for (format, result, err) in cases {
        assert_eq!(
            try_from_result(*format, result.as_bytes()).unwrap_err(),
            *err,
            "{result}"
        );
        // A malformed result is a failed integration: REST 502, HTTP APIs 500.
        let res = from_result(*format, result.as_bytes());
        let expected = match format {
            PayloadFormat::Http | PayloadFormat::HttpV1 => (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"message":"Internal Server Error"}"#,
            ),
            _ => (
                StatusCode::BAD_GATEWAY,
                r#"{"message": "Internal server error"}"#,
            ),
        };
        assert_eq!((res.status(), body_of(&res).as_str()), expected, "{result}");
        assert_eq!(res.headers()["content-type"], "application/json");
    }
    // Accepted leniencies: a numeric string status, an absent body, bare multi-value strings.
    let res = try_from_result(
        PayloadFormat::Rest,
        br#"{"statusCode":"204","multiValueHeaders":{"x":"y"}}"#,
    )
    .unwrap();
    assert_eq!(
        (res.status(), res.headers()["x"].to_str().unwrap()),
        (StatusCode::NO_CONTENT, "y")
    );
}

#[test]
fn gateway_answers() {
    let nf = not_found(PayloadFormat::Http);
    assert_eq!(
        (nf.status(), body_of(&nf)),
        (
            StatusCode::NOT_FOUND,
            r#"{"message":"Not Found"}"#.to_owned()
        )
    );
    let nf = not_found(PayloadFormat::Rest);
    assert_eq!(
        (nf.status(), body_of(&nf)),
        (
            StatusCode::FORBIDDEN,
            r#"{"message":"Missing Authentication Token"}"#.to_owned()
        )
    );
    // A function error, a crash, the function's own timeout or a malformed result: REST APIs
    // 502 (https://docs.aws.amazon.com/lambda/latest/dg/services-apigateway-errors.html), HTTP
    // APIs 500 in either payload format
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
    let failed = |format| {
        let res = integration_error(format);
        (res.status(), body_of(&res))
    };
    let rest_502 = (
        StatusCode::BAD_GATEWAY,
        r#"{"message": "Internal server error"}"#.to_owned(),
    );
    let http_500 = (
        StatusCode::INTERNAL_SERVER_ERROR,
        r#"{"message":"Internal Server Error"}"#.to_owned(),
    );
    assert_eq!(failed(PayloadFormat::Rest), rest_502);
    assert_eq!(failed(PayloadFormat::Http), http_500);
    assert_eq!(failed(PayloadFormat::HttpV1), http_500);
    let res = internal_server_error();
    assert_eq!((res.status(), body_of(&res)), rest_502);
    // The integration timeout: REST 504, HTTP APIs 503 (either payload format).
    let timed_out = |format| {
        let res = integration_timeout(format);
        assert_eq!(res.headers()["content-type"], "application/json");
        (res.status(), body_of(&res))
    };
    assert_eq!(
        timed_out(PayloadFormat::Rest),
        (
            StatusCode::GATEWAY_TIMEOUT,
            r#"{"message": "Endpoint request timed out"}"#.to_owned()
        )
    );
    let http_503 = (
        StatusCode::SERVICE_UNAVAILABLE,
        r#"{"message":"Service Unavailable"}"#.to_owned(),
    );
    assert_eq!(timed_out(PayloadFormat::Http), http_503);
    assert_eq!(timed_out(PayloadFormat::HttpV1), http_503);
    let big = payload_too_large();
    assert_eq!(
        (big.status(), body_of(&big)),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            r#"{"message":"Request Entity Too Large"}"#.to_owned()
        )
    );
    assert_eq!(MAX_REQUEST_BODY, 10_485_760);
}

#[test]
fn hop_by_hop_headers_are_dropped() {
    let res = from_result(PayloadFormat::Http, br#"{"statusCode":200,"headers":{"Content-Length":"999","Connection":"close","Bad Name":"x","ok":"bad\nvalue"},"body":"x"}"#);
    assert!(res.headers().is_empty(), "{:?}", res.headers());
}

// ---------------------------------------------------------------- no panics

#[test]
fn odd_inputs_do_not_panic() {
    let paths = [
        "/",
        "/%",
        "/%%%",
        "/%zz/%F0%9F",
        "/a//b",
        "//",
        "/a/./../b",
        "/\u{e9}",
    ];
    let queries = ["", "?", "?&&", "?=", "?a", "?%=%", "?a=%FF&b=+%2", "?a=b=c"];
    let mut headers = HeaderMap::new();
    headers.append("cookie", HeaderValue::from_static(";;; ; a"));
    headers.append("x-bin", HeaderValue::from_bytes(b"\xff\xfe").unwrap());
    headers.append("content-type", HeaderValue::from_static(";;"));
    headers.append("host", HeaderValue::from_static("[::1]:9000"));
    let table = RouteTable::new(vec![
        Route::parse("ANY /{a}/{b}", "f", PayloadFormat::Rest).unwrap(),
        Route::parse("$default", "g", PayloadFormat::Http).unwrap(),
    ])
    .unwrap();
    for format in [
        PayloadFormat::Rest,
        PayloadFormat::Http,
        PayloadFormat::FunctionUrl,
        PayloadFormat::Alb,
    ] {
        let t = RouteTable::new(vec![Route::parse("$default", "f", format).unwrap()]).unwrap();
        for p in paths {
            for q in queries {
                let Ok(uri) = format!("{p}{q}").parse::<http::Uri>() else {
                    continue;
                };
                let mut req = Request::new(Bytes::from_static(b"\x00\xff"));
                *req.uri_mut() = uri;
                *req.headers_mut() = headers.clone();
                for tbl in [&t, &table] {
                    if let Some(m) = tbl.find(req.method(), req.uri().path()) {
                        let ev = super::to_event(&req, peer("::1"), &m, &EventOptions::default())
                            .unwrap();
                        assert!(ev.event.is_object());
                    }
                }
            }
        }
        for junk in [
            &b"\xff"[..],
            b"{",
            b"{\"statusCode\":}",
            b"{\"statusCode\":1e400}",
            b"[[[[[[]]]]]]",
        ] {
            let _ = from_result(format, junk);
        }
    }
}

#[test]
fn forwarding_and_trace_headers() {
    let req = request(
        "GET",
        "/",
        &[("host", "localhost:9000"), ("x-forwarded-for", "9.9.9.9")],
        b"",
    );
    let table = route("$default", PayloadFormat::Http);
    let m = table.find(&Method::GET, "/").unwrap();
    let mapped = super::to_event(&req, peer("127.0.0.1"), &m, &EventOptions::default()).unwrap();
    let h = &mapped.event["headers"];
    assert_eq!(h["x-forwarded-for"], "9.9.9.9, 127.0.0.1");
    assert_eq!(h["x-forwarded-port"], "9000");
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-amzn-trace-id"], mapped.trace_id.as_str());
    let t = mapped.trace_id.as_str();
    assert!(
        t.starts_with("Root=1-") && t.len() == "Root=1-".len() + 8 + 1 + 24,
        "{t}"
    );
    assert_eq!(mapped.event["requestContext"]["domainName"], "localhost");

    // A client's trace header is kept.
    let req = request("GET", "/", &[("x-amzn-trace-id", "Root=1-abc")], b"");
    let m = table.find(&Method::GET, "/").unwrap();
    let mapped = super::to_event(&req, peer("127.0.0.1"), &m, &EventOptions::default()).unwrap();
    assert_eq!(mapped.trace_id, "Root=1-abc");
    assert_eq!(mapped.event["headers"]["x-amzn-trace-id"], "Root=1-abc");
    let rest = route("$default", PayloadFormat::Rest);
    let m = rest.find(&Method::GET, "/").unwrap();
    let req = request("GET", "/", &[("host", "[::1]:8080")], b"");
    let mapped = super::to_event(&req, peer("::1"), &m, &EventOptions::default()).unwrap();
    assert_eq!(
        mapped.event["headers"]["X-Amzn-Trace-Id"],
        mapped.trace_id.as_str()
    );
    assert!(mapped.trace_id.starts_with("Root=1-"));
    assert_eq!(mapped.event["requestContext"]["domainName"], "[::1]");
    assert_eq!(mapped.event["headers"]["X-Forwarded-Port"], "8080");
}

// ---------------------------------------------------------------- HTTP API, payload 1.0

#[test]
fn http_api_payload_1_0_has_the_documented_shape() {
    let req = request(
        "GET",
        "/my/a%20b?parameter1=value1&parameter1=value2&parameter2=value",
        &[
            ("Header1", "value1"),
            ("Header2", "value1"),
            ("Header2", "value2"),
        ],
        b"",
    );
    let ev = event(PayloadFormat::HttpV1, "GET /my/{name}", &req);
    // The documented 1.0 example's fields.
    assert_eq!(
        keys(&ev),
        set(&[
            "version",
            "resource",
            "path",
            "httpMethod",
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "requestContext",
            "pathParameters",
            "stageVariables",
            "body",
            "isBase64Encoded",
        ])
    );
    assert_eq!(ev["version"], "1.0");
    assert_eq!(ev["resource"], "/my/{name}");
    assert_eq!(ev["path"], "/my/a b");
    assert_eq!(ev["pathParameters"], json!({"name": "a b"}));
    assert_eq!(ev["headers"]["header2"], "value2");
    assert_eq!(
        ev["multiValueHeaders"]["header2"],
        json!(["value1", "value2"])
    );
    assert_eq!(
        ev["queryStringParameters"],
        json!({"parameter1": "value2", "parameter2": "value"})
    );
    assert_eq!(
        ev["multiValueQueryStringParameters"],
        json!({"parameter1": ["value1", "value2"], "parameter2": ["value"]})
    );
    let ctx = &ev["requestContext"];
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(ctx["path"], "/my/a b");
    assert_eq!(ctx["resourcePath"], "/my/{name}");
    assert_eq!(ctx["resourceId"], Value::Null);
    assert_eq!(ctx["requestId"].as_str().map(str::len), Some(16));
    assert_eq!(ev["stageVariables"], Value::Null);
    let _: ApiGatewayProxyRequest = serde_json::from_value(ev).unwrap();

    let ev = event(
        PayloadFormat::HttpV1,
        "$default",
        &request(
            "POST",
            "/x",
            &[("content-type", "application/octet-stream")],
            b"ab",
        ),
    );
    assert_eq!(ev["resource"], "$default");
    assert_eq!(
        (ev["body"].as_str(), ev["isBase64Encoded"].as_bool()),
        (Some("YWI="), Some(true))
    );

    // Responses are read as 1.0 (no inference) with HTTP API answers: a malformed one is a 500,
    // no route is a 404.
    assert_eq!(
        from_result(PayloadFormat::HttpV1, br#""hi""#).status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        from_result(PayloadFormat::HttpV1, br#"{"statusCode":201}"#).status(),
        StatusCode::CREATED
    );
    assert_eq!(
        not_found(PayloadFormat::HttpV1).status(),
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------- random inputs

use crate::test_rng::Rng;

#[test]
fn random_requests_and_results_never_panic() {
    let pieces = [
        "/", "a", "%", "%2F", "%FF", "{", "}", "+", " ", "?", "=", "&", "é", "..", "%00", "users",
        "1",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let formats = [
        PayloadFormat::Rest,
        PayloadFormat::Http,
        PayloadFormat::HttpV1,
        PayloadFormat::FunctionUrl,
        PayloadFormat::Alb,
    ];
    let table = RouteTable::new(vec![
        Route::parse("GET /users/{id}", "a", PayloadFormat::Http).unwrap(),
        Route::parse("ANY /{proxy+}", "b", PayloadFormat::Rest).unwrap(),
        Route::parse("POST /users/{id}/x/{rest+}", "c", PayloadFormat::Alb).unwrap(),
        Route::parse("$default", "d", PayloadFormat::FunctionUrl).unwrap(),
    ])
    .unwrap();
    for _ in 0..3000 {
        let mut uri = String::from("/");
        for _ in 0..rng.below(8) {
            uri.push_str(rng.pick(&pieces));
        }
        // Route keys built from the same pieces must parse or fail cleanly.
        let _ = Route::parse(
            &format!("GET {uri}"),
            "f",
            formats[rng.below(formats.len())],
        );
        let Ok(parsed) = uri.parse::<http::Uri>() else {
            continue;
        };
        let mut req = Request::new(Bytes::from(
            (0..rng.below(6))
                .map(|_| u8::try_from(rng.below(256)).unwrap())
                .collect::<Vec<u8>>(),
        ));
        *req.uri_mut() = parsed;
        *req.method_mut() = [Method::GET, Method::POST, Method::DELETE][rng.below(3)].clone();
        for _ in 0..rng.below(4) {
            let name = [
                "cookie",
                "content-type",
                "host",
                "x-a",
                "x-forwarded-for",
                "user-agent",
            ][rng.below(6)];
            let value: Vec<u8> = (0..rng.below(6))
                .map(|_| [b'a', b';', b' ', b'=', 0xFF, b',', b':', b'['][rng.below(8)])
                .collect();
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                req.headers_mut().append(name, v);
            }
        }
        if let Some(m) = table.find(req.method(), req.uri().path()) {
            for format in formats {
                let mut m = m.clone();
                m.route = Route::parse(m.route.key(), "f", format).unwrap();
                let ev = super::to_event(&req, peer("::1"), &m, &EventOptions::default()).unwrap();
                assert!(ev.event.is_object());
            }
        }
        let result: Vec<u8> = (0..rng.below(40))
            .map(|_| {
                let alphabet = br#"{}[]":,0123456789.eE-+tfnrsuelaotCdhybBi "#;
                alphabet[rng.below(alphabet.len())]
            })
            .collect();
        let prefixes: [&[u8]; 4] = [
            b"",
            br#"{"statusCode":"#,
            br#"{"statusCode":200,"headers":{"a":"#,
            br#"{"statusCode":200,"isBase64Encoded":true,"body":""#,
        ];
        let mut framed = prefixes[rng.below(prefixes.len())].to_vec();
        framed.extend_from_slice(&result);
        for format in formats {
            let _ = from_result(format, &result);
            let _ = from_result(format, &framed);
        }
    }
}
