use std::time::Duration;

use super::*;
use crate::apigw::PayloadFormat;
use crate::config::{LogFormat, LogLevel, LoggingConfig};
use crate::template::testutil::TempDir;
use crate::template::{Code, ErrorKind, RouteSpec};

/// A project directory with the packages the templates below point at.
fn project() -> TempDir {
    let tmp = TempDir::new();
    tmp.package("functions/users", "users", &[]);
    tmp.package("functions/orders", "orders", &[]);
    tmp.package("functions/multi", "multi", &["admin", "report"]);
    tmp.bootstrap("functions/legacy", true);
    tmp
}

fn parse(tmp: &TempDir, text: &str) -> Result<Project, ConfigError> {
    let file = tmp.write("template.yaml", text);
    parse_sam(text, &file)
}

fn error(text: &str) -> ConfigError {
    let tmp = project();
    parse(&tmp, text).unwrap_err()
}

const FULL: &str = r#"AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: Orders service

Parameters:
  Stage:
    Type: String
    Default: prod
  OrdersMemory:
    Type: Number
    Default: "512"
  Origins:
    Type: CommaDelimitedList
    Default:
      - https://a.example
      - https://b.example

Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    Timeout: 10
    MemorySize: 256
    Environment:
      Variables:
        STAGE: !Ref Stage
        LOG_LEVEL: info

Resources:
  UsersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users/
      Timeout: 30
      ReservedConcurrentExecutions: 5
      Environment:
        Variables:
          LOG_LEVEL: debug
          REGION: !Ref AWS::Region
          ORIGINS: !Ref Origins
          MAX_ITEMS: 25
          ENABLED: true
      FunctionUrlConfig:
        AuthType: NONE
      Events:
        GetUser:
          Type: HttpApi
          Properties:
            Path: /users/{id}
            Method: get
        Legacy:
          Type: HttpApi
          Properties:
            Path: /v1/users
            Method: POST
            PayloadFormatVersion: "1.0"

  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./functions/orders
      MemorySize: !Ref OrdersMemory
      Events:
        ListOrders:
          Type: Api
          Properties:
            Path: /orders
            Method: get
        AnyOrder:
          Type: Api
          Properties:
            RestApiId: !Ref OrdersApi
            Path: /orders/{proxy+}
            Method: any
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt OrdersQueue.Arn

  CatchAll:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: report
    Properties:
      CodeUri: functions/multi
      Events:
        Everything:
          Type: HttpApi

  LegacyFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/legacy
      Runtime: provided.al2
      Handler: not.used
      Environment:
        Variables:
          STAGE: !Ref AWS::NoValue

  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Code: functions/users
      Handler: bootstrap
      Runtime: provided.al2023
      Timeout: 7
      MemorySize: 1024

  OrdersApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
  OrdersQueue:
    Type: AWS::SQS::Queue
"#;

#[test]
fn reads_every_field() {
    let tmp = project();
    let p = parse(&tmp, FULL).unwrap();
    assert_eq!(p.format, Format::Sam);
    assert_eq!(p.source, tmp.path().join("template.yaml"));
    let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "UsersFunction",
            "OrdersFunction",
            "CatchAll",
            "LegacyFunction",
            "Plain"
        ]
    );

    let users = &p.functions[0];
    assert_eq!(
        users.code,
        Code::RustPackage {
            package_dir: tmp.path().join("functions/users/"),
            bin: Some("users".into())
        }
    );
    assert_eq!(users.handler.as_deref(), Some("bootstrap"));
    assert_eq!(users.timeout, Some(Duration::from_secs(30)));
    assert_eq!(users.memory_mb, Some(256), "from Globals");
    assert_eq!(users.reserved_concurrency, Some(5));
    assert!(users.function_url);
    let env: Vec<(&str, &str)> = users
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("ENABLED", "true"),
            ("LOG_LEVEL", "debug"),
            ("MAX_ITEMS", "25"),
            ("ORIGINS", "https://a.example,https://b.example"),
            ("REGION", "us-east-1"),
            ("STAGE", "prod"),
        ]
    );
    assert_eq!(
        users.routes,
        [
            RouteSpec::new(Some("GET".into()), "/users/{id}", PayloadFormat::Http),
            // An HTTP API set to payload 1.0: the REST-shaped event, HTTP API answers.
            RouteSpec::new(Some("POST".into()), "/v1/users", PayloadFormat::HttpV1),
        ]
    );

    let orders = &p.functions[1];
    assert_eq!(
        orders.timeout,
        Some(Duration::from_secs(10)),
        "from Globals"
    );
    assert_eq!(orders.memory_mb, Some(512), "a string parameter default");
    assert!(!orders.function_url);
    assert_eq!(orders.env["STAGE"], "prod");
    assert_eq!(orders.env["LOG_LEVEL"], "info");
    let keys: Vec<String> = orders.routes.iter().map(RouteSpec::key).collect();
    assert_eq!(keys, ["GET /orders", "ANY /orders/{proxy+}"]);
    assert!(
        orders
            .routes
            .iter()
            .all(|r| r.payload == PayloadFormat::Rest)
    );

    let catch_all = &p.functions[2];
    assert_eq!(
        catch_all.code,
        Code::RustPackage {
            package_dir: tmp.path().join("functions/multi"),
            bin: Some("report".into())
        }
    );
    assert_eq!(
        catch_all.routes,
        [RouteSpec::default_route(PayloadFormat::Http)]
    );

    let legacy = &p.functions[3];
    assert_eq!(
        legacy.code,
        Code::Bootstrap {
            dir: tmp.path().join("functions/legacy")
        }
    );
    assert_eq!(legacy.handler.as_deref(), Some("not.used"));
    assert!(!legacy.env.contains_key("STAGE"), "AWS::NoValue removes it");
    assert_eq!(legacy.env["LOG_LEVEL"], "info");

    let plain = &p.functions[4];
    assert_eq!(plain.timeout, Some(Duration::from_secs(7)));
    assert_eq!(plain.memory_mb, Some(1024));
    assert!(
        plain.env.is_empty(),
        "Globals do not apply to AWS::Lambda::Function"
    );

    assert!(p.notes.iter().any(|n| n.contains("OrdersApi")));
    assert!(p.notes.iter().any(|n| n.contains("OrdersQueue")));
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("Queue") && n.contains("SQS"))
    );
}

#[test]
fn json_templates_and_long_form_ref_work() {
    let tmp = project();
    let text = r#"{
  "Parameters": {"Mem": {"Type": "Number", "Default": 2048}},
  "Resources": {
    "Fn": {
      "Type": "AWS::Serverless::Function",
      "Properties": {
        "CodeUri": "functions/users",
        "MemorySize": {"Ref": "Mem"},
        "Events": {"E": {"Type": "HttpApi", "Properties": {"Path": "/x", "Method": "ANY"}}}
      }
    }
  }
}"#;
    let p = parse(&tmp, text).unwrap();
    assert_eq!(p.functions[0].memory_mb, Some(2048));
    assert_eq!(p.functions[0].routes[0].key(), "ANY /x");
}

#[test]
fn unquoted_payload_version_is_accepted() {
    let tmp = project();
    let text = "\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Events:
        E:
          Type: HttpApi
          Properties: {Path: /x, Method: get, PayloadFormatVersion: 1.0}
";
    let p = parse(&tmp, text).unwrap();
    assert_eq!(p.functions[0].routes[0].payload, PayloadFormat::HttpV1);
}

#[test]
fn integration_timeouts_are_read_and_checked_per_api_type() {
    let tmp = project();
    let text = "\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Events:
        Rest:
          Type: Api
          Properties: {Path: /rest, Method: get, TimeoutInMillis: 29000}
        Http:
          Type: HttpApi
          Properties: {Path: /http, Method: get, TimeoutInMillis: 30000}
        Short:
          Type: HttpApi
          Properties: {TimeoutInMillis: \"50\"}
        Default:
          Type: Api
          Properties: {Path: /default, Method: get}
";
    let p = parse(&tmp, text).unwrap();
    let timeouts: Vec<(String, Option<Duration>)> = p.functions[0]
        .routes
        .iter()
        .map(|r| (r.key(), r.integration_timeout))
        .collect();
    assert_eq!(
        timeouts,
        [
            ("GET /rest".to_owned(), Some(Duration::from_secs(29))),
            ("GET /http".to_owned(), Some(Duration::from_secs(30))),
            ("$default".to_owned(), Some(Duration::from_millis(50))),
            ("GET /default".to_owned(), None),
        ]
    );
    // The front's routes take them; unset, the API type's default applies.
    let routes: Vec<_> = p.functions[0]
        .routes
        .iter()
        .map(|r| r.route("Fn").unwrap().integration_timeout())
        .collect();
    assert_eq!(
        routes,
        [
            Some(Duration::from_secs(29)),
            Some(Duration::from_secs(30)),
            Some(Duration::from_millis(50)),
            Some(Duration::from_secs(29)),
        ]
    );

    // Out of range: REST 50..=29000 ms, HTTP APIs 50..=30000 ms.
    for (kind, ms) in [
        ("Api", 30000),
        ("Api", 49),
        ("HttpApi", 30001),
        ("HttpApi", 0),
    ] {
        let err = error(&with_props(&format!(
            "      Events:\n        E:\n          Type: {kind}\n          Properties:\n            \
             Path: /a\n            Method: get\n            TimeoutInMillis: {ms}\n"
        )));
        assert!(
            err.message.contains("integration timeout"),
            "{kind} {ms}: {err}"
        );
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert_eq!(err.line, Some(15), "{kind} {ms}: {err}");
        let max = if kind == "Api" { "29000" } else { "30000" };
        assert!(err.hint.as_deref().unwrap().contains(max), "{err}");
    }
}

#[test]
fn rest_routes_take_their_apis_binary_media_types() {
    let tmp = project();
    let text = "\
Globals:
  Api:
    BinaryMediaTypes: [image~1png]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Events:
        Implicit:
          Type: Api
          Properties: {Path: /implicit, Method: get}
        Explicit:
          Type: Api
          Properties: {Path: /explicit, Method: get, RestApiId: !Ref Files}
        Plain:
          Type: Api
          Properties: {Path: /plain, Method: get, RestApiId: {Ref: Raw}}
        Http:
          Type: HttpApi
          Properties: {Path: /http, Method: get}
  Files:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      BinaryMediaTypes: ['*~1*', application/pdf]
  Raw:
    Type: AWS::ApiGateway::RestApi
    Properties:
      BinaryMediaTypes: [font/woff2]
";
    let p = parse(&tmp, text).unwrap();
    let types: Vec<Vec<String>> = p.functions[0]
        .routes
        .iter()
        .map(|r| r.binary_media_types.clone())
        .collect();
    assert_eq!(
        types,
        [
            vec!["image/png".to_owned()],
            // SAM appends an API's own list to Globals.Api's.
            vec![
                "image/png".to_owned(),
                "*/*".to_owned(),
                "application/pdf".to_owned()
            ],
            // Globals do not reach a plain CloudFormation RestApi.
            vec!["font/woff2".to_owned()],
            Vec::new(),
        ]
    );
    let route = p.functions[0].routes[1].route("Fn").unwrap();
    assert_eq!(
        route.binary_media_types(),
        ["image/png", "*/*", "application/pdf"]
    );

    let err = error(&format!(
        "Globals:\n  Api:\n    BinaryMediaTypes: {{a: b}}\n{}",
        with_props(
            "      Events:\n        E:\n          Type: Api\n          Properties: {Path: /a, Method: get}\n"
        )
    ));
    assert!(err.message.contains("BinaryMediaTypes"), "{err}");
    assert_eq!(err.line, Some(3), "{err}");
}

/// A template with one function whose Properties are `props` (indented by 6).
fn with_props(props: &str) -> String {
    format!(
        "Parameters:\n  NoDefault:\n    Type: String\nResources:\n  Fn:\n    Type: \
         AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/users\n{props}"
    )
}

#[test]
fn unresolvable_intrinsics_are_reported_where_they_are() {
    let cases = [
        ("      Timeout: !GetAtt Foo.Bar\n", "!GetAtt", 9),
        (
            "      Environment:\n        Variables:\n          URL: !Sub \"https://${AWS::Region}\"\n",
            "!Sub",
            11,
        ),
        (
            "      Environment:\n        Variables:\n          T: {\"Fn::Join\": [\"\", [a, b]]}\n",
            "Fn::Join",
            11,
        ),
        ("      MemorySize: !Ref NoDefault\n", "no Default", 9),
        ("      MemorySize: !Ref Fn\n", "refers to a resource", 9),
        ("      MemorySize: !Ref Missing\n", "neither a parameter", 9),
        (
            "      MemorySize: !Ref AWS::StackName\n",
            "neither a parameter",
            9,
        ),
    ];
    for (props, needle, line) in cases {
        let err = error(&with_props(props));
        assert!(
            err.message.contains(needle) && err.message.contains("function `Fn`"),
            "{props}: {err}"
        );
        assert!(
            matches!(err.kind, ErrorKind::Unresolved | ErrorKind::Invalid),
            "{err}"
        );
        assert_eq!(err.line, Some(line), "{props}: {err}");
        assert!(err.hint.is_some());
        assert!(
            err.field
                .as_deref()
                .unwrap_or("")
                .starts_with("Resources.Fn.Properties.")
        );
    }
    let err = error(&with_props("      MemorySize: !Ref NoDefault\n"));
    assert_eq!(err.kind, ErrorKind::Unresolved);
    assert!(err.hint.as_deref().unwrap().contains("Default"));
    assert!(err.to_string().contains("template.yaml:9:19:"), "{err}");
}

#[test]
fn bad_values_are_errors_with_positions() {
    let cases: &[(&str, &str, u32)] = &[
        ("      Timeout: 0\n", "out of Lambda's range", 9),
        ("      Timeout: 901\n", "out of Lambda's range", 9),
        ("      Timeout: 2.5\n", "not a whole number", 9),
        ("      Timeout: [1]\n", "not a whole number", 9),
        ("      MemorySize: 64\n", "out of Lambda's range", 9),
        ("      MemorySize: 20000\n", "out of Lambda's range", 9),
        ("      MemorySize: lots\n", "not a whole number", 9),
        ("      ReservedConcurrentExecutions: -1\n", "negative", 9),
        ("      Environment: [a]\n", "Environment is a list", 9),
        (
            "      Environment:\n        Variables: 3\n",
            "Variables is",
            10,
        ),
        (
            "      Environment:\n        Variables:\n          1BAD: x\n",
            "not a valid environment",
            11,
        ),
        (
            "      Environment:\n        Variables:\n          A: [x]\n",
            "is a list",
            11,
        ),
        ("      FunctionUrlConfig: yes\n", "FunctionUrlConfig is", 9),
        ("      Events: [x]\n", "not a mapping", 9),
        ("      Events:\n        E: 3\n", "not a mapping", 10),
        (
            "      Events:\n        E:\n          Properties: {}\n",
            "has no Type",
            11,
        ),
        (
            "      Events:\n        E:\n          Type: Api\n",
            "has no Path",
            11,
        ),
        (
            "      Events:\n        E:\n          Type: Api\n          Properties:\n            Path: /x\n",
            "has no Method",
            13,
        ),
        (
            "      Events:\n        E:\n          Type: HttpApi\n          Properties:\n            Method: GET\n",
            "has no Path",
            13,
        ),
        (
            "      Events:\n        E:\n          Type: Api\n          Properties:\n            Path: x\n            Method: GET\n",
            "must start with `/`",
            13,
        ),
        (
            "      Events:\n        E:\n          Type: Api\n          Properties:\n            Path: /a/{proxy+}/b\n            Method: GET\n",
            "not last",
            13,
        ),
        (
            "      Events:\n        E:\n          Type: Api\n          Properties:\n            Path: /a/{id\n            Method: GET\n",
            "unbalanced",
            13,
        ),
        (
            "      Events:\n        E:\n          Type: Api\n          Properties:\n            Path: /a\n            Method: FETCH\n",
            "not an HTTP method",
            14,
        ),
        (
            "      Events:\n        E:\n          Type: HttpApi\n          Properties:\n            PayloadFormatVersion: \"3.0\"\n",
            "PayloadFormatVersion",
            13,
        ),
        (
            "      Events:\n        A:\n          Type: Api\n          Properties: {Path: /a, Method: get}\n        B:\n          Type: Api\n          Properties: {Path: /a, Method: GET}\n",
            "repeats route `GET /a`",
            14,
        ),
    ];
    for (props, needle, line) in cases {
        let err = error(&with_props(props));
        assert!(err.message.contains(needle), "{props}: {err}");
        assert_eq!(err.kind, ErrorKind::Invalid, "{props}: {err}");
        assert_eq!(err.line, Some(*line), "{props}: {err}");
        assert!(err.hint.is_some(), "{props}");
    }
}

#[test]
fn code_problems_are_errors() {
    let cases: &[(&str, ErrorKind, &str)] = &[
        (
            "CodeUri: functions/nowhere",
            ErrorKind::Code,
            "does not exist",
        ),
        (
            "CodeUri: functions/multi",
            ErrorKind::Code,
            "several binaries",
        ),
        (
            "CodeUri: s3://bucket/key.zip",
            ErrorKind::Unsupported,
            "only a local directory",
        ),
        (
            "CodeUri: {Bucket: b, Key: k}",
            ErrorKind::Unsupported,
            "only a local directory",
        ),
        (
            "CodeUri: functions/users\n      PackageType: Image",
            ErrorKind::Unsupported,
            "container image",
        ),
        ("InlineCode: 'exit 0'", ErrorKind::Unsupported, "InlineCode"),
        ("Handler: bootstrap", ErrorKind::Invalid, "no CodeUri"),
    ];
    for (props, kind, needle) in cases {
        let text = format!(
            "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      {props}\n"
        );
        let err = error(&text);
        assert_eq!(err.kind, *kind, "{props}: {err}");
        assert!(err.message.contains(needle), "{props}: {err}");
        assert!(err.line.is_some(), "{props}: {err}");
    }
    // A template whose only function has a managed runtime serves nothing: an error saying how
    // to serve it through provided.al2023.
    let err = error(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/nowhere\n      Runtime: python3.12\n      Handler: app.handler\n",
    );
    assert_eq!(err.kind, ErrorKind::Unsupported, "{err}");
    assert!(err.message.contains("runtime python3.12"), "{err}");
    assert!(
        err.message
            .contains("exec python3 -m awslambdaric \"$_HANDLER\""),
        "{err}"
    );
    // A Metadata binary that does not exist points at the Metadata.
    let err = error(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Metadata:\n      BuildProperties:\n        Binary: nope\n    Properties:\n      CodeUri: functions/multi\n",
    );
    assert!(err.message.contains("no binary `nope`"), "{err}");
    assert_eq!(err.line, Some(6));
    // Plain CloudFormation functions with code in S3.
    let err = error(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Code:\n        S3Bucket: b\n        S3Key: k\n",
    );
    assert_eq!(err.kind, ErrorKind::Unsupported);
}

#[test]
fn handler_picks_the_binary() {
    let tmp = project();
    let text = "\
Globals:
  Function:
    CodeUri: functions/multi
Resources:
  Admin:
    Type: AWS::Serverless::Function
    Properties:
      Handler: admin
  Report:
    Type: AWS::Serverless::Function
    Properties:
      Handler: report
";
    let p = parse(&tmp, text).unwrap();
    let bins: Vec<Option<&str>> = p
        .functions
        .iter()
        .map(|f| match &f.code {
            Code::RustPackage { bin, .. } => bin.as_deref(),
            Code::Bootstrap { .. } => None,
        })
        .collect();
    assert_eq!(bins, [Some("admin"), Some("report")]);
}

#[test]
fn document_level_problems() {
    let cases: &[(&str, ErrorKind, &str)] = &[
        ("", ErrorKind::Invalid, "a mapping at the top level"),
        (
            "- a\n- b\n",
            ErrorKind::Invalid,
            "a mapping at the top level",
        ),
        ("Resources: {\n", ErrorKind::Syntax, "not valid YAML"),
        ("a: 1\na: 2\n", ErrorKind::Syntax, "not valid YAML"),
        (
            "Description: x\n",
            ErrorKind::Invalid,
            "no `Resources` section",
        ),
        ("Resources: []\n", ErrorKind::Invalid, "not a mapping"),
        (
            "Resources:\n  T:\n    Type: AWS::SQS::Queue\n",
            ErrorKind::Invalid,
            "no AWS::Serverless::Function",
        ),
        ("Resources:\n  T: 3\n", ErrorKind::Invalid, "not a mapping"),
        (
            "Resources:\n  T:\n    Properties: {}\n",
            ErrorKind::Invalid,
            "has no Type",
        ),
        (
            "Resources:\n  T:\n    Type: [a]\n",
            ErrorKind::Invalid,
            "Type is a list",
        ),
        (
            "Globals: 3\nResources: {}\n",
            ErrorKind::Invalid,
            "`Globals` is",
        ),
        (
            "Parameters: 3\nResources: {}\n",
            ErrorKind::Invalid,
            "`Parameters` is",
        ),
        (
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: 3\n",
            ErrorKind::Invalid,
            "`Properties` is",
        ),
    ];
    for (text, kind, needle) in cases {
        let err = error(text);
        assert_eq!(err.kind, *kind, "{text:?}: {err}");
        assert!(err.message.contains(needle), "{text:?}: {err}");
    }
    let err = error("Resources:\n  F: {\n");
    assert_eq!(err.line, Some(3), "{err}");
}

#[test]
fn duplicate_routes_across_functions_are_errors() {
    let text = "\
Resources:
  A:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Events:
        E: {Type: HttpApi, Properties: {Path: /x, Method: GET}}
  B:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/orders
      Events:
        E: {Type: HttpApi, Properties: {Path: /x, Method: get}}
";
    let err = error(text);
    assert!(
        err.message.contains("already routed to function `A`"),
        "{err}"
    );
    assert_eq!(err.line, Some(13));
}

#[test]
fn handler_and_logging_config_are_read_with_globals_merged_field_by_field() {
    let tmp = project();
    let text = "\
Globals:
  Function:
    Runtime: provided.al2023
    LoggingConfig:
      LogFormat: JSON
      SystemLogLevel: WARN
Parameters:
  Level:
    Type: String
    Default: DEBUG
Resources:
  Py:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/legacy
      Handler: app.handler
      LoggingConfig:
        ApplicationLogLevel: !Ref Level
        LogGroup: /custom/py-logs
  Users:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      Code: functions/orders
      Handler: bootstrap
      Runtime: provided.al2
";
    let p = parse(&tmp, text).unwrap();
    let [py, users, plain] = &p.functions[..] else {
        panic!("{:?}", p.functions)
    };
    assert_eq!(py.handler.as_deref(), Some("app.handler"));
    assert_eq!(
        py.logging,
        LoggingConfig {
            format: LogFormat::Json,
            application_level: Some(LogLevel::Debug),
            system_level: Some(LogLevel::Warn),
            log_group: Some("/custom/py-logs".into()),
        }
    );
    assert_eq!(users.handler, None);
    assert_eq!(users.logging.format, LogFormat::Json, "from Globals");
    assert_eq!(users.logging.application_level, None);
    assert_eq!(
        users.logging.effective_application_level(),
        Some(LogLevel::Info)
    );
    // A plain CloudFormation function takes nothing from Globals.
    assert_eq!(plain.handler.as_deref(), Some("bootstrap"));
    assert_eq!(plain.logging, LoggingConfig::default());
}

#[test]
fn functions_of_managed_runtimes_are_left_out_with_a_note() {
    let tmp = project();
    let text = "\
Resources:
  Py:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: py/
      Handler: app.handler
      Runtime: python3.12
  Users:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Runtime: provided.al2023
";
    let p = parse(&tmp, text).unwrap();
    let names: Vec<&str> = p.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Users"]);
    let note = p.notes.iter().find(|n| n.contains("`Py`")).unwrap();
    assert!(
        note.contains("python3.12") && note.contains("provided.al2023"),
        "{note}"
    );
}

#[test]
fn bad_logging_configs_are_errors_with_positions() {
    let cases: &[(&str, &str, u32)] = &[
        (
            "      LoggingConfig:\n        LogFormat: json\n",
            "neither JSON nor Text",
            10,
        ),
        (
            "      LoggingConfig:\n        LogFormat: JSON\n        ApplicationLogLevel: VERBOSE\n",
            "not an application log level",
            11,
        ),
        (
            "      LoggingConfig:\n        LogFormat: JSON\n        SystemLogLevel: TRACE\n",
            "not a system log level",
            11,
        ),
        (
            "      LoggingConfig:\n        LogGroup: my group\n",
            "not a log group name",
            10,
        ),
        (
            "      LoggingConfig:\n        Format: JSON\n",
            "unknown field",
            10,
        ),
        ("      LoggingConfig: JSON\n", "not a mapping", 9),
        // Levels filter JSON logs only.
        (
            "      LoggingConfig:\n        ApplicationLogLevel: DEBUG\n",
            "log format is Text",
            10,
        ),
    ];
    for (props, needle, line) in cases {
        let err = error(&with_props(props));
        assert_eq!(err.kind, ErrorKind::Invalid, "{props}: {err}");
        assert!(err.message.contains(needle), "{props}: {err}");
        assert!(err.message.contains("function `Fn`"), "{props}: {err}");
        assert_eq!(err.line, Some(*line), "{props}: {err}");
        assert!(err.hint.is_some(), "{props}: {err}");
    }
}

#[test]
fn function_url_invoke_modes() {
    let tmp = project();
    let mode = |props: &str| {
        let project = parse(&tmp, &with_props(props)).unwrap();
        let f = &project.functions[0];
        (f.function_url, f.url_invoke_mode)
    };
    use crate::config::InvokeMode::{Buffered, ResponseStream};
    assert_eq!(mode(""), (false, Buffered));
    assert_eq!(
        mode("      FunctionUrlConfig:\n        AuthType: NONE\n"),
        (true, Buffered)
    );
    assert_eq!(
        mode(
            "      FunctionUrlConfig:\n        AuthType: NONE\n        InvokeMode: RESPONSE_STREAM\n"
        ),
        (true, ResponseStream)
    );
    let err = error(&with_props(
        "      FunctionUrlConfig:\n        InvokeMode: STREAM\n",
    ));
    assert!(err.message.contains("InvokeMode"), "{err}");
    assert_eq!(err.line, Some(10), "{err}");
}

#[test]
fn routes_take_their_apis_cors() {
    use crate::apigw::Cors;
    let tmp = project();
    let text = r#"
Globals:
  HttpApi:
    CorsConfiguration: https://global.test
  Api:
    Cors: "'*'"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Events:
        ImplicitHttp:
          Type: HttpApi
          Properties: {Path: /a, Method: get}
        Http:
          Type: HttpApi
          Properties: {Path: /b, Method: get, ApiId: !Ref Web}
        ImplicitRest:
          Type: Api
          Properties: {Path: /c, Method: get}
        Rest:
          Type: Api
          Properties: {Path: /d, Method: get, RestApiId: !Ref Legacy}
        Open:
          Type: HttpApi
          Properties: {Path: /e, Method: get, ApiId: !Ref Open}
  Web:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [http://localhost:3000, https://app.test]
        AllowMethods: [GET, POST]
        AllowHeaders: [content-type]
        ExposeHeaders: [x-total]
        MaxAge: 600
        AllowCredentials: true
  Legacy:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
      Cors:
        AllowOrigin: "'https://app.test'"
        AllowMethods: "'GET,OPTIONS'"
        AllowHeaders: "'Content-Type,X-Api-Key'"
        MaxAge: "'60'"
        AllowCredentials: true
  Open:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: true
"#;
    let p = parse(&tmp, text).unwrap();
    let cors: Vec<Option<Cors>> = p.functions[0]
        .routes
        .iter()
        .map(|r| r.cors.clone())
        .collect();
    let strings = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        cors,
        [
            Some(Cors {
                allow_origins: strings(&["https://global.test"]),
                ..Cors::default()
            }),
            // The API's own setting replaces the global one.
            Some(Cors {
                allow_origins: strings(&["http://localhost:3000", "https://app.test"]),
                allow_methods: strings(&["GET", "POST"]),
                allow_headers: strings(&["content-type"]),
                expose_headers: strings(&["x-total"]),
                max_age: Some(600),
                allow_credentials: true,
            }),
            Some(Cors {
                allow_origins: strings(&["*"]),
                ..Cors::default()
            }),
            // REST values lose their quotes.
            Some(Cors {
                allow_origins: strings(&["https://app.test"]),
                allow_methods: strings(&["GET", "OPTIONS"]),
                allow_headers: strings(&["Content-Type", "X-Api-Key"]),
                expose_headers: Vec::new(),
                max_age: Some(60),
                allow_credentials: true,
            }),
            Some(Cors {
                allow_origins: strings(&["*"]),
                allow_methods: strings(&["*"]),
                allow_headers: strings(&["*"]),
                ..Cors::default()
            }),
        ]
    );
    // It reaches the front's route.
    let route = p.functions[0].routes[1].route("Fn").unwrap();
    assert_eq!(route.cors(), cors[1].as_ref());

    // No CORS anywhere: none.
    let plain = parse(
        &tmp,
        &with_props(
            "      Events:\n        E:\n          Type: HttpApi\n          Properties: {Path: /a, Method: get}\n",
        ),
    )
    .unwrap();
    assert_eq!(plain.functions[0].routes[0].cors, None);
}

#[test]
fn malformed_cors_is_an_error_with_its_position() {
    let events = "      Events:\n        E:\n          Type: HttpApi\n          Properties: {Path: /a, Method: get}\n        R:\n          Type: Api\n          Properties: {Path: /r, Method: get}\n";
    let cases: &[(&str, &str, u32)] = &[
        ("  HttpApi:\n    CorsConfiguration: [a]\n", "is a list", 3),
        (
            "  HttpApi:\n    CorsConfiguration:\n      AllowOrigin: ['*']\n",
            "unknown field `AllowOrigin`",
            4,
        ),
        (
            "  HttpApi:\n    CorsConfiguration:\n      MaxAge: 100000\n",
            "from 0 to 86400",
            4,
        ),
        (
            "  HttpApi:\n    CorsConfiguration:\n      AllowCredentials: maybe\n",
            "not true or false",
            4,
        ),
        (
            "  HttpApi:\n    CorsConfiguration:\n      AllowOrigins: {a: b}\n",
            "not a list",
            4,
        ),
        ("  Api:\n    Cors: '*'\n", "not in single quotes", 3),
        (
            "  Api:\n    Cors:\n      AllowMethods: \"'GET'\"\n",
            "has no AllowOrigin",
            4,
        ),
        (
            "  Api:\n    Cors:\n      AllowOrigin: \"'*'\"\n      ExposeHeaders: \"'x'\"\n",
            "unknown field `ExposeHeaders`",
            5,
        ),
    ];
    for (globals, message, line) in cases {
        let text = format!("Globals:\n{globals}{}", with_props(events));
        let err = error(&text);
        assert!(err.message.contains(message), "{globals}: {err}");
        assert_eq!(err.line, Some(*line), "{globals}: {err}");
        assert_eq!(err.kind, ErrorKind::Invalid, "{globals}: {err}");
    }
}

#[test]
fn routes_take_their_apis_stage_and_stage_variables() {
    let tmp = project();
    let text = "\
Parameters:
  Table: {Type: String, Default: users-dev}
Globals:
  Api:
    Variables: {table: global, region: eu}
  HttpApi:
    StageVariables: {mode: global}
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Events:
        Implicit:
          Type: Api
          Properties: {Path: /implicit, Method: get}
        Explicit:
          Type: Api
          Properties: {Path: /explicit, Method: get, RestApiId: !Ref Rest}
        ImplicitHttp:
          Type: HttpApi
          Properties: {Path: /ih, Method: get}
        ExplicitHttp:
          Type: HttpApi
          Properties: {Path: /eh, Method: get, ApiId: !Ref Http}
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Variables: {table: !Ref Table}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: v1
      StageVariables: {mode: own, url: 'https://x.test/a?b=c'}
";
    let p = parse(&tmp, text).unwrap();
    let stages: Vec<(String, Vec<(String, String)>)> = p.functions[0]
        .routes
        .iter()
        .map(|r| {
            (
                r.stage.name.clone(),
                r.stage.variables.clone().into_iter().collect(),
            )
        })
        .collect();
    let pairs = |items: &[(&str, &str)]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        stages,
        [
            // SAM's implicit REST API: stage Prod, Globals.Api.Variables.
            (
                "Prod".to_owned(),
                pairs(&[("region", "eu"), ("table", "global")])
            ),
            // The API's own variables over the global ones.
            (
                "dev".to_owned(),
                pairs(&[("region", "eu"), ("table", "users-dev")])
            ),
            ("$default".to_owned(), pairs(&[("mode", "global")])),
            (
                "v1".to_owned(),
                pairs(&[("mode", "own"), ("url", "https://x.test/a?b=c")])
            ),
        ]
    );
    let route = p.functions[0].routes[1].route("Fn").unwrap();
    assert_eq!(route.stage().name, "dev");
}

#[test]
fn bad_stages_are_errors_naming_the_property() {
    let api = |props: &str| {
        format!(
            "\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      Events:
        E:
          Type: Api
          Properties: {{Path: /a, Method: get, RestApiId: !Ref Rest}}
  Rest:
    Type: AWS::Serverless::Api
    Properties:
{props}
"
        )
    };
    for (props, property, says) in [
        (
            "      Cors: \"'*'\"",
            "Resources.Rest.Properties",
            "has no StageName",
        ),
        (
            "      StageName: my/stage",
            "Resources.Rest.Properties.StageName",
            "may hold only letters",
        ),
        (
            "      StageName: $default",
            "Resources.Rest.Properties.StageName",
            "no `$default` stage",
        ),
        (
            "      StageName: dev\n      Variables: {bad-name: x}",
            "Resources.Rest.Properties.Variables.bad-name",
            "stage variable name",
        ),
        (
            "      StageName: dev\n      Variables: {ok: 'a b'}",
            "Resources.Rest.Properties.Variables.ok",
            "may not hold ` `",
        ),
        (
            "      StageName: dev\n      Variables: [a]",
            "Resources.Rest.Properties.Variables",
            "not a mapping",
        ),
    ] {
        let err = error(&api(props));
        let text = err.to_string();
        assert_eq!(err.kind, ErrorKind::Invalid, "{text}");
        assert!(text.contains("template.yaml"), "{text}");
        assert!(text.contains(property), "{props}: {text}");
        assert!(text.contains(says), "{props}: {text}");
    }
}

#[test]
fn function_url_cors_is_read_and_held_to_lambdas_limits() {
    let tmp = project();
    let with = |cors: &str| {
        format!(
            "\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      FunctionUrlConfig:
        AuthType: NONE
        InvokeMode: RESPONSE_STREAM
        Cors:
{cors}
"
        )
    };
    let p = parse(
        &tmp,
        &with(
            "          AllowOrigins: [http://app.test]\n          AllowMethods: [GET]\n          \
             ExposeHeaders: [x-total]\n          MaxAge: 60\n          AllowCredentials: true",
        ),
    )
    .unwrap();
    let f = &p.functions[0];
    assert!(f.function_url);
    assert_eq!(f.url_invoke_mode, crate::config::InvokeMode::ResponseStream);
    assert_eq!(
        f.url_cors,
        Some(crate::apigw::Cors {
            allow_origins: vec!["http://app.test".into()],
            allow_methods: vec!["GET".into()],
            expose_headers: vec!["x-total".into()],
            max_age: Some(60),
            allow_credentials: true,
            ..Default::default()
        })
    );
    // No Cors: none.
    let p = parse(&tmp, &with("          ").replace("        Cors:\n", "")).unwrap();
    assert_eq!(p.functions[0].url_cors, None);

    for (cors, property) in [
        ("          MaxAge: 90000", "FunctionUrlConfig.Cors.MaxAge"),
        (
            "          AllowMethods: [OPTIONS1]",
            "FunctionUrlConfig.Cors.AllowMethods",
        ),
        (
            "          AllowOrigin: '*'",
            "FunctionUrlConfig.Cors.AllowOrigin",
        ),
    ] {
        let err = parse(&tmp, &with(cors)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("template.yaml") && text.contains(property),
            "{text}"
        );
    }
}

#[test]
fn max_concurrency_is_read_where_sam_and_cloudformation_write_it() {
    let tmp = project();
    let text = "\
Resources:
  Sam:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/users
      CapacityProviderConfig:
        Arn: arn:aws:lambda:us-east-1:012345678912:capacity-provider:cp
        PerExecutionEnvironmentMaxConcurrency: 4
  Cfn:
    Type: AWS::Lambda::Function
    Properties:
      Code: functions/orders
      Runtime: provided.al2023
      CapacityProviderConfig:
        LambdaManagedInstancesCapacityProviderConfig:
          CapacityProviderArn: arn:aws:lambda:us-east-1:012345678912:capacity-provider:cp
          PerExecutionEnvironmentMaxConcurrency: 1600
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/legacy
";
    let p = parse(&tmp, text).unwrap();
    let found: Vec<_> = p
        .functions
        .iter()
        .map(|f| (f.name.as_str(), f.max_concurrency))
        .collect();
    assert_eq!(
        found,
        [("Sam", Some(4)), ("Cfn", Some(1600)), ("Plain", None)]
    );

    let cases: &[(&str, &str, u32)] = &[
        (
            "      CapacityProviderConfig:\n        PerExecutionEnvironmentMaxConcurrency: 0\n",
            "out of range",
            10,
        ),
        (
            "      CapacityProviderConfig:\n        PerExecutionEnvironmentMaxConcurrency: 1601\n",
            "out of range",
            10,
        ),
        (
            "      CapacityProviderConfig:\n        PerExecutionEnvironmentMaxConcurrency: many\n",
            "not a whole number",
            10,
        ),
        (
            "      CapacityProviderConfig: 4\n",
            "CapacityProviderConfig is",
            9,
        ),
    ];
    for (props, needle, line) in cases {
        let err = error(&with_props(props));
        assert!(err.message.contains(needle), "{props}: {err}");
        assert!(
            err.message
                .contains("PerExecutionEnvironmentMaxConcurrency")
                || err.message.contains("CapacityProviderConfig is"),
            "{err}"
        );
        assert_eq!(err.kind, ErrorKind::Invalid, "{props}: {err}");
        assert_eq!(err.line, Some(*line), "{props}: {err}");
        assert!(err.hint.is_some(), "{props}");
    }
}

#[cfg(feature = "schedules")]
mod schedules {
    use super::*;
    use crate::sources::schedule::{Expression, Service};

    const SCHEDULED: &str = r#"Resources:
  Jobs:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/legacy
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 3 * * ? *)
            Input: '{"task": "cleanup"}'
        Paused:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Enabled: "false"
            Name: paused-rule
        Morning:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 9 ? * MON-FRI *)
            ScheduleExpressionTimezone: Europe/Paris
            Input:
              report: daily
        Once:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: at(2030-01-01T00:00:00)
            State: DISABLED
"#;

    #[test]
    fn schedule_events_are_read() {
        let tmp = project();
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
                    "JobsNightly",
                    Service::Rule,
                    "cron(0 3 * * ? *)",
                    None,
                    Some(r#"{"task": "cleanup"}"#),
                    true
                ),
                (
                    "paused-rule",
                    Service::Rule,
                    "rate(5 minutes)",
                    None,
                    None,
                    false
                ),
                (
                    "JobsMorning",
                    Service::Scheduler,
                    "cron(0 9 ? * MON-FRI *)",
                    Some("Europe/Paris"),
                    Some(r#"{"report":"daily"}"#),
                    true
                ),
                (
                    "JobsOnce",
                    Service::Scheduler,
                    "at(2030-01-01T00:00:00)",
                    None,
                    None,
                    false
                ),
            ]
        );
        assert!(matches!(schedules[1].expression, Expression::Rate(_)));
        assert!(schedules.iter().all(|s| s.function == "Jobs"));
        // Not routes, and no "not emulated" note.
        assert!(project.functions[0].routes.is_empty());
        assert!(!project.notes.iter().any(|n| n.contains("Schedule")));
    }

    #[test]
    fn bad_schedule_events_name_the_field() {
        let bad = |from: &str, to: &str| error(&SCHEDULED.replace(from, to));
        let err = bad("cron(0 3 * * ? *)", "cron(0 3 * * ?)");
        assert_eq!(err.line, Some(12), "{err}");
        assert!(err.message.contains("six fields"), "{err}");
        let err = bad("cron(0 9 ? * MON-FRI *)", "cron(0 9 ? * MON-FRY *)");
        assert_eq!(err.line, Some(23), "{err}");
        assert!(err.message.contains("day-of-week field"), "{err}");
        let err = bad("Europe/Paris", "Europe/Atlantis");
        assert_eq!(err.line, Some(24), "{err}");
        assert!(err.message.contains("time zone"), "{err}");
        let err = bad("rate(5 minutes)", "rate(5 minute)");
        assert!(err.message.contains("rate field"), "{err}");
        let err = bad(r#"'{"task": "cleanup"}'"#, "'{task}'");
        assert!(err.message.contains("Input is not JSON"), "{err}");
        let err = bad("Enabled: \"false\"", "Enabled: maybe");
        assert!(err.message.contains("not true or false"), "{err}");
        let err = bad("State: DISABLED", "State: PAUSED");
        assert!(
            err.message.contains("neither ENABLED nor DISABLED"),
            "{err}"
        );
        // A rule runs in UTC; at() is the Scheduler's.
        let err = bad(
            "Schedule: cron(0 3 * * ? *)",
            "Schedule: cron(0 3 * * ? *)\n            ScheduleExpressionTimezone: UTC",
        );
        assert!(err.message.contains("runs in UTC"), "{err}");
        let err = bad(
            "Schedule: rate(5 minutes)",
            "Schedule: at(2030-01-01T00:00:00)",
        );
        assert!(err.message.contains("EventBridge Scheduler"), "{err}");
        let err = bad("Schedule: rate(5 minutes)", "Description: none");
        assert!(err.message.contains("has no Schedule"), "{err}");
    }
}

mod sqs {
    use super::*;
    use crate::sources::sqs::Queue;

    const QUEUED: &str = r#"Resources:
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: orders
      FifoQueue: true
  Jobs:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/legacy
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        Remote:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:eu-west-1:123456789012:work
            BatchSize: 100
            MaximumBatchingWindowInSeconds: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: 3
        Local:
          Type: SQS
          Properties:
            Queue: !GetAtt Orders.Arn
            Enabled: false
"#;

    #[test]
    fn sqs_events_are_read() {
        let tmp = project();
        let project = parse(&tmp, QUEUED).unwrap();
        let sources = &project.functions[0].sqs;
        assert_eq!(sources.len(), 2);
        let remote = &sources[0];
        assert_eq!(remote.name, "JobsRemote");
        assert_eq!(remote.function, "Jobs");
        assert_eq!(
            remote.queue,
            Queue::from_arn("arn:aws:sqs:eu-west-1:123456789012:work").unwrap()
        );
        assert_eq!(remote.batch_size, 100);
        assert_eq!(remote.batching_window, Duration::from_secs(5));
        assert!(remote.report_batch_item_failures);
        assert_eq!(remote.maximum_concurrency, Some(3));
        assert!(remote.enabled);
        // The template's queue, by its QueueName, FIFO.
        let local = &sources[1];
        assert_eq!(local.queue, Queue::local("orders.fifo"));
        assert!(local.queue.is_fifo());
        assert_eq!(local.batch_size, 10);
        assert!(!local.report_batch_item_failures);
        assert!(!local.enabled);
        assert!(project.functions[0].routes.is_empty());
        assert!(
            !project.notes.iter().any(|n| n.contains("type SQS")),
            "{:?}",
            project.notes
        );
    }

    #[test]
    fn bad_sqs_events_name_the_field() {
        let bad = |from: &str, to: &str| error(&QUEUED.replace(from, to));
        // Over 10 needs a window.
        let err = bad("MaximumBatchingWindowInSeconds: 5", "Description: none");
        assert_eq!(err.line, Some(17), "{err}");
        assert!(err.message.contains("batching window"), "{err}");
        // A FIFO queue takes 10 at most.
        let err = bad("Enabled: false", "BatchSize: 11");
        assert_eq!(err.line, Some(27), "{err}");
        assert!(err.message.contains("FIFO"), "{err}");
        let err = bad("MaximumConcurrency: 3", "MaximumConcurrency: 1");
        assert_eq!(err.line, Some(22), "{err}");
        let err = bad("[ReportBatchItemFailures]", "[ReportFailures]");
        assert!(err.message.contains("not ReportBatchItemFailures"), "{err}");
        let err = bad("arn:aws:sqs:eu-west-1:123456789012:work", "work");
        assert_eq!(err.line, Some(17), "{err}");
        assert!(err.message.contains("not an SQS queue ARN"), "{err}");
        let err = bad("Queue: !GetAtt Orders.Arn", "BatchSize: 5");
        assert!(err.message.contains("has no Queue"), "{err}");
    }
}
