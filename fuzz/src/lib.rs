//! The checks behind Lambkin's fuzz targets, one function per target.
//!
//! Each function takes the raw input bytes, drives the emulator's real code with them and panics
//! (through `assert!`) when the emulator breaks one of its documented promises. The same file is
//! compiled into `emulator/tests/emulator/fuzz_regressions.rs`, which replays `fuzz/seeds/` and
//! `fuzz/regressions/` on stable, so it depends only on crates the emulator depends on — in
//! particular not on `arbitrary`: its encoding of an input cannot be decoded without it, so the
//! inputs here are small self-describing text formats instead (readable seeds and reproducers,
//! and libFuzzer's mutations and dictionaries work well on them), and the `*_generated` targets
//! read their bytes as the choices of a small grammar.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aws_lambda_events::alb::AlbTargetGroupRequest;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest;
use base64::Engine;
use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};
use lambkin_emulator::apigw::{
    EventOptions, PayloadFormat, ResultError, Route, RouteMatch, RouteTable, from_result,
    integration_error, to_event, try_from_result,
};
use lambkin_emulator::template::{
    ConfigError, Format, FunctionSpec, parse_package_metadata, parse_sam, parse_serverless,
};
use serde_json::Value as Json;
use serde_yaml::Value;

/// Every payload format, in the order the checks try them.
const FORMATS: [PayloadFormat; 5] = [
    PayloadFormat::Rest,
    PayloadFormat::Http,
    PayloadFormat::HttpV1,
    PayloadFormat::FunctionUrl,
    PayloadFormat::Alb,
];

/// At most this many route keys are read from an input (the table is rebuilt per format).
const MAX_ROUTES: usize = 8;

/// `apigw_request`: HTTP request → route → event, for every payload format.
///
/// The input is a tiny HTTP/1-like text, every part optional:
///
/// ```text
/// GET /users/{id}|ANY /files/{proxy+}|$default      route keys, `|`-separated
/// POST /users/42?a=1&a=2 HTTP/1.1                   method, request target, optional version
/// cookie: a=1; b=2                                  header lines, up to an empty line
///
/// the body: every remaining byte
/// ```
///
/// Inputs whose method or request target the `http` crate rejects are skipped, as are header
/// lines it rejects; route keys the emulator rejects (`RouteError`) are left out of the table.
/// For each format the request is matched against the table (or, when nothing matches, a
/// `$default` route) and mapped with two sets of [`EventOptions`]; the event must serialise to
/// JSON that deserialises into the `aws_lambda_events` type of its format, with the request's
/// method, body (base64 or text), request id and path parameters intact.
pub fn apigw_request(data: &[u8]) {
    let Some((keys, request)) = parse_request(data) else {
        return;
    };
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let alt_options = EventOptions {
        binary_media_types: vec!["image/*".to_owned(), "application/octet-stream".to_owned()],
        region: "eu-west-3".to_owned(),
        alb_multi_value_headers: true,
    };
    let runs: [(SocketAddr, EventOptions); 2] = [
        (
            SocketAddr::from(([127, 0, 0, 1], 40_000)),
            EventOptions::default(),
        ),
        (
            SocketAddr::from(([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], 443)),
            alt_options,
        ),
    ];
    for format in FORMATS {
        let table = route_table(&keys, format);
        let matched = table.find(&method, &path).or_else(|| {
            let default = Route::parse(Route::DEFAULT_KEY, "fallback", format).ok()?;
            RouteTable::new(vec![default]).ok()?.find(&method, &path)
        });
        let matched = matched.expect("a table holding only `$default` matches every request");
        assert_eq!(matched.route.format(), format);
        for (peer, options) in &runs {
            check_event(&request, *peer, &matched, options);
        }
        // The table used when no routes are configured, with the keys as function names.
        let functions: Vec<(String, PayloadFormat)> =
            keys.iter().map(|k| (k.clone(), format)).collect();
        if let Ok(defaults) = RouteTable::default_for(&functions) {
            let _ = defaults.find(&method, &path);
        }
    }
}

/// Splits an `apigw_request` input into route keys and a request, or `None` when the `http`
/// crate rejects its method or request target.
fn parse_request(data: &[u8]) -> Option<(Vec<String>, Request<Bytes>)> {
    let (first, rest) = split_line(data);
    let keys: Vec<String> = String::from_utf8_lossy(first)
        .split('|')
        .filter(|k| !k.is_empty())
        .take(MAX_ROUTES)
        .map(str::to_owned)
        .collect();
    Some((keys, parse_http(rest)?))
}

/// The first line of `data` (without its `\n`) and the rest.
fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    }
}

/// Parses `METHOD target [version]`, header lines up to an empty line, then the body; `None`
/// when the `http` crate rejects the method or the target. Header lines it rejects are skipped.
fn parse_http(data: &[u8]) -> Option<Request<Bytes>> {
    let (request_line, mut rest) = split_line(data);
    let mut request_line = request_line.split(|&b| b == b' ');
    let method = Method::from_bytes(request_line.next().unwrap_or_default()).ok()?;
    let uri = Uri::try_from(request_line.next().unwrap_or(&b"/"[..])).ok()?;
    let version = match request_line.next().unwrap_or_default() {
        b"HTTP/0.9" => Version::HTTP_09,
        b"HTTP/1.0" => Version::HTTP_10,
        b"HTTP/2.0" => Version::HTTP_2,
        b"HTTP/3.0" => Version::HTTP_3,
        _ => Version::HTTP_11,
    };
    let mut headers = Vec::new();
    loop {
        let (header, tail) = split_line(rest);
        rest = tail;
        if header.is_empty() {
            break;
        }
        let Some(colon) = header.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = header[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&header[..colon]),
            HeaderValue::from_bytes(value),
        ) {
            headers.push((name, value));
        }
    }
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .version(version)
        .body(Bytes::copy_from_slice(rest))
        .ok()?;
    for (name, value) in headers {
        request.headers_mut().append(name, value);
    }
    Some(request)
}

/// The routes of `keys` in `format`, leaving out keys that do not parse or that collide with an
/// earlier one.
fn route_table(keys: &[String], format: PayloadFormat) -> RouteTable {
    let mut routes: Vec<Route> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let Ok(route) = Route::parse(key, format!("f{i}"), format) else {
            continue;
        };
        // Every other route in a named stage with a variable (`/v1/…` paths match it too).
        let route = if i % 2 == 1 {
            let mut stage = lambkin_emulator::apigw::Stage::named("v1");
            stage
                .variables
                .insert("color".to_owned(), "blue".to_owned());
            route.with_stage(stage)
        } else {
            route
        };
        routes.push(route);
        if RouteTable::new(routes.clone()).is_err() {
            routes.pop();
        }
    }
    RouteTable::new(routes).expect("the routes were checked one by one")
}

/// Maps `request` and checks the event against its `aws_lambda_events` type.
fn check_event(
    request: &Request<Bytes>,
    peer: SocketAddr,
    matched: &RouteMatch,
    options: &EventOptions,
) {
    let mapped = to_event(request, peer, matched, options)
        .unwrap_or_else(|e| panic!("to_event failed for {request:?}: {e}"));
    assert!(!mapped.request_id.is_empty(), "empty request id");
    // The client's X-Amzn-Trace-Id is kept as it is (even empty); otherwise a new one is made.
    match request.headers().get("x-amzn-trace-id") {
        Some(sent) => assert_eq!(mapped.trace_id, String::from_utf8_lossy(sent.as_bytes())),
        None => assert!(
            mapped.trace_id.starts_with("Root=1-"),
            "{}",
            mapped.trace_id
        ),
    }
    let json = serde_json::to_vec(&mapped.event).expect("a JSON value always serialises");
    let shown = || String::from_utf8_lossy(&json).into_owned();
    let method = request.method();
    match matched.route.format() {
        PayloadFormat::Rest | PayloadFormat::HttpV1 => {
            let ev: ApiGatewayProxyRequest = serde_json::from_slice(&json)
                .unwrap_or_else(|e| panic!("not an ApiGatewayProxyRequest ({e}): {}", shown()));
            assert_eq!(&ev.http_method, method, "{}", shown());
            let request_id = ev.request_context.request_id.as_deref();
            assert_eq!(request_id, Some(mapped.request_id.as_str()), "{}", shown());
            assert_eq!(ev.path_parameters, matched.path_parameters, "{}", shown());
            // A REST API passes a body outside its binaryMediaTypes as UTF-8 text.
            let lossy = matched.route.format() == PayloadFormat::Rest && !ev.is_base64_encoded;
            let body = ev.body.as_deref();
            if lossy {
                let expected = String::from_utf8_lossy(request.body());
                assert_eq!(body.unwrap_or(""), expected, "body changed: {}", shown());
            } else {
                check_body(request, body, ev.is_base64_encoded, &shown);
            }
        }
        PayloadFormat::Http => {
            let ev: ApiGatewayV2httpRequest = serde_json::from_slice(&json)
                .unwrap_or_else(|e| panic!("not an ApiGatewayV2httpRequest ({e}): {}", shown()));
            assert_eq!(&ev.request_context.http.method, method, "{}", shown());
            let request_id = ev.request_context.request_id.as_deref();
            assert_eq!(request_id, Some(mapped.request_id.as_str()), "{}", shown());
            let route_key = ev.route_key.as_deref();
            assert_eq!(route_key, Some(matched.route.key()), "{}", shown());
            assert_eq!(ev.path_parameters, matched.path_parameters, "{}", shown());
            check_body(request, ev.body.as_deref(), ev.is_base64_encoded, &shown);
        }
        PayloadFormat::FunctionUrl => {
            let ev: LambdaFunctionUrlRequest = serde_json::from_slice(&json)
                .unwrap_or_else(|e| panic!("not a LambdaFunctionUrlRequest ({e}): {}", shown()));
            let got = ev.request_context.http.method.as_deref();
            assert_eq!(got, Some(method.as_str()), "{}", shown());
            let request_id = ev.request_context.request_id.as_deref();
            assert_eq!(request_id, Some(mapped.request_id.as_str()), "{}", shown());
            check_body(request, ev.body.as_deref(), ev.is_base64_encoded, &shown);
        }
        PayloadFormat::Alb => {
            let ev: AlbTargetGroupRequest = serde_json::from_slice(&json)
                .unwrap_or_else(|e| panic!("not an AlbTargetGroupRequest ({e}): {}", shown()));
            assert_eq!(&ev.http_method, method, "{}", shown());
            check_body(request, ev.body.as_deref(), ev.is_base64_encoded, &shown);
        }
    }
}

/// The event's body, decoded, must be the request's body byte for byte.
fn check_body(
    request: &Request<Bytes>,
    body: Option<&str>,
    is_base64_encoded: bool,
    shown: &dyn Fn() -> String,
) {
    let got = match body {
        None => Vec::new(),
        Some(text) if is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap_or_else(|e| panic!("isBase64Encoded body is not base64 ({e}): {}", shown())),
        Some(text) => text.as_bytes().to_vec(),
    };
    assert_eq!(got, request.body().as_ref(), "body changed: {}", shown());
}

/// `apigw_response`: a function result (any bytes) → the HTTP response, for every payload format.
///
/// [`from_result`] always answers with a status from 100 to 599; it agrees with
/// [`try_from_result`], whose errors become the format's [`integration_error`]; responses never
/// carry hop-by-hop framing headers; and the v2 inference rule holds: any valid JSON that is not
/// an object with `statusCode` is 200 `application/json` for HTTP APIs and function URLs and an
/// error for the formats that require `statusCode`.
pub fn apigw_response(data: &[u8]) {
    let shown = || String::from_utf8_lossy(data).into_owned();
    let value: Option<Json> = serde_json::from_slice(data).ok();
    let structured = value
        .as_ref()
        .and_then(Json::as_object)
        .is_some_and(|o| o.contains_key("statusCode"));
    for format in FORMATS {
        let response = from_result(format, data);
        let status = response.status().as_u16();
        assert!(
            (100..=599).contains(&status),
            "status {status} for {}",
            shown()
        );
        match try_from_result(format, data) {
            Ok(ok) => {
                assert_eq!(ok.status(), response.status());
                assert_eq!(ok.headers(), response.headers());
                assert_eq!(ok.body(), response.body());
                for hop in [CONTENT_LENGTH, TRANSFER_ENCODING, CONNECTION] {
                    assert!(!ok.headers().contains_key(&hop), "{hop} kept: {}", shown());
                }
            }
            Err(error) => {
                let expected = integration_error(format);
                assert_eq!(response.status(), expected.status(), "{error}");
                assert_eq!(response.body(), expected.body(), "{error}");
            }
        }
        let inferred = matches!(format, PayloadFormat::Http | PayloadFormat::FunctionUrl);
        match (&value, structured) {
            (None, _) => assert_eq!(
                try_from_result(format, data).err(),
                Some(ResultError::NotJson),
                "{}",
                shown()
            ),
            (Some(_), false) if inferred => {
                assert_eq!(response.status(), StatusCode::OK, "{}", shown());
                let content_type = response.headers().get(CONTENT_TYPE);
                assert_eq!(
                    content_type.map(HeaderValue::as_bytes),
                    Some(&b"application/json"[..]),
                    "{}",
                    shown()
                );
            }
            (Some(_), false) => assert_eq!(
                try_from_result(format, data).err(),
                Some(ResultError::NotAResponse),
                "{}",
                shown()
            ),
            (Some(_), true) => {}
        }
    }
}

/// `config_sam`: any text as an AWS SAM `template.yaml`.
///
/// The text is parsed against a fixture project (a directory holding an executable `bootstrap`,
/// `hello/bootstrap`, and a Rust package `rust` with binaries `api` and `admin`). An error must
/// name the file, at a 1-based line inside the text; every accepted function must have a valid
/// Lambda name, a timeout of 1 to 900 s, a memory size of 128 to 10240 MB, and routes the API
/// Gateway front accepts ([`Route::parse`]).
pub fn config_sam(data: &[u8]) {
    check_config(data, "template.yaml", |text, file| {
        parse_sam(text, file).map(|project| {
            assert_eq!(project.source, file);
            assert_eq!(project.format, Format::Sam);
            project.functions
        })
    });
}

/// `config_serverless`: any text as a Serverless Framework `serverless.yml`, checked as in
/// [`config_sam`].
pub fn config_serverless(data: &[u8]) {
    check_config(data, "serverless.yml", |text, file| {
        parse_serverless(text, file).map(|project| {
            assert_eq!(project.source, file);
            assert_eq!(project.format, Format::Serverless);
            project.functions
        })
    });
}

/// `config_cargo`: any text as a package's `Cargo.toml` with `[package.metadata.lambkin]`,
/// checked as in [`config_sam`].
pub fn config_cargo(data: &[u8]) {
    check_config(data, "rust/Cargo.toml", parse_package_metadata);
}

/// Parses `data` (as UTF-8, invalid sequences replaced) as the file `name` of the fixture
/// project and checks the outcome as [`config_sam`] describes.
fn check_config(
    data: &[u8],
    name: &str,
    parse: impl FnOnce(&str, &Path) -> Result<Vec<FunctionSpec>, ConfigError>,
) {
    let text = String::from_utf8_lossy(data);
    let file = config_fixture().join(name);
    match parse(&text, &file) {
        Ok(functions) => {
            for function in &functions {
                check_function(function);
            }
        }
        Err(error) => {
            assert_eq!(error.file, file, "{error}");
            let shown = error.to_string();
            assert!(shown.contains(&file.display().to_string()), "{shown}");
            assert!(!error.message.trim().is_empty(), "{shown}");
            // At an unexpected end of a file that does not end with a line break, the YAML parser
            // reports the start of the line after the last one.
            let lines = line_count(&text) + 1;
            if let Some(line) = error.line {
                let line = line as u64;
                assert!(
                    (1..=lines).contains(&line),
                    "line {line} of {lines}: {shown}"
                );
            }
            if let Some(column) = error.column {
                assert!(column >= 1, "column {column}: {shown}");
            }
        }
    }
}

/// The number of lines of `text` as YAML counts them (`\r\n`, `\r`, `\n`, NEL, LS and PS end
/// a line), counting the empty line after a final line break.
fn line_count(text: &str) -> u64 {
    let mut lines = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                lines += 1;
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => lines += 1,
            _ => {}
        }
    }
    lines
}

/// The invariants of one accepted function.
fn check_function(function: &FunctionSpec) {
    let name = &function.name;
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    assert!(valid_name, "function name {name:?}");
    if let Some(timeout) = function.timeout {
        assert!(
            (1..=900).contains(&timeout.as_secs()),
            "{name}: {timeout:?}"
        );
        assert_eq!(timeout.subsec_nanos(), 0, "{name}: {timeout:?}");
    }
    if let Some(memory) = function.memory_mb {
        assert!((128..=10_240).contains(&memory), "{name}: {memory} MB");
    }
    // Log levels filter JSON logs only: a configuration with levels and Text is refused.
    let logging = &function.logging;
    if logging.format == lambkin_emulator::config::LogFormat::Text {
        assert!(
            logging.application_level.is_none() && logging.system_level.is_none(),
            "{name}: {logging:?}"
        );
    }
    for route in &function.routes {
        if let Err(e) = Route::parse(&route.key(), name.as_str(), route.payload) {
            panic!("{name}: accepted route {route:?} is rejected by the front: {e}");
        }
    }
}

/// The fixture project the configuration checks resolve code paths against, made once per
/// process under the system's temporary directory.
fn config_fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = std::env::temp_dir().join("lambkin-fuzz-config");
        let files: [(&str, &str); 5] = [
            ("bootstrap", "#!/bin/sh\n"),
            ("hello/bootstrap", "#!/bin/sh\n"),
            (
                "rust/Cargo.toml",
                "[package]\nname = \"rust-fn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [[bin]]\nname = \"api\"\npath = \"src/main.rs\"\n\n\
                 [[bin]]\nname = \"admin\"\npath = \"src/admin.rs\"\n",
            ),
            ("rust/src/main.rs", "fn main() {}\n"),
            ("rust/src/admin.rs", "fn main() {}\n"),
        ];
        for (path, content) in files {
            let path = root.join(path);
            let dir = path.parent().expect("fixture files are in a directory");
            std::fs::create_dir_all(dir).expect("create the config fixture");
            std::fs::write(&path, content).expect("write the config fixture");
            #[cfg(unix)]
            if path.ends_with("bootstrap") {
                use std::os::unix::fs::PermissionsExt;
                let executable = std::fs::Permissions::from_mode(0o755);
                std::fs::set_permissions(&path, executable).expect("chmod the config fixture");
            }
        }
        root
    })
}

/// `config_sam_generated`: the input drives a small grammar of SAM templates (known sections,
/// properties and event types, with good, edge-case, intrinsic and wrongly typed values), written
/// out as YAML and checked like [`config_sam`]: valid YAML that goes past the syntax checks.
pub fn config_sam_generated(data: &[u8]) {
    let mut g = Gen(data);
    let mut doc = map([("AWSTemplateFormatVersion", Value::from("2010-09-09"))]);
    if g.flip() {
        let parameters = g.entries(&["Stage", "Mem", "Name"], |g| {
            let kind = g.pick(&["String", "Number", "CommaDelimitedList"]);
            let mut parameter = map([("Type", Value::from(kind))]);
            if g.flip() {
                parameter.insert("Default".into(), g.scalar());
            }
            parameter.into()
        });
        doc.insert("Parameters".into(), parameters);
    }
    if g.flip() {
        let globals = map([("Function", sam_properties(&mut g))]);
        doc.insert("Globals".into(), globals.into());
    }
    let resources = g.entries(&["Api", "Web", "Worker", "Api2"], |g| {
        let kind = g.pick(&[
            "AWS::Serverless::Function",
            "AWS::Serverless::Function",
            "AWS::Lambda::Function",
            "AWS::Serverless::SimpleTable",
        ]);
        let mut resource = map([("Type", Value::from(kind))]);
        if g.byte() % 8 != 0 {
            resource.insert("Properties".into(), sam_properties(g));
        }
        if g.flip() {
            let binary = map([(
                "Binary",
                g.field(|g| g.pick(&["api", "admin", "nope"]).into()),
            )]);
            resource.insert(
                "Metadata".into(),
                map([("BuildProperties", binary.into())]).into(),
            );
        }
        resource.into()
    });
    doc.insert("Resources".into(), resources);
    let text = serde_yaml::to_string(&doc).expect("a YAML mapping serialises");
    config_sam(text.as_bytes());
}

/// The `Properties` (or `Globals.Function`) of a generated SAM function.
fn sam_properties(g: &mut Gen<'_>) -> Value {
    g.entries(
        &[
            "CodeUri",
            "Handler",
            "Runtime",
            "Timeout",
            "MemorySize",
            "Environment",
            "ReservedConcurrentExecutions",
            "FunctionUrlConfig",
            "Events",
            "PackageType",
        ],
        |g| {
            // Each key gets a value of the right shape most of the time; which key is which is
            // left to chance, so shapes also land under the wrong keys.
            match g.byte() % 6 {
                0 => g.field(|g| g.code_path().into()),
                1 => g.field(Gen::number),
                2 => {
                    let variables = g.entries(&["STAGE", "RUST_LOG", "1BAD", "A"], |g| {
                        g.field(Gen::scalar)
                    });
                    map([("Variables", variables)]).into()
                }
                3 => g.entries(&["Get", "Post", "Any", "Nightly"], |g| {
                    let kind = g.pick(&["HttpApi", "HttpApi", "Api", "Schedule", "SQS"]);
                    let mut event = map([("Type", Value::from(kind))]);
                    if g.byte() % 4 != 0 {
                        let properties = map([
                            ("Path", g.field(|g| g.route_path().into())),
                            ("Method", g.field(|g| g.method().into())),
                            (
                                "PayloadFormatVersion",
                                g.field(|g| g.pick(&["1.0", "2.0", "3"]).into()),
                            ),
                        ]);
                        event.insert("Properties".into(), properties.into());
                    }
                    event.into()
                }),
                4 => map([("AuthType", g.field(|g| g.pick(&["NONE", "AWS_IAM"]).into()))]).into(),
                _ => g.field(Gen::scalar),
            }
        },
    )
}

/// `config_serverless_generated`: like [`config_sam_generated`], for Serverless Framework files,
/// checked like [`config_serverless`].
pub fn config_serverless_generated(data: &[u8]) {
    let mut g = Gen(data);
    let mut doc = map([(
        "service",
        g.field(|g| g.pick(&["svc", "${self:custom.name}"]).into()),
    )]);
    if g.flip() {
        doc.insert("custom".into(), map([("name", Value::from("svc"))]).into());
    }
    let provider = g.entries(
        &[
            "name",
            "runtime",
            "stage",
            "timeout",
            "memorySize",
            "environment",
            "httpApi",
        ],
        |g| match g.byte() % 4 {
            0 => g.field(Gen::number),
            1 => g.entries(&["STAGE", "A", "bad-name"], |g| g.field(Gen::scalar)),
            2 => map([("payload", g.field(|g| g.pick(&["1.0", "2.0", "3"]).into()))]).into(),
            _ => g.field(Gen::scalar),
        },
    );
    doc.insert("provider".into(), provider);
    let functions = g.entries(&["users", "legacy", "web", "bad name"], |g| {
        g.entries(
            &[
                "handler",
                "timeout",
                "memorySize",
                "environment",
                "reservedConcurrency",
                "url",
                "events",
            ],
            |g| match g.byte() % 5 {
                0 => g.field(|g| g.code_path().into()),
                1 => g.field(Gen::number),
                2 => g.entries(&["TABLE", "x"], |g| g.field(Gen::scalar)),
                3 => {
                    let events = (0..g.count(4))
                        .map(|_| {
                            let kind = g.pick(&["http", "httpApi", "schedule", "sqs"]);
                            let event = if g.flip() {
                                Value::from(format!("{} {}", g.method(), g.route_path()))
                            } else {
                                map([
                                    ("path", g.field(|g| g.route_path().into())),
                                    ("method", g.field(|g| g.method().into())),
                                ])
                                .into()
                            };
                            map([(kind, event)]).into()
                        })
                        .collect();
                    Value::Sequence(events)
                }
                _ => g.field(Gen::scalar),
            },
        )
    });
    doc.insert("functions".into(), functions);
    let text = serde_yaml::to_string(&doc).expect("a YAML mapping serialises");
    config_serverless(text.as_bytes());
}

/// A YAML mapping with string keys.
fn map<const N: usize>(entries: [(&str, Value); N]) -> serde_yaml::Mapping {
    entries
        .into_iter()
        .map(|(k, v)| (Value::from(k), v))
        .collect()
}

/// Choices read from the fuzz input, one byte at a time (zeros once it is used up).
struct Gen<'a>(&'a [u8]);

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        let (&first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        first
    }

    fn flip(&mut self) -> bool {
        self.byte() % 2 == 1
    }

    /// 0 to `max`.
    fn count(&mut self, max: u8) -> usize {
        usize::from(self.byte() % (max + 1))
    }

    fn pick<'i>(&mut self, items: &[&'i str]) -> &'i str {
        items[usize::from(self.byte()) % items.len()]
    }

    /// A mapping of up to four keys picked from `keys`, each with a value from `value`.
    fn entries(&mut self, keys: &[&str], mut value: impl FnMut(&mut Self) -> Value) -> Value {
        let mut out = serde_yaml::Mapping::new();
        for _ in 0..self.count(4) {
            let key = self.pick(keys);
            let v = value(self);
            out.insert(key.into(), v);
        }
        Value::Mapping(out)
    }

    /// Mostly `good`; otherwise an intrinsic function, a variable, `null`, a list or a mapping.
    fn field(&mut self, good: impl FnOnce(&mut Self) -> Value) -> Value {
        match self.byte() % 10 {
            0 => {
                let tag = self.pick(&["!Ref", "!Sub", "!GetAtt", "!Join", "!If"]);
                let target = self.pick(&["Stage", "Mem", "Missing", "AWS::Region", "${Stage}-x"]);
                Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                    tag: serde_yaml::value::Tag::new(tag),
                    value: target.into(),
                }))
            }
            1 => map([(self.pick(&["Ref", "Fn::Sub", "Fn::GetAtt"]), self.scalar())]).into(),
            2 => Value::Null,
            3 => Value::Sequence(vec![self.scalar(), Value::Bool(true)]),
            4 => Value::from(self.pick(&[
                "${opt:stage, 'dev'}",
                "${self:provider.stage}",
                "${env:X}",
            ])),
            _ => good(self),
        }
    }

    fn code_path(&mut self) -> &'static str {
        self.pick(&[
            ".",
            "hello",
            "rust",
            "rust/Cargo.toml",
            "rust/api",
            "missing",
            "",
            "/",
        ])
    }

    fn route_path(&mut self) -> &'static str {
        self.pick(&[
            "/",
            "/users/{id}",
            "/files/{proxy+}",
            "legacy/{proxy+}",
            "/a/{x}/{x}",
            "/{proxy+}/b",
            "/a//b",
            "/caf\u{e9}",
            "*",
            "$default",
        ])
    }

    fn method(&mut self) -> &'static str {
        self.pick(&["get", "POST", "any", "ANY", "*", "FETCH", "options", ""])
    }

    fn number(&mut self) -> Value {
        let n: serde_yaml::Number = match self.byte() % 8 {
            0 => 0.into(),
            1 => (-1).into(),
            2 => 900.into(),
            3 => 901.into(),
            4 => 10_241.into(),
            5 => u64::MAX.into(),
            6 => 1.5.into(),
            _ => i64::from(self.byte()).into(),
        };
        Value::Number(n)
    }

    fn scalar(&mut self) -> Value {
        match self.byte() % 4 {
            0 => self.number(),
            1 => Value::Bool(self.flip()),
            _ => {
                Value::from(self.pick(&["", "x", "dev", "1.0", "true", "a\nb", "provided.al2023"]))
            }
        }
    }
}

/// The Runtime API path of the `/next` long poll.
const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";

/// `runtime_api`: a sequence of operations on one instance's Runtime API, driven in-process.
///
/// The input is a list of steps separated by NUL bytes. A step is `offer <request id>` (an
/// invocation of `{"step":<n>}` is offered to the next `/next`), `close` (the instance is
/// discarded), or a request in the `apigw_request` format without the route line (`METHOD
/// target`, header lines, an empty line, the body). Requests the `http` crate rejects are
/// skipped.
///
/// Every answer must be one of the Runtime API's statuses (200 from `/next`, 202, 400, 403, 404,
/// 405, 410, 413) with a JSON body: the offered event for 200 (with the offered request id),
/// `{"status":"OK"}` for 202, `{"errorMessage", "errorType"}` otherwise. Only a `/next` long poll
/// on an open instance may still be waiting (checked with a paused clock, so it costs nothing).
pub fn runtime_api(data: &[u8]) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(drive_runtime_api(data));
}

/// The steps of a `runtime_api` input, run in order.
async fn drive_runtime_api(data: &[u8]) {
    use http_body_util::BodyExt;
    use lambkin_emulator::runtime_api::Detached;
    use tower::ServiceExt;

    let instance = Detached::new();
    let mut offered: Option<(String, Bytes)> = None;
    let mut closed = false;
    for (n, step) in data.split(|&b| b == 0).enumerate() {
        if let Some(id) = step.strip_prefix(b"offer ") {
            let id = String::from_utf8_lossy(id).into_owned();
            let payload = Bytes::from(format!(r#"{{"step":{n}}}"#));
            instance.offer(&id, payload.clone());
            offered = Some((id, payload));
            continue;
        }
        if step == b"close" {
            instance.close();
            closed = true;
            continue;
        }
        let Some(request) = parse_http(step) else {
            continue;
        };
        let shown = format!("{} {}", request.method(), request.uri());
        let is_head = request.method() == Method::HEAD;
        let is_poll = matches!(*request.method(), Method::GET | Method::HEAD)
            && request.uri().path() == NEXT_PATH;
        let call = instance
            .router()
            .oneshot(request.map(http_body_util::Full::new));
        let Ok(answer) = tokio::time::timeout(std::time::Duration::from_secs(1), call).await else {
            assert!(is_poll && !closed, "{shown} never answered");
            continue;
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(infallible) => match infallible {},
        };
        let status = answer.status().as_u16();
        let content_type = answer.headers().get(CONTENT_TYPE).cloned();
        let request_id = answer
            .headers()
            .get("lambda-runtime-aws-request-id")
            .cloned();
        let body = answer
            .into_body()
            .collect()
            .await
            .expect("an in-memory body")
            .to_bytes();
        assert_eq!(
            content_type.as_ref().map(HeaderValue::as_bytes),
            Some(&b"application/json"[..]),
            "{shown}: {status} without a JSON content type"
        );
        if status == 200 {
            assert!(is_poll, "{shown}: 200 from something other than /next");
            let (id, payload) = offered.take().expect("200 from /next with nothing offered");
            if let Ok(expected) = HeaderValue::from_str(&id) {
                assert_eq!(request_id, Some(expected), "{shown}: wrong request id");
            }
            if !is_head {
                assert_eq!(body, payload, "{shown}: not the offered event");
            }
            continue;
        }
        assert!(
            [202, 400, 403, 404, 405, 410, 413].contains(&status),
            "{shown}: undocumented status {status}"
        );
        if is_head {
            continue;
        }
        let json: Json = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{shown}: {status} with a body that is not JSON: {e}"));
        if status == 202 {
            assert_eq!(json, serde_json::json!({ "status": "OK" }), "{shown}");
        } else {
            assert!(json["errorMessage"].is_string(), "{shown}: {json}");
            assert!(json["errorType"].is_string(), "{shown}: {json}");
        }
    }
}
