use std::time::Duration;

use super::*;
use crate::config::{InvokeMode, LogFormat, LogLevel};
use crate::template::RouteSpec;
use crate::template::testutil::TempDir;

/// Writes `manifest` as the Cargo.toml of a package with `src/main.rs` and `src/bin/<b>.rs` for
/// each of `extra`, and reads it.
fn read(manifest: &str, extra: &[&str]) -> (TempDir, Result<Vec<FunctionSpec>, ConfigError>) {
    let tmp = TempDir::new();
    tmp.write("pkg/src/main.rs", "fn main() {}\n");
    for bin in extra {
        tmp.write(&format!("pkg/src/bin/{bin}.rs"), "fn main() {}\n");
    }
    let path = tmp.write("pkg/Cargo.toml", manifest);
    let result = package_functions(&path);
    (tmp, result)
}

const HEADER: &str = "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2024\"\n";

#[test]
fn no_metadata_gives_every_binary_with_nothing_set() {
    let (tmp, r) = read(HEADER, &["worker"]);
    let functions = r.unwrap();
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["shop", "worker"]);
    let f = &functions[1];
    assert_eq!(
        f.code,
        Code::RustPackage {
            package_dir: tmp.path().join("pkg"),
            bin: Some("worker".into())
        }
    );
    assert_eq!(f.timeout, None);
    assert_eq!(f.memory_mb, None);
    assert!(f.routes.is_empty() && f.env.is_empty() && !f.function_url);
}

#[test]
fn package_settings_and_per_binary_overrides() {
    let manifest = format!(
        r#"{HEADER}
[[bin]]
name = "api"
path = "src/main.rs"

[package.metadata.lambkin]
timeout = 10
memory = 256
payload = "1.0"
env = {{ STAGE = "dev", LOG_LEVEL = "info", RETRIES = 3, DEBUG = false }}

[package.metadata.lambkin.functions.api]
routes = ["GET /users/{{id}}", "any /files/{{proxy+}}"]
payload = "2.0"
reserved_concurrency = 4
max_concurrency = 8
function_url = true
env = {{ LOG_LEVEL = "debug" }}

[package.metadata.lambkin.functions.worker]
function_url = "RESPONSE_STREAM"
timeout = 900
memory = 10240
routes = ["$default"]

[package.metadata.lambkin.functions.migrate]
serve = false
"#
    );
    let (_tmp, r) = read(&manifest, &["worker", "migrate"]);
    let functions = r.unwrap();
    let names: Vec<&str> = functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["api", "worker"], "`migrate` has serve = false");

    let api = &functions[0];
    assert_eq!(api.timeout, Some(Duration::from_secs(10)));
    assert_eq!(api.memory_mb, Some(256));
    assert_eq!(api.reserved_concurrency, Some(4));
    assert_eq!(api.max_concurrency, Some(8));
    assert!(api.function_url);
    assert_eq!(api.env["STAGE"], "dev");
    assert_eq!(api.env["LOG_LEVEL"], "debug");
    assert_eq!(api.env["RETRIES"], "3");
    assert_eq!(api.env["DEBUG"], "false");
    assert_eq!(
        api.routes,
        [
            RouteSpec::new(Some("GET".into()), "/users/{id}", PayloadFormat::Http),
            RouteSpec::new(None, "/files/{proxy+}", PayloadFormat::Http),
        ]
    );

    let worker = &functions[1];
    assert_eq!(worker.timeout, Some(Duration::from_secs(900)));
    assert_eq!(worker.memory_mb, Some(10240));
    assert_eq!(
        worker.routes,
        [RouteSpec::default_route(PayloadFormat::Rest)]
    );
    assert_eq!(worker.env["LOG_LEVEL"], "info");
    assert!(worker.function_url);
    assert_eq!(worker.url_invoke_mode, InvokeMode::ResponseStream);
    assert_eq!(api.url_invoke_mode, InvokeMode::Buffered);
}

#[test]
fn routes_can_be_load_balancer_targets() {
    let manifest = format!(
        "{HEADER}\n[package.metadata.lambkin]\npayload = \"alb\"\nroutes = [\"ANY /lb/{{proxy+}}\"]\n"
    );
    let (_tmp, r) = read(&manifest, &[]);
    let functions = r.unwrap();
    assert_eq!(functions[0].routes[0].payload, PayloadFormat::Alb);
    let manifest = format!("{HEADER}\n[package.metadata.lambkin]\npayload = \"3.0\"\n");
    let err = read(&manifest, &[]).1.unwrap_err().to_string();
    assert!(err.contains("\"alb\""), "{err}");
}

#[test]
fn package_routes_for_a_single_binary() {
    let manifest = format!(
        "{HEADER}\n[package.metadata.lambkin]\nroutes = [\"POST /orders\"]\nserve = true\n"
    );
    let (_tmp, r) = read(&manifest, &[]);
    let functions = r.unwrap();
    assert_eq!(functions.len(), 1);
    assert_eq!(functions[0].routes[0].key(), "POST /orders");
    assert_eq!(functions[0].routes[0].payload, PayloadFormat::Http);

    let manifest = format!("{HEADER}\n[package.metadata.lambkin]\nserve = false\n");
    assert!(read(&manifest, &[]).1.unwrap().is_empty());
}

#[test]
fn virtual_manifests_have_no_functions() {
    let (_tmp, r) = read("[workspace]\nmembers = [\"a\"]\n", &[]);
    assert!(r.unwrap().is_empty());
}

#[test]
fn errors_name_the_line_and_the_key() {
    let cases: &[(&str, &str, u32, &str)] = &[
        (
            "timeout = 0",
            "out of Lambda's range",
            7,
            "package.metadata.lambkin.timeout",
        ),
        (
            "timeout = 901",
            "out of Lambda's range",
            7,
            "package.metadata.lambkin.timeout",
        ),
        (
            "timeout = \"10\"",
            "not a whole number",
            7,
            "package.metadata.lambkin.timeout",
        ),
        (
            "timeout = 1.5",
            "not a whole number",
            7,
            "package.metadata.lambkin.timeout",
        ),
        (
            "memory = 127",
            "out of Lambda's range",
            7,
            "package.metadata.lambkin.memory",
        ),
        ("memory = 99999999999999999999", "", 7, ""),
        (
            "reserved_concurrency = -1",
            "negative",
            7,
            "package.metadata.lambkin.reserved_concurrency",
        ),
        (
            "max_concurrency = 0",
            "out of range",
            7,
            "package.metadata.lambkin.max_concurrency",
        ),
        (
            "max_concurrency = 1601",
            "out of range",
            7,
            "package.metadata.lambkin.max_concurrency",
        ),
        (
            "payload = \"3.0\"",
            "neither",
            7,
            "package.metadata.lambkin.payload",
        ),
        (
            "routes = \"GET /x\"",
            "not a list",
            7,
            "package.metadata.lambkin.routes",
        ),
        (
            "routes = [1]",
            "a route is a string",
            7,
            "package.metadata.lambkin.routes",
        ),
        (
            "routes = [\"GET x\"]",
            "must start with `/`",
            7,
            "package.metadata.lambkin.routes",
        ),
        (
            "routes = [\"GET /a/{b\"]",
            "unbalanced",
            7,
            "package.metadata.lambkin.routes",
        ),
        (
            "routes = [\"BREW /coffee\"]",
            "not an HTTP method",
            7,
            "package.metadata.lambkin.routes",
        ),
        (
            "routes = [\"/x\"]",
            "not `METHOD /path`",
            7,
            "package.metadata.lambkin.routes",
        ),
        (
            "routes = [\"GET /x\", \"get /x\"]",
            "listed twice",
            7,
            "package.metadata.lambkin.routes",
        ),
        (
            "serve = \"no\"",
            "not true or false",
            7,
            "package.metadata.lambkin.serve",
        ),
        (
            "env = \"A=1\"",
            "not a table",
            7,
            "package.metadata.lambkin.env",
        ),
        (
            "env = { 9LIVES = \"x\" }",
            "not a valid environment",
            7,
            "package.metadata.lambkin.env.9LIVES",
        ),
        (
            "env = { A = [1] }",
            "not a string",
            7,
            "package.metadata.lambkin.env.A",
        ),
        (
            "log_format = \"json\"",
            "neither JSON nor Text",
            7,
            "package.metadata.lambkin.log_format",
        ),
        (
            "log_level = \"LOUD\"",
            "not an application log level",
            7,
            "package.metadata.lambkin.log_level",
        ),
        (
            "log_level = 3",
            "not a string",
            7,
            "package.metadata.lambkin.log_level",
        ),
        (
            "log_level = \"DEBUG\"",
            "log format is Text",
            7,
            "package.metadata.lambkin.log_level",
        ),
        (
            "function_url = \"STREAM\"",
            "not an InvokeMode",
            7,
            "package.metadata.lambkin.function_url",
        ),
        (
            "function_url = 1",
            "not true, false or an InvokeMode",
            7,
            "package.metadata.lambkin.function_url",
        ),
        (
            "timout = 3",
            "unknown key `timout`",
            7,
            "package.metadata.lambkin.timout",
        ),
        (
            "functions = 3",
            "not a table",
            7,
            "package.metadata.lambkin.functions",
        ),
    ];
    for (line, needle, at, field) in cases {
        let manifest = format!("{HEADER}\n[package.metadata.lambkin]\n{line}\n");
        let (_tmp, r) = read(&manifest, &[]);
        let err = r.unwrap_err();
        assert!(err.message.contains(needle), "{line}: {err}");
        assert_eq!(err.line, Some(*at), "{line}: {err}");
        if !field.is_empty() {
            assert_eq!(err.field.as_deref(), Some(*field), "{line}: {err}");
        }
        assert!(err.hint.is_some(), "{line}");
    }
}

#[test]
fn log_format_and_level_make_the_logging_config() {
    let manifest = format!(
        "{HEADER}\n[package.metadata.lambkin]\nlog_format = \"JSON\"\n\n[package.metadata.lambkin.functions.worker]\nlog_level = \"WARN\"\n"
    );
    let (_tmp, r) = read(&manifest, &["worker"]);
    let functions = r.unwrap();
    let [shop, worker] = &functions[..] else {
        panic!("{functions:?}")
    };
    assert_eq!(shop.logging.format, LogFormat::Json);
    assert_eq!(shop.logging.application_level, None);
    assert_eq!(worker.logging.format, LogFormat::Json, "the package's");
    assert_eq!(worker.logging.application_level, Some(LogLevel::Warn));
    assert_eq!(shop.handler, None, "Cargo metadata names no handler");
}

#[test]
fn per_binary_errors() {
    let manifest = format!("{HEADER}\n[package.metadata.lambkin.functions.nope]\ntimeout = 3\n");
    let (_tmp, r) = read(&manifest, &["worker"]);
    let err = r.unwrap_err();
    assert!(
        err.message
            .contains("no binary `nope` (it has: shop, worker)"),
        "{err}"
    );
    assert_eq!(err.line, Some(6));

    let manifest = format!("{HEADER}\n[package.metadata.lambkin.functions.shop]\nfunctions = 1\n");
    let err = read(&manifest, &[]).1.unwrap_err();
    assert!(err.message.contains("unknown key `functions`"), "{err}");

    let manifest = format!("{HEADER}\n[package.metadata.lambkin]\nroutes = [\"GET /x\"]\n");
    let err = read(&manifest, &["worker"]).1.unwrap_err();
    assert!(err.message.contains("several binaries"), "{err}");
    assert!(err.hint.unwrap().contains("functions.<bin>"));

    let manifest = format!("{HEADER}\n[package.metadata]\nlambkin = 3\n");
    let err = read(&manifest, &[]).1.unwrap_err();
    assert!(err.message.contains("not a table"), "{err}");
}

#[test]
fn syntax_errors_have_positions() {
    let (_tmp, r) = read("[package]\nname = \"x\"\nversion = \n", &[]);
    let err = r.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert_eq!(err.line, Some(3), "{err}");
    let (_tmp, r) = read("[package]\nversion = \"1\"\n", &[]);
    assert_eq!(r.unwrap_err().kind, ErrorKind::Code);
    let tmp = TempDir::new();
    let err = package_functions(&tmp.path().join("Cargo.toml")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Read);
}

#[test]
fn line_columns_count_characters() {
    assert_eq!(line_column("ab\ncd", 0), (1, 1));
    assert_eq!(line_column("ab\ncd", 4), (2, 2));
    assert_eq!(line_column("é\nx", 3), (2, 1));
    assert_eq!(line_column("éa", 1), (1, 1), "inside a character");
    assert_eq!(line_column("ab", 99), (1, 3));
}

#[test]
fn explicit_targets_and_autobins() {
    let tmp = TempDir::new();
    tmp.write("p/src/main.rs", "");
    tmp.write("p/src/bin/b.rs", "");
    tmp.write("p/src/bin/c/main.rs", "");
    let text = "[package]\nname = \"p\"\n[[bin]]\nname = \"a\"\npath = \"src/a.rs\"\n";
    let info = package_info(text, &tmp.path().join("p")).unwrap().unwrap();
    assert_eq!(info.bins, ["a", "p", "b", "c"]);
    let text = "[package]\nname = \"p\"\nautobins = false\n[[bin]]\nname = \"a\"\n";
    let info = package_info(text, &tmp.path().join("p")).unwrap().unwrap();
    assert_eq!(info.bins, ["a"]);
    let text = "[package]\nname = \"p\"\n[[bin]]\nname = \"main\"\npath = \"src/main.rs\"\n";
    let info = package_info(text, &tmp.path().join("p")).unwrap().unwrap();
    assert_eq!(info.bins, ["main", "b", "c"]);
}
