use std::time::Duration;

use super::*;
use crate::config::{LogFormat, LogLevel};
use crate::template::RouteSpec;
use crate::template::testutil::TempDir;

/// A service directory: a Cargo workspace with three packages and a bootstrap directory.
fn service() -> TempDir {
    let tmp = TempDir::new();
    tmp.write(
        "Cargo.toml",
        "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\", \"tools/cli\"]\n",
    );
    tmp.package("crates/users", "users-api", &[]);
    tmp.package("crates/orders", "orders-api", &["orders-worker"]);
    tmp.package("tools/cli", "cli", &[]);
    tmp.bootstrap("dist/legacy", true);
    tmp
}

fn parse(tmp: &TempDir, text: &str) -> Result<Project, ConfigError> {
    let file = tmp.write("serverless.yml", text);
    parse_serverless(text, &file)
}

fn error(text: &str) -> ConfigError {
    let tmp = service();
    parse(&tmp, text).unwrap_err()
}

const FULL: &str = r#"service: shop
frameworkVersion: '3'

provider:
  name: aws
  runtime: provided.al2023
  region: eu-west-1
  timeout: 20
  environment:
    STAGE: dev
    LOG_LEVEL: info
  httpApi:
    payload: '2.0'

functions:
  users:
    handler: crates/users
    memorySize: 512
    reservedConcurrency: 3
    url: true
    environment:
      LOG_LEVEL: debug
      PAGE_SIZE: 50
    events:
      - httpApi: 'GET /users/{id}'
      - httpApi:
          method: '*'
          path: /users
      - httpApi:
          method: post
          path: /users/{id}/avatar
  orders:
    handler: crates/orders.orders-worker
    timeout: 60
    events:
      - http: GET orders
      - http:
          path: /orders/{id}/
          method: put
          cors: true
      - http:
          path: orders/{proxy+}
          method: any
      - sqs:
          arn: arn:aws:sqs:eu-west-1:123456789012:orders
  api:
    handler: users-api
    events:
      - httpApi: '*'
  cli:
    handler: cli.cli
  legacy:
    handler: dist/legacy
    url:
      cors: true
"#;

#[test]
fn reads_every_field() {
    let tmp = service();
    let p = parse(&tmp, FULL).unwrap();
    assert_eq!(p.format, Format::Serverless);
    let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["users", "orders", "api", "cli", "legacy"]);

    let users = &p.functions[0];
    assert_eq!(
        users.code,
        Code::RustPackage {
            package_dir: tmp.path().join("crates/users"),
            bin: Some("users-api".into())
        }
    );
    assert_eq!(users.handler.as_deref(), Some("crates/users"));
    assert_eq!(users.timeout, Some(Duration::from_secs(20)), "provider");
    assert_eq!(users.memory_mb, Some(512));
    assert_eq!(users.reserved_concurrency, Some(3));
    assert!(users.function_url);
    assert_eq!(users.env["STAGE"], "dev");
    assert_eq!(users.env["LOG_LEVEL"], "debug", "the function's value wins");
    assert_eq!(users.env["PAGE_SIZE"], "50");
    let keys: Vec<String> = users.routes.iter().map(RouteSpec::key).collect();
    assert_eq!(
        keys,
        ["GET /users/{id}", "ANY /users", "POST /users/{id}/avatar"]
    );
    assert!(
        users
            .routes
            .iter()
            .all(|r| r.payload == PayloadFormat::Http)
    );

    let orders = &p.functions[1];
    assert_eq!(
        orders.code,
        Code::RustPackage {
            package_dir: tmp.path().join("crates/orders"),
            bin: Some("orders-worker".into())
        }
    );
    assert_eq!(orders.timeout, Some(Duration::from_secs(60)));
    assert_eq!(orders.memory_mb, Some(1024), "the framework's default");
    let keys: Vec<String> = orders.routes.iter().map(RouteSpec::key).collect();
    assert_eq!(
        keys,
        ["GET /orders", "PUT /orders/{id}", "ANY /orders/{proxy+}"],
        "paths normalised as the framework does"
    );
    assert!(
        orders
            .routes
            .iter()
            .all(|r| r.payload == PayloadFormat::Rest)
    );

    // A workspace package by name (the serverless-rust convention), with its only binary.
    let api = &p.functions[2];
    assert_eq!(
        api.code,
        Code::RustPackage {
            package_dir: tmp.path().join("crates/users"),
            bin: Some("users-api".into())
        }
    );
    assert_eq!(api.routes, [RouteSpec::default_route(PayloadFormat::Http)]);

    let cli = &p.functions[3];
    assert_eq!(
        cli.code,
        Code::RustPackage {
            package_dir: tmp.path().join("tools/cli"),
            bin: Some("cli".into())
        }
    );
    assert!(cli.routes.is_empty());

    let legacy = &p.functions[4];
    assert_eq!(
        legacy.code,
        Code::Bootstrap {
            dir: tmp.path().join("dist/legacy")
        }
    );
    assert!(legacy.function_url);

    // An sqs event is an event source mapping, not a note.
    let queues: Vec<_> = (p.functions.iter().flat_map(|f| &f.sqs))
        .map(|s| s.queue.arn("us-east-1"))
        .collect();
    assert_eq!(queues, ["arn:aws:sqs:eu-west-1:123456789012:orders"]);
    assert!(
        !p.notes.iter().any(|n| n.contains("`sqs`")),
        "{:?}",
        p.notes
    );
}

#[test]
fn framework_defaults_and_rest_payload_option() {
    let tmp = service();
    let text = "\
service: s
provider:
  name: aws
  httpApi:
    payload: '1.0'
functions:
  users:
    handler: crates/users
    events:
      - httpApi: 'GET /x'
";
    let p = parse(&tmp, text).unwrap();
    let f = &p.functions[0];
    assert_eq!(f.timeout, Some(Duration::from_secs(6)));
    assert_eq!(f.memory_mb, Some(1024));
    // An HTTP API with payload 1.0: the REST-shaped event, HTTP API answers.
    assert_eq!(f.routes[0].payload, PayloadFormat::HttpV1);
    assert!(!f.function_url);
    assert!(f.env.is_empty());
}

#[test]
fn rest_routes_take_the_providers_binary_media_types() {
    let tmp = service();
    let text = "\
service: s
provider:
  name: aws
  apiGateway:
    binaryMediaTypes: ['image/*', '*~1*']
functions:
  users:
    handler: crates/users
    events:
      - http: GET x
      - httpApi: 'GET /y'
";
    let p = parse(&tmp, text).unwrap();
    let routes = &p.functions[0].routes;
    assert_eq!(routes[0].binary_media_types, ["image/*", "*/*"]);
    // HTTP APIs have no binaryMediaTypes.
    assert!(routes[1].binary_media_types.is_empty());

    let err = parse(
        &tmp,
        "service: s\nprovider:\n  apiGateway:\n    binaryMediaTypes: image/png\nfunctions:\n  \
         users:\n    handler: crates/users\n",
    )
    .unwrap_err();
    assert!(err.message.contains("binaryMediaTypes"), "{err}");
    assert_eq!(err.line, Some(4), "{err}");
}

/// A service with one function `f` whose body is `body` (indented by 4).
fn with_body(body: &str) -> String {
    format!("service: s\nfunctions:\n  f:\n    handler: crates/users\n{body}")
}

#[test]
fn bad_values_are_errors_with_positions() {
    let cases: &[(&str, &str, u32)] = &[
        ("    timeout: 0\n", "out of Lambda's range", 5),
        ("    timeout: 1000\n", "out of Lambda's range", 5),
        ("    timeout: soon\n", "not a whole number", 5),
        ("    memorySize: 100\n", "out of Lambda's range", 5),
        ("    memorySize: 10241\n", "out of Lambda's range", 5),
        ("    reservedConcurrency: -2\n", "negative", 5),
        ("    environment: [A]\n", "not a mapping", 5),
        (
            "    environment:\n      bad-name: x\n",
            "not a valid environment",
            6,
        ),
        ("    environment:\n      EMPTY:\n", "has no value", 6),
        ("    url: maybe\n", "url is", 5),
        ("    events: {http: GET /x}\n", "not a list", 5),
        (
            "    events:\n      - http: GET /x\n        extra: 1\n",
            "not a single",
            6,
        ),
        ("    events:\n      - http: GET\n", "not `METHOD path`", 6),
        (
            "    events:\n      - http: FETCH /x\n",
            "not an HTTP method",
            6,
        ),
        (
            "    events:\n      - http:\n          path: /x\n",
            "has no method",
            7,
        ),
        (
            "    events:\n      - http:\n          method: get\n",
            "has no path",
            7,
        ),
        (
            "    events:\n      - http:\n          path: /a/{id\n          method: get\n",
            "unbalanced",
            7,
        ),
        (
            "    events:\n      - httpApi: GET x\n",
            "must start with `/`",
            6,
        ),
        (
            "    events:\n      - httpApi: '/x'\n",
            "not `METHOD /path` nor `*`",
            6,
        ),
        (
            "    events:\n      - httpApi:\n          method: get\n",
            "has no path",
            7,
        ),
        (
            "    events:\n      - httpApi:\n          method: get\n          path: /{proxy+}/x\n",
            "not last",
            8,
        ),
        (
            "    events:\n      - httpApi:\n          method: '**'\n          path: /x\n",
            "not an HTTP method",
            7,
        ),
        (
            "    events:\n      - httpApi: '*'\n      - httpApi: '*'\n",
            "repeats route `$default`",
            7,
        ),
    ];
    for (body, needle, line) in cases {
        let err = error(&with_body(body));
        assert!(err.message.contains(needle), "{body}: {err}");
        assert_eq!(err.kind, ErrorKind::Invalid, "{body}: {err}");
        assert_eq!(err.line, Some(*line), "{body}: {err}");
        assert!(err.hint.is_some(), "{body}");
        assert!(err.message.contains("function `f`"), "{body}: {err}");
    }
}

#[test]
fn provider_problems() {
    let cases: &[(&str, ErrorKind, &str)] = &[
        (
            "provider:\n  name: google\n",
            ErrorKind::Unsupported,
            "not AWS",
        ),
        (
            "provider:\n  timeout: 0\n",
            ErrorKind::Invalid,
            "provider: timeout",
        ),
        (
            "provider:\n  memorySize: 1\n",
            ErrorKind::Invalid,
            "provider: memorySize",
        ),
        (
            "provider:\n  httpApi:\n    payload: '3.0'\n",
            ErrorKind::Invalid,
            "payload",
        ),
        (
            "provider:\n  environment:\n    A: ${ssm:/x}\n",
            ErrorKind::Unresolved,
            "cannot be resolved",
        ),
        ("provider: []\n", ErrorKind::Invalid, "provider is a list"),
    ];
    for (provider, kind, needle) in cases {
        let text = format!("service: s\n{provider}functions:\n  f:\n    handler: crates/users\n");
        let err = error(&text);
        assert_eq!(err.kind, *kind, "{provider}: {err}");
        assert!(err.message.contains(needle), "{provider}: {err}");
        assert!(err.line.is_some(), "{provider}: {err}");
    }
}

#[test]
fn variables_and_handlers() {
    let err = error("service: s\nfunctions:\n  f:\n    handler: ${self:custom.dir}\n");
    assert_eq!(err.kind, ErrorKind::Unresolved);
    assert_eq!(err.line, Some(4));
    assert!(err.hint.as_deref().unwrap().contains("--env-file"));

    let err = error("service: s\nfunctions:\n  f:\n    handler: src/handler.main\n");
    assert_eq!(err.kind, ErrorKind::Code);
    assert!(err.message.contains("handler `src/handler.main`"), "{err}");
    assert!(err.hint.as_deref().unwrap().contains("<dir>.<bin>"));

    let err = error("service: s\nfunctions:\n  f:\n    handler: crates/orders\n");
    assert!(err.message.contains("several binaries"), "{err}");

    let err = error("service: s\nfunctions:\n  f:\n    handler: orders-api.nope\n");
    assert!(err.message.contains("no binary `nope`"), "{err}");

    let err = error("service: s\nfunctions:\n  f:\n    image: repo/img:latest\n");
    assert_eq!(err.kind, ErrorKind::Unsupported);

    let err = error("service: s\nfunctions:\n  f:\n    timeout: 3\n");
    assert!(err.message.contains("has no handler"), "{err}");
    assert_eq!(err.line, Some(4));

    let err = error("service: s\nfunctions:\n  f:\n");
    assert!(err.message.contains("has no settings"), "{err}");
}

#[test]
fn document_level_problems() {
    let cases: &[(&str, ErrorKind, &str)] = &[
        ("service: s\n", ErrorKind::Invalid, "no `functions` section"),
        (
            "functions: {}\n",
            ErrorKind::Invalid,
            "declares no functions",
        ),
        (
            "functions: [a]\n",
            ErrorKind::Invalid,
            "functions is a list",
        ),
        (
            "functions:\n  'bad name':\n    handler: crates/users\n",
            ErrorKind::Invalid,
            "not a valid Lambda function name",
        ),
        (
            "functions:\n  f:\n    handler: [crates/users]\n",
            ErrorKind::Invalid,
            "not a plain value",
        ),
        ("\tfunctions:\n", ErrorKind::Syntax, "not valid YAML"),
        (
            "just a string",
            ErrorKind::Invalid,
            "a mapping at the top level",
        ),
    ];
    for (text, kind, needle) in cases {
        let err = error(text);
        assert_eq!(err.kind, *kind, "{text:?}: {err}");
        assert!(err.message.contains(needle), "{text:?}: {err}");
    }
}

#[test]
fn duplicate_routes_across_functions_are_errors() {
    let text = "\
service: s
functions:
  a:
    handler: crates/users
    events:
      - httpApi: GET /x
  b:
    handler: dist/legacy
    events:
      - httpApi: POST /x
      - httpApi: get /x
";
    let err = error(text);
    assert!(
        err.message.contains("already routed to function `a`"),
        "{err}"
    );
    assert_eq!(err.line, Some(11));
}

#[test]
fn yaml_anchors_and_merge_keys_work() {
    let tmp = service();
    let text = "\
service: s
custom:
  defaults: &defaults
    handler: crates/users
    timeout: 9
functions:
  a:
    <<: *defaults
    events:
      - httpApi: GET /a
  b:
    <<: *defaults
    timeout: 12
";
    let p = parse(&tmp, text).unwrap();
    assert_eq!(p.functions[0].timeout, Some(Duration::from_secs(9)));
    assert_eq!(p.functions[1].timeout, Some(Duration::from_secs(12)));
}

#[test]
fn logs_merge_over_the_providers_and_handlers_are_kept() {
    let tmp = service();
    tmp.bootstrap(".", true);
    let text = "\
service: s
provider:
  name: aws
  runtime: provided.al2023
  logs:
    lambda:
      logFormat: JSON
      systemLogLevel: DEBUG
functions:
  py:
    handler: app.handler
    logs:
      applicationLogLevel: ERROR
      logGroup: /aws/lambda/py-custom
  users:
    handler: crates/users
  plain:
    handler: crates/orders.orders-worker
    logs:
      logFormat: Text
      systemLogLevel: INFO
";
    let err = parse(&tmp, text).unwrap_err();
    // `plain` asks for Text but keeps the provider's system level: not a valid combination.
    assert!(err.message.contains("log format is Text"), "{err}");
    assert!(err.message.contains("function `plain`"), "{err}");
    assert_eq!(err.line, Some(20), "{err}");

    let text = text.replace("      systemLogLevel: INFO\n", "");
    let text = text.replace(
        "  logs:\n    lambda:\n      logFormat: JSON\n      systemLogLevel: DEBUG\n",
        "  logs:\n    lambda:\n      logFormat: JSON\n",
    );
    let p = parse(&tmp, &text).unwrap();
    let [py, users, plain] = &p.functions[..] else {
        panic!("{:?}", p.functions)
    };
    // The service directory's bootstrap runs `app.handler`.
    assert_eq!(
        py.code,
        Code::Bootstrap {
            dir: tmp.path().to_path_buf()
        }
    );
    assert_eq!(py.handler.as_deref(), Some("app.handler"));
    assert_eq!(py.logging.format, LogFormat::Json);
    assert_eq!(py.logging.application_level, Some(LogLevel::Error));
    assert_eq!(
        py.logging.log_group.as_deref(),
        Some("/aws/lambda/py-custom")
    );
    assert_eq!(users.handler.as_deref(), Some("crates/users"));
    assert_eq!(users.logging.format, LogFormat::Json, "the provider's");
    assert_eq!(users.logging.application_level, None);
    assert_eq!(plain.logging.format, LogFormat::Text, "the function's own");
}

#[test]
fn managed_runtimes_are_left_out_with_a_note() {
    let tmp = service();
    let text = "\
service: s
provider:
  name: aws
  runtime: nodejs20.x
functions:
  js:
    handler: index.handler
  users:
    handler: crates/users
    runtime: provided.al2023
";
    let p = parse(&tmp, text).unwrap();
    let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["users"]);
    assert!(
        p.notes.iter().any(|n| n.contains("`js`")
            && n.contains("nodejs20.x")
            && n.contains("aws-lambda-ric")),
        "{:?}",
        p.notes
    );
    let only_js = "service: s\nprovider:\n  name: aws\n  runtime: nodejs20.x\nfunctions:\n  js:\n    handler: index.handler\n";
    let err = parse(&tmp, only_js).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported, "{err}");
    assert!(err.message.contains("nodejs20.x"), "{err}");
}

#[test]
fn bad_logs_are_errors_with_positions() {
    let cases: &[(&str, &str, u32)] = &[
        (
            "    logs:\n      logFormat: text\n",
            "neither JSON nor Text",
            6,
        ),
        (
            "    logs:\n      logFormat: JSON\n      applicationLogLevel: debug\n",
            "not an application log level",
            7,
        ),
        (
            "    logs:\n      logFormat: JSON\n      systemLogLevel: ERROR\n",
            "not a system log level",
            7,
        ),
        (
            "    logs:\n      logGroup: 'a b'\n",
            "not a log group name",
            6,
        ),
        ("    logs:\n      format: JSON\n", "unknown key", 6),
        ("    logs: JSON\n", "not a mapping", 5),
        (
            "    logs:\n      applicationLogLevel: WARN\n",
            "log format is Text",
            6,
        ),
    ];
    for (body, needle, line) in cases {
        let err = error(&with_body(body));
        assert_eq!(err.kind, ErrorKind::Invalid, "{body}: {err}");
        assert!(err.message.contains(needle), "{body}: {err}");
        assert_eq!(err.line, Some(*line), "{body}: {err}");
        assert!(err.hint.is_some(), "{body}: {err}");
    }
    let err = error(
        "service: s\nprovider:\n  logs:\n    lambda:\n      logFormat: XML\nfunctions:\n  f:\n    handler: crates/users\n",
    );
    assert!(
        err.message.contains("provider.logs.lambda.logFormat"),
        "{err}"
    );
    assert_eq!(err.line, Some(5), "{err}");
}

#[test]
fn cors_of_http_events_and_of_the_http_api() {
    use crate::apigw::Cors;
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let defaults = strings(&[
        "Content-Type",
        "X-Amz-Date",
        "Authorization",
        "X-Api-Key",
        "X-Amz-Security-Token",
        "X-Amz-User-Agent",
        "X-Amzn-Trace-Id",
    ]);
    let tmp = service();
    let text = "\
service: s
provider:
  name: aws
  httpApi:
    cors:
      allowedOrigins: [http://localhost:3000]
      allowedMethods: [GET]
      exposedResponseHeaders: [x-total]
      allowCredentials: true
      maxAge: 600
functions:
  users:
    handler: crates/users
    events:
      - http: {path: a, method: post, cors: true}
      - http:
          path: b
          method: get
          cors:
            origin: https://app.test
            headers: [Content-Type]
            allowCredentials: true
            cacheControl: max-age=600
      - http: GET c
      - httpApi: 'GET /d'
";
    let p = parse(&tmp, text).unwrap();
    let cors: Vec<Option<Cors>> = p.functions[0]
        .routes
        .iter()
        .map(|r| r.cors.clone())
        .collect();
    assert_eq!(
        cors,
        [
            Some(Cors {
                allow_origins: strings(&["*"]),
                allow_methods: strings(&["OPTIONS", "POST"]),
                allow_headers: defaults.clone(),
                ..Cors::default()
            }),
            Some(Cors {
                allow_origins: strings(&["https://app.test"]),
                allow_methods: strings(&["OPTIONS", "GET"]),
                allow_headers: strings(&["Content-Type"]),
                allow_credentials: true,
                ..Cors::default()
            }),
            None,
            Some(Cors {
                allow_origins: strings(&["http://localhost:3000"]),
                allow_methods: strings(&["GET"]),
                allow_headers: defaults.clone(),
                expose_headers: strings(&["x-total"]),
                max_age: Some(600),
                allow_credentials: true,
            }),
        ]
    );

    let p = parse(
        &tmp,
        "service: s\nprovider:\n  httpApi:\n    cors: true\nfunctions:\n  users:\n    handler: \
         crates/users\n    events:\n      - httpApi: '*'\n",
    )
    .unwrap();
    assert_eq!(
        p.functions[0].routes[0].cors,
        Some(Cors {
            allow_origins: strings(&["*"]),
            allow_methods: strings(&["*"]),
            allow_headers: defaults,
            ..Cors::default()
        })
    );

    for (provider, body, message, line) in [
        (
            "  httpApi:\n    cors: yes please\n",
            "",
            "cors is the string",
            4,
        ),
        (
            "  httpApi:\n    cors:\n      allowOrigins: ['*']\n",
            "",
            "unknown field `allowOrigins`",
            5,
        ),
        (
            "  name: aws\n",
            "    events:\n      - http: {path: a, method: get, cors: {allowCredentials: 1}}\n",
            "not true or false",
            8,
        ),
        (
            "  name: aws\n",
            "    events:\n      - http: {path: a, method: get, cors: {origin: {a: b}}}\n",
            "not a list",
            8,
        ),
    ] {
        let err = error(&format!(
            "service: s\nprovider:\n{provider}functions:\n  f:\n    handler: crates/users\n{body}"
        ));
        assert!(err.message.contains(message), "{provider}{body}: {err}");
        assert_eq!(err.line, Some(line), "{provider}{body}: {err}");
    }
}

#[test]
fn rest_routes_take_the_providers_stage() {
    let tmp = service();
    let with = |stage: &str| {
        format!(
            "service: s\nprovider:\n  name: aws\n{stage}functions:\n  users:\n    handler: \
             crates/users\n    events:\n      - http: GET x\n      - httpApi: 'GET /y'\n"
        )
    };
    let stages = |text: &str| -> Vec<String> {
        parse(&tmp, text).unwrap().functions[0]
            .routes
            .iter()
            .map(|r| r.stage.name.clone())
            .collect()
    };
    // The framework's default stage is dev; HTTP APIs are served by `$default`.
    assert_eq!(stages(&with("")), ["dev", "$default"]);
    assert_eq!(stages(&with("  stage: qa\n")), ["qa", "$default"]);
    // No --stage locally: the option's fallback.
    assert_eq!(
        stages(&with("  stage: ${opt:stage, 'staging'}\n")),
        ["staging", "$default"]
    );
    for bad in ["  stage: ${env:STAGE}\n", "  stage: a.b\n"] {
        let err = parse(&tmp, &with(bad)).unwrap_err();
        assert!(err.to_string().contains("provider.stage"), "{err}");
    }
}

#[cfg(feature = "schedules")]
mod schedules {
    use super::*;
    use crate::sources::schedule::Service;

    const SCHEDULED: &str = r#"service: jobs
provider:
  name: aws
  runtime: provided.al2023
functions:
  worker:
    handler: crates/users
    events:
      - schedule: rate(10 minutes)
      - schedule:
          rate:
            - cron(0 3 * * ? *)
            - cron(0 15 * * ? *)
          name: twice-daily
          enabled: false
          input:
            task: cleanup
      - schedule:
          method: scheduler
          rate: cron(30 8 ? * MON *)
          timezone: America/New_York
"#;

    #[test]
    fn schedule_events_are_read() {
        let tmp = service();
        let project = parse(&tmp, SCHEDULED).unwrap();
        let schedules = &project.functions[0].schedules;
        let summary: Vec<_> = schedules
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.service,
                    s.expression_text.as_str(),
                    s.time_zone.as_deref(),
                    s.input.as_deref(),
                    s.enabled,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "worker-schedule-1",
                    Service::Rule,
                    "rate(10 minutes)",
                    None,
                    None,
                    true
                ),
                (
                    "twice-daily-1",
                    Service::Rule,
                    "cron(0 3 * * ? *)",
                    None,
                    Some(r#"{"task":"cleanup"}"#),
                    false
                ),
                (
                    "twice-daily-2",
                    Service::Rule,
                    "cron(0 15 * * ? *)",
                    None,
                    Some(r#"{"task":"cleanup"}"#),
                    false
                ),
                (
                    "worker-schedule-3",
                    Service::Scheduler,
                    "cron(30 8 ? * MON *)",
                    Some("America/New_York"),
                    None,
                    true
                ),
            ]
        );
        assert!(!project.notes.iter().any(|n| n.contains("schedule")));
    }

    #[test]
    fn bad_schedule_events_name_the_field() {
        let bad = |from: &str, to: &str| error(&SCHEDULED.replace(from, to));
        let err = bad("cron(0 15 * * ? *)", "cron(0 15 * * ? 1969)");
        assert_eq!(err.line, Some(13), "{err}");
        assert!(err.message.contains("year field"), "{err}");
        let err = bad("rate(10 minutes)", "every ten minutes");
        assert_eq!(err.line, Some(9), "{err}");
        let err = bad("method: scheduler", "method: cron");
        assert!(
            err.message.contains("neither eventBus nor scheduler"),
            "{err}"
        );
        let err = bad("          method: scheduler\n", "");
        assert!(err.message.contains("runs in UTC"), "{err}");
        let err = bad("enabled: false", "enabled: no-way");
        assert!(err.message.contains("not true or false"), "{err}");
    }
}

mod sqs {
    use super::*;
    use crate::sources::sqs::Queue;

    const QUEUED: &str = r#"service: jobs
provider:
  name: aws
  runtime: provided.al2023
functions:
  worker:
    handler: crates/users
    events:
      - sqs: arn:aws:sqs:us-east-1:123456789012:plain
      - sqs:
          arn:
            Fn::GetAtt: [Jobs, Arn]
          batchSize: 50
          maximumBatchingWindow: 10
          functionResponseType: ReportBatchItemFailures
          maximumConcurrency: 2
          enabled: false
resources:
  Resources:
    Jobs:
      Type: AWS::SQS::Queue
"#;

    #[test]
    fn sqs_events_are_read() {
        let tmp = service();
        let project = parse(&tmp, QUEUED).unwrap();
        let sources = &project.functions[0].sqs;
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].name, "worker-sqs-0");
        assert_eq!(sources[0].function, "worker");
        assert_eq!(sources[0].queue.name, "plain");
        assert_eq!(sources[0].batch_size, 10);
        assert!(sources[0].enabled);
        let full = &sources[1];
        assert_eq!(full.queue, Queue::local("Jobs"));
        assert_eq!(full.batch_size, 50);
        assert_eq!(full.batching_window, Duration::from_secs(10));
        assert!(full.report_batch_item_failures);
        assert_eq!(full.maximum_concurrency, Some(2));
        assert!(!full.enabled);
    }

    #[test]
    fn bad_sqs_events_name_the_field() {
        let bad = |from: &str, to: &str| error(&QUEUED.replace(from, to));
        let err = bad("maximumBatchingWindow: 10", "maximumBatchingWindow: 0");
        assert_eq!(err.line, Some(14), "{err}");
        assert!(err.message.contains("batching window"), "{err}");
        let err = bad("batchSize: 50", "batchSize: 10001");
        assert_eq!(err.line, Some(13), "{err}");
        let err = bad(
            "functionResponseType: ReportBatchItemFailures",
            "functionResponseType: Partial",
        );
        assert_eq!(err.line, Some(15), "{err}");
        let err = bad(
            "sqs: arn:aws:sqs:us-east-1:123456789012:plain",
            "sqs: plain",
        );
        assert_eq!(err.line, Some(9), "{err}");
        assert!(err.message.contains("not an SQS queue ARN"), "{err}");
    }
}
