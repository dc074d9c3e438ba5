use std::time::Duration;

use super::*;
use crate::config::{LogFormat, LogLevel};

/// A scratch project directory under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("lambkin-plan-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        // Canonical, as the template readers make the code paths.
        Scratch(dir.canonicalize().unwrap())
    }

    fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// An executable `bootstrap` in `rel`; returns the directory.
    fn bootstrap(&self, rel: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.write(&format!("{rel}/bootstrap"), "#!/bin/sh\nexit 0\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self.0.join(rel)
    }

    /// A Rust package `name` in directory `name` (one binary), and the workspace's view of it.
    fn package(&self, name: &str, metadata: &str) -> Discovered {
        self.write(
            &format!("{name}/Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{metadata}"
            ),
        );
        self.write(&format!("{name}/src/main.rs"), "fn main() {}\n");
        Discovered {
            package: name.to_owned(),
            bin: name.to_owned(),
            package_dir: self.0.join(name),
            path_deps: Vec::new(),
            opted_out: false,
        }
    }

    fn workspace(&self, functions: Vec<Discovered>) -> Workspace {
        Workspace {
            root: self.0.clone(),
            target_dir: self.0.join("target"),
            functions,
            allow_hosts: Vec::new(),
        }
    }

    fn settings(&self, env_file: Option<PathBuf>) -> Settings {
        Settings {
            here: self.0.clone(),
            template: None,
            env_file,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn find<'a>(planned: &'a [Planned], name: &str) -> &'a Planned {
    planned.iter().find(|p| p.config.name == name).unwrap()
}

fn keys(planned: &Planned) -> Vec<(String, PayloadFormat)> {
    planned
        .routes
        .iter()
        .map(|r| (r.key().to_owned(), r.format()))
        .collect()
}

const SAM: &str = "\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 12
    Environment:
      Variables:
        SHARED: global
Resources:
  Py:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./py
      Runtime: provided.al2023
      Handler: app.handler
      MemorySize: 512
      ReservedConcurrentExecutions: 3
      CapacityProviderConfig:
        Arn: arn:aws:lambda:us-east-1:012345678912:capacity-provider:local
        PerExecutionEnvironmentMaxConcurrency: 6
      Environment:
        Variables:
          TABLE: users
      LoggingConfig:
        LogFormat: JSON
        ApplicationLogLevel: DEBUG
      FunctionUrlConfig:
        AuthType: NONE
        Cors:
          AllowOrigins: [http://localhost:3000]
      Events:
        Users:
          Type: HttpApi
          Properties:
            Path: /users/{id}
            Method: get
            PayloadFormatVersion: \"1.0\"
        Legacy:
          Type: Api
          Properties:
            Path: /legacy
            Method: post
  Rs:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./rs
      Runtime: provided.al2023
      Handler: bootstrap
      Timeout: 30
";

#[test]
fn a_sam_templates_settings_reach_the_functions_and_the_gateway() {
    let project = Scratch::new();
    let py = project.bootstrap("py");
    let rs = project.package("rs", "");
    let template = project.write("template.yaml", SAM);
    let env_file = project.write("dev.env", "SHARED=from-file\nONLY_FILE=1\n");
    let settings = project.settings(Some(env_file.clone()));
    let workspace = project.workspace(vec![rs.clone()]);
    let (planned, source) = settings.plan(&workspace).unwrap();
    assert_eq!(source.as_deref(), Some(template.as_path()));

    let py_fn = find(&planned, "Py");
    let config = &py_fn.config;
    assert_eq!(config.handler.as_deref(), Some("app.handler"));
    assert_eq!(config.executable, py.join("bootstrap"));
    assert_eq!(config.working_dir.as_deref(), Some(py.as_path()));
    assert_eq!(config.timeout, Duration::from_secs(12), "from Globals");
    assert_eq!(config.memory_mb, 512);
    assert_eq!(config.reserved_concurrency, Some(3));
    assert_eq!(config.max_concurrency, 6);
    assert_eq!(config.logging.format, LogFormat::Json);
    assert_eq!(config.logging.application_level, Some(LogLevel::Debug));
    // The env file under the template's variables, the function's over the globals.
    assert_eq!(config.env["TABLE"], "users");
    assert_eq!(config.env["SHARED"], "global");
    assert_eq!(config.env["ONLY_FILE"], "1");
    assert!(py_fn.function_url && py_fn.rust.is_none());
    assert_eq!(
        py_fn.url_cors.as_ref().map(|c| c.allow_origins.clone()),
        Some(vec!["http://localhost:3000".to_owned()])
    );
    // Each route in its API's stage: SAM's implicit REST API is `Prod`, HTTP APIs `$default`.
    let stages: Vec<&str> = py_fn
        .routes
        .iter()
        .map(|r| r.stage().name.as_str())
        .collect();
    assert_eq!(stages, ["$default", "Prod"]);
    assert_eq!(
        keys(py_fn),
        [
            ("GET /users/{id}".to_owned(), PayloadFormat::HttpV1),
            ("POST /legacy".to_owned(), PayloadFormat::Rest),
        ]
    );

    // A Rust function is built later; it runs in its package.
    let rs_fn = find(&planned, "Rs");
    assert_eq!(rs_fn.rust.as_ref(), Some(&rs));
    assert_eq!(rs_fn.config.handler.as_deref(), Some("bootstrap"));
    assert_eq!(rs_fn.config.executable, PathBuf::new());
    assert_eq!(rs_fn.config.working_dir.as_ref(), Some(&rs.package_dir));
    assert_eq!(
        (rs_fn.config.timeout, rs_fn.config.memory_mb),
        (Duration::from_secs(30), 128)
    );
    assert_eq!(rs_fn.config.max_concurrency, 1, "Lambda's default");
    assert!(rs_fn.routes.is_empty());

    // Beside declared routes, a function without any answers under `/{function}/…`.
    let table = gateway(&planned).unwrap();
    let routed: Vec<(String, String)> = table
        .routes()
        .routes()
        .iter()
        .map(|r| (r.key().to_owned(), r.function().to_owned()))
        .collect();
    assert_eq!(routed.len(), 4, "{routed:?}");
    assert!(routed.contains(&("ANY /Rs".into(), "Rs".into())));
    assert!(routed.contains(&("ANY /Rs/{proxy+}".into(), "Rs".into())));
    assert!(routed.contains(&("POST /legacy".into(), "Py".into())));
    assert_eq!(
        settings.files(source, &workspace),
        [env_file, rs.package_dir.join("Cargo.toml"), template]
    );
}

const SERVERLESS: &str = "\
service: app
provider:
  name: aws
  runtime: provided.al2023
  memorySize: 256
  environment:
    STAGE: dev
  logs:
    lambda:
      logFormat: JSON
  httpApi:
    cors:
      allowedOrigins: [http://localhost:3000]
functions:
  api:
    handler: app.handler
    timeout: 20
    reservedConcurrency: 1
    environment:
      TABLE: t
    events:
      - http:
          path: items/{id}
          method: get
          cors: true
      - httpApi: 'POST /items'
  worker:
    handler: worker.handle
";

#[test]
fn a_serverless_files_settings_reach_the_functions_and_the_gateway() {
    let project = Scratch::new();
    let service = project.bootstrap("service");
    project.write("service/serverless.yml", SERVERLESS);
    let settings = Settings {
        here: service.clone(),
        template: None,
        env_file: None,
    };
    let (planned, source) = settings.plan(&project.workspace(Vec::new())).unwrap();
    assert_eq!(source, Some(service.join("serverless.yml")));
    let api = find(&planned, "api");
    assert_eq!(api.config.handler.as_deref(), Some("app.handler"));
    assert_eq!(api.config.executable, service.join("bootstrap"));
    assert_eq!(api.config.timeout, Duration::from_secs(20));
    assert_eq!(api.config.memory_mb, 256);
    assert_eq!(api.config.reserved_concurrency, Some(1));
    assert_eq!(api.config.logging.format, LogFormat::Json);
    assert_eq!(api.config.env["STAGE"], "dev");
    assert_eq!(api.config.env["TABLE"], "t");
    assert_eq!(
        keys(api),
        [
            ("GET /items/{id}".to_owned(), PayloadFormat::Rest),
            ("POST /items".to_owned(), PayloadFormat::Http),
        ]
    );
    // The framework's default timeout, the provider's memory, the default routes.
    let worker = find(&planned, "worker");
    assert_eq!(worker.config.handler.as_deref(), Some("worker.handle"));
    assert_eq!(
        (worker.config.timeout, worker.config.memory_mb),
        (Duration::from_secs(6), 256)
    );
    let table = gateway(&planned).unwrap();
    let worker_routes: Vec<&str> = table
        .routes()
        .routes()
        .iter()
        .filter(|r| r.function() == "worker")
        .map(|r| r.key())
        .collect();
    assert_eq!(worker_routes, ["ANY /worker", "ANY /worker/{proxy+}"]);
    // Each route carries its API's CORS to the gateway; default routes have none.
    let origins: Vec<(&str, Option<Vec<String>>)> = table
        .routes()
        .routes()
        .iter()
        .map(|r| (r.key(), r.cors().map(|c| c.allow_origins.clone())))
        .collect();
    assert!(origins.contains(&("GET /items/{id}", Some(vec!["*".to_owned()]))));
    assert!(origins.contains(&(
        "POST /items",
        Some(vec!["http://localhost:3000".to_owned()])
    )));
    assert!(origins.contains(&("ANY /worker", None)));
    // The REST API is in the framework's default stage, the HTTP API in `$default`.
    let stages: Vec<&str> = api.routes.iter().map(|r| r.stage().name.as_str()).collect();
    assert_eq!(stages, ["dev", "$default"]);
}

#[test]
fn without_a_template_the_workspace_functions_are_served_with_their_cargo_metadata() {
    let project = Scratch::new();
    let hello = project.package(
        "hello",
        "[package.metadata.lambkin]\ntimeout = 9\nmemory = 1024\nmax_concurrency = 3\nenv = { GREETING = \"hi\" }\n",
    );
    let mut skipped = project.package("skipped", "");
    skipped.opted_out = true;
    let workspace = project.workspace(vec![hello.clone(), skipped]);
    let (planned, source) = project.settings(None).plan(&workspace).unwrap();
    assert_eq!(source, None);
    let [only] = planned.as_slice() else {
        panic!("{planned:?}")
    };
    assert_eq!(only.config.name, "hello");
    assert_eq!(only.rust.as_ref(), Some(&hello));
    assert_eq!(only.config.handler, None, "shown as the default, bootstrap");
    assert_eq!(
        (only.config.timeout, only.config.memory_mb),
        (Duration::from_secs(9), 1024)
    );
    assert_eq!(only.config.env["GREETING"], "hi");
    assert_eq!(only.config.max_concurrency, 3);
    // No function has routes: the one function takes every path.
    assert!(only.routes.is_empty());
    let table = gateway(&planned).unwrap();
    assert_eq!(table.routes().routes().len(), 1);
    assert!(table.routes().routes()[0].is_default());
}

#[test]
fn a_rust_function_outside_the_workspace_is_refused() {
    let project = Scratch::new();
    project.package("stray", "");
    project.write(
        "template.yaml",
        "Resources:\n  Stray:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./stray\n",
    );
    let error = project
        .settings(None)
        .plan(&project.workspace(Vec::new()))
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(
        message.contains("function `Stray`") && message.contains("add it to [workspace] members"),
        "{message}"
    );
}

#[test]
fn planned_functions_keep_the_handler_and_logging_config() {
    let project = Scratch::new();
    let mut spec = FunctionSpec::new(
        "py",
        Code::Bootstrap {
            dir: PathBuf::from("/srv/py"),
        },
    );
    spec.handler = Some("app.handler".into());
    spec.logging.format = LogFormat::Json;
    let planned = planned(spec.clone(), &project.workspace(Vec::new())).unwrap();
    assert_eq!(planned.config.handler.as_deref(), Some("app.handler"));
    assert_eq!(planned.config.logging, spec.logging);
    assert_eq!(
        planned.config.executable,
        PathBuf::from("/srv/py/bootstrap")
    );
}

#[tokio::test]
async fn a_reloaded_configuration_is_applied_to_the_running_functions() {
    let project = Scratch::new();
    project.bootstrap("py");
    let template = project.write("template.yaml", SAM.split("  Rs:").next().unwrap());
    let settings = project.settings(None);
    let workspace = project.workspace(Vec::new());
    let (planned, _) = settings.plan(&workspace).unwrap();
    let options = crate::Options {
        gateway: Some(gateway(&planned).unwrap()),
        ..crate::Options::default()
    };
    let emulator =
        Emulator::with_options(planned.iter().map(|p| p.config.clone()), options).unwrap();
    let served = vec!["Py".to_owned()];

    let edited = SAM
        .split("  Rs:")
        .next()
        .unwrap()
        .replace("app.handler", "app.other")
        .replace("MemorySize: 512", "MemorySize: 1024")
        .replace("Path: /legacy", "Path: /old");
    std::fs::write(&template, edited).unwrap();
    let (planned, _) = settings.plan(&workspace).unwrap();
    apply(&emulator, &served, planned).await.unwrap();
    let config = emulator.function_config("Py").unwrap();
    assert_eq!(config.handler.as_deref(), Some("app.other"));
    assert_eq!(config.memory_mb, 1024);
    let keys: Vec<String> = emulator
        .state()
        .routes()
        .iter()
        .map(|r| r.key().to_owned())
        .collect();
    assert_eq!(keys, ["GET /users/{id}", "POST /old"]);

    // Adding a function needs a restart: nothing changes.
    let rs = project.package("rs", "");
    project.write("template.yaml", SAM);
    let (planned, _) = settings.plan(&project.workspace(vec![rs])).unwrap();
    let error = apply(&emulator, &served, planned).await.unwrap_err();
    assert!(error.to_string().contains("restart lambkin"), "{error}");
    assert_eq!(emulator.function_config("Py").unwrap().memory_mb, 1024);
}

#[test]
fn env_files() {
    let env = parse_env_file("# c\n\nA=1\nexport B = \"two words\"\nC='x=y'\n").unwrap();
    assert_eq!(env["A"], "1");
    assert_eq!(env["B"], "two words");
    assert_eq!(env["C"], "x=y");
    assert!(parse_env_file("NOPE").is_err());
}

#[test]
fn asynchronous_settings_and_destinations_reach_the_functions() {
    let project = Scratch::new();
    project.bootstrap("worker");
    let sam = "Transform: AWS::Serverless-2016-10-31
Resources:
  Failures:
    Type: AWS::SQS::Queue
  Sink:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./worker
      Runtime: provided.al2023
      EventInvokeConfig:
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt Failures.Arn
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./worker
      Runtime: provided.al2023
      DeadLetterQueue:
        Type: SNS
        TargetArn: arn:aws:sns:us-east-1:012345678912:dead
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        MaximumEventAgeInSeconds: 120
        DestinationConfig:
          OnSuccess:
            Type: Lambda
            Destination: !GetAtt Sink.Arn
          OnFailure:
            Type: SNS
";
    project.write("template.yaml", sam);
    let (planned, _) = project
        .settings(None)
        .plan(&project.workspace(Vec::new()))
        .unwrap();
    let worker = &find(&planned, "Worker").config;
    assert_eq!(worker.event_retries(), 1);
    assert_eq!(worker.maximum_event_age(), Duration::from_secs(120));
    let settings = worker.event_invoke_config.as_ref().unwrap();
    assert_eq!(
        settings.on_success.as_deref(),
        Some("arn:aws:lambda:us-east-1:012345678912:function:Sink")
    );
    // SAM creates a topic for an SNS destination that names none.
    assert_eq!(
        settings.on_failure.as_deref(),
        Some("arn:aws:sns:us-east-1:012345678912:WorkerEventInvokeConfigOnFailureSNS")
    );
    assert_eq!(
        worker.dead_letter_target.as_deref(),
        Some("arn:aws:sns:us-east-1:012345678912:dead")
    );
    let sink = &find(&planned, "Sink").config;
    assert_eq!(sink.event_retries(), 2, "Lambda's default");
    assert_eq!(
        sink.event_invoke_config
            .as_ref()
            .unwrap()
            .on_failure
            .as_deref(),
        Some("arn:aws:sqs:us-east-1:012345678912:Failures")
    );

    // Out of AWS's range: the file, the line and the field.
    let bad = sam.replace("MaximumRetryAttempts: 1", "MaximumRetryAttempts: 3");
    let template = project.write("template.yaml", &bad);
    let error = project
        .settings(None)
        .plan(&project.workspace(Vec::new()))
        .unwrap_err();
    let error = format!("{error:#}");
    assert!(error.contains(&template.display().to_string()), "{error}");
    assert!(error.contains(":24:"), "{error}");
    assert!(
        error.contains("EventInvokeConfig.MaximumRetryAttempts"),
        "{error}"
    );
    let bad = sam.replace("Type: Lambda", "Type: Kafka");
    project.write("template.yaml", &bad);
    let error = project.settings(None).plan(&project.workspace(Vec::new()));
    assert!(format!("{:#}", error.unwrap_err()).contains("`Kafka` is not a destination type"));

    let serverless = "service: s
provider:
  name: aws
  runtime: provided.al2023
functions:
  worker:
    handler: worker.handler
    maximumRetryAttempts: 0
    maximumEventAge: 60
    destinations:
      onSuccess: sink
      onFailure:
        type: sqs
        arn: arn:aws:sqs:us-east-1:012345678912:failures
    onError: arn:aws:sns:us-east-1:012345678912:dead
  sink:
    handler: worker.handler
";
    std::fs::remove_file(project.0.join("template.yaml")).unwrap();
    project.write("serverless.yml", serverless);
    let (planned, _) = project
        .settings(None)
        .plan(&project.workspace(Vec::new()))
        .unwrap();
    let worker = &find(&planned, "worker").config;
    assert_eq!(worker.event_retries(), 0);
    assert_eq!(worker.maximum_event_age(), Duration::from_secs(60));
    let settings = worker.event_invoke_config.as_ref().unwrap();
    assert_eq!(
        settings.on_success.as_deref(),
        Some("arn:aws:lambda:us-east-1:012345678912:function:sink")
    );
    assert_eq!(
        settings.on_failure.as_deref(),
        Some("arn:aws:sqs:us-east-1:012345678912:failures")
    );
    assert_eq!(
        worker.dead_letter_target.as_deref(),
        Some("arn:aws:sns:us-east-1:012345678912:dead")
    );
    assert_eq!(find(&planned, "sink").config.event_invoke_config, None);
    let bad = serverless.replace("maximumEventAge: 60", "maximumEventAge: 59");
    project.write("serverless.yml", &bad);
    let error = project.settings(None).plan(&project.workspace(Vec::new()));
    let error = format!("{:#}", error.unwrap_err());
    assert!(
        error.contains("maximumEventAge") && error.contains("59"),
        "{error}"
    );
}
