use super::testutil::TempDir;
use super::*;

#[test]
fn methods_are_case_insensitive_and_any_is_none() {
    assert_eq!(parse_method("get").unwrap().as_deref(), Some("GET"));
    assert_eq!(
        parse_method(" Options ").unwrap().as_deref(),
        Some("OPTIONS")
    );
    assert_eq!(parse_method("any").unwrap(), None);
    assert_eq!(parse_method("ANY").unwrap(), None);
    for bad in ["", "FETCH", "G ET", "*", "CONNECT"] {
        let p = parse_method(bad).unwrap_err();
        assert_eq!(p.kind, ErrorKind::Invalid, "{bad}");
        assert!(p.hint.unwrap().contains("ANY"));
    }
}

#[test]
fn route_paths_are_validated() {
    for good in [
        "/",
        "/users",
        "/users/{id}",
        "/users/{id}/posts/{post_id}",
        "/files/{proxy+}",
        "/{proxy+}",
        "/a.b/c-d/{x.y}",
    ] {
        assert_eq!(validate_path(good), Ok(()), "{good}");
    }
    for (bad, needle) in [
        ("users", "must start with `/`"),
        ("", "must start with `/`"),
        ("/users/", "empty segment"),
        ("/a//b", "empty segment"),
        ("/users/{id", "unbalanced"),
        ("/users/id}", "unbalanced"),
        ("/users/{{id}}", "unbalanced"),
        ("/user-{id}", "unbalanced"),
        ("/users/{}", "not a valid path variable"),
        ("/users/{a b}", "contains"),
        ("/users/{proxy+}/more", "not last"),
        ("/{a}/{a}", "appears twice"),
        ("/search?q=1", "contains"),
    ] {
        let p = validate_path(bad).unwrap_err();
        assert!(p.message.contains(needle), "{bad}: {}", p.message);
        assert!(p.hint.is_some());
    }
}

#[test]
fn route_keys_parse() {
    let r = parse_route_key("GET /users/{id}", PayloadFormat::Http).unwrap();
    assert_eq!(r.method.as_deref(), Some("GET"));
    assert_eq!(r.path, "/users/{id}");
    assert_eq!(r.key(), "GET /users/{id}");
    let r = parse_route_key("  any   /files/{proxy+} ", PayloadFormat::Rest).unwrap();
    assert_eq!(r.method, None);
    assert_eq!(r.payload, PayloadFormat::Rest);
    assert_eq!(r.key(), "ANY /files/{proxy+}");
    let r = parse_route_key("$default", PayloadFormat::Http).unwrap();
    assert!(r.is_default());
    assert_eq!(r.key(), "$default");
    for bad in ["", "GET", "/users", "GET /a /b", "FETCH /a", "GET a"] {
        assert!(parse_route_key(bad, PayloadFormat::Http).is_err(), "{bad}");
    }
}

#[test]
fn limits_are_lambdas() {
    assert_eq!(check_timeout(1), Ok(Duration::from_secs(1)));
    assert_eq!(check_timeout(900), Ok(Duration::from_secs(900)));
    for bad in [0, -1, 901, i64::MAX, i64::MIN] {
        assert!(check_timeout(bad).is_err(), "{bad}");
    }
    assert_eq!(check_memory(128), Ok(128));
    assert_eq!(check_memory(10240), Ok(10240));
    for bad in [0, 127, 10241, -128, i64::MAX] {
        assert!(check_memory(bad).is_err(), "{bad}");
    }
    assert_eq!(check_concurrency(0), Ok(0));
    assert!(check_concurrency(-1).is_err());
    assert!(check_function_name("hello-world_2").is_ok());
    for bad in ["", "a b", "a/b", "é", &"x".repeat(65)] {
        assert!(check_function_name(bad).is_err(), "{bad}");
    }
    assert!(check_env_name("RUST_LOG").is_ok());
    for bad in ["", "1A", "A-B", "A B", "_X"] {
        assert!(check_env_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn payload_versions() {
    assert_eq!(
        PayloadFormat::from_version("1.0"),
        Some(PayloadFormat::Rest)
    );
    assert_eq!(
        PayloadFormat::from_version(" 2.0"),
        Some(PayloadFormat::Http)
    );
    assert_eq!(PayloadFormat::from_version("3.0"), None);
    assert_eq!(PayloadFormat::Rest.version(), "1.0");
    assert_eq!(PayloadFormat::Http.version(), "2.0");
    // An HTTP API's 1.0 is the REST-shaped event on an HTTP API.
    assert_eq!(
        PayloadFormat::from_http_api_version("1.0"),
        Some(PayloadFormat::HttpV1)
    );
    assert_eq!(
        PayloadFormat::from_http_api_version("2.0"),
        Some(PayloadFormat::Http)
    );
    assert_eq!(PayloadFormat::from_http_api_version("3.0"), None);
    assert_eq!(PayloadFormat::HttpV1.version(), "1.0");
}

#[test]
fn errors_render_file_line_column_field_and_hint() {
    let mut e =
        ConfigError::new("app/template.yaml", ErrorKind::Invalid, "bad thing").with_hint("do this");
    assert_eq!(
        e.to_string(),
        "app/template.yaml: bad thing\n  hint: do this"
    );
    e.line = Some(12);
    e.column = Some(7);
    e.field = Some("Resources.Hello.Properties.Timeout".into());
    assert_eq!(
        e.to_string(),
        "app/template.yaml:12:7: bad thing (at `Resources.Hello.Properties.Timeout`)\n  hint: do this"
    );
}

#[test]
fn code_directories_resolve() {
    let tmp = TempDir::new();
    let one = tmp.package("one", "one-pkg", &[]);
    assert_eq!(
        resolve_code(&one, None, None),
        Ok(Code::RustPackage {
            package_dir: one.clone(),
            bin: Some("one-pkg".into())
        })
    );
    // CodeUri may name the manifest itself.
    assert_eq!(
        resolve_code(&one.join("Cargo.toml"), None, None),
        Ok(Code::RustPackage {
            package_dir: one.clone(),
            bin: Some("one-pkg".into())
        })
    );
    let many = tmp.package("many", "many", &["admin", "worker"]);
    let err = resolve_code(&many, None, Some("bootstrap")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Code);
    assert!(err.message.contains("admin, worker"), "{}", err.message);
    assert_eq!(
        resolve_code(&many, None, Some("worker")),
        Ok(Code::RustPackage {
            package_dir: many.clone(),
            bin: Some("worker".into())
        })
    );
    assert_eq!(
        resolve_code(&many, Some("admin"), Some("worker")),
        Ok(Code::RustPackage {
            package_dir: many.clone(),
            bin: Some("admin".into())
        })
    );
    assert!(
        resolve_code(&many, Some("nope"), None)
            .unwrap_err()
            .message
            .contains("no binary `nope`")
    );

    let boot = tmp.bootstrap("boot", true);
    assert_eq!(
        resolve_code(&boot, None, None),
        Ok(Code::Bootstrap { dir: boot.clone() })
    );
    #[cfg(unix)]
    {
        let lazy = tmp.bootstrap("lazy", false);
        let err = resolve_code(&lazy, None, None).unwrap_err();
        assert!(err.message.contains("not executable"));
        assert!(err.hint.unwrap().contains("chmod +x"));
    }
    let err = resolve_code(&tmp.path().join("missing"), None, None).unwrap_err();
    assert!(err.message.contains("does not exist"));
    tmp.write("empty/readme.txt", "hi");
    let err = resolve_code(&tmp.path().join("empty"), None, None).unwrap_err();
    assert!(err.message.contains("neither a Cargo.toml nor"));
    tmp.write("ws/Cargo.toml", "[workspace]\nmembers = []\n");
    let err = resolve_code(&tmp.path().join("ws"), None, None).unwrap_err();
    assert!(err.message.contains("workspace manifest"));
    tmp.write("broken/Cargo.toml", "[package\n");
    let err = resolve_code(&tmp.path().join("broken"), None, None).unwrap_err();
    assert!(err.message.contains("not valid TOML"));
}

const SAM_MINI: &str = "\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./fn
";

const SLS_MINI: &str = "\
service: x
functions:
  fn:
    handler: ./fn
";

#[test]
fn load_discovers_in_order_and_honours_explicit() {
    let tmp = TempDir::new();
    tmp.package("fn", "fn", &[]);
    assert!(load(tmp.path(), None).unwrap().is_none());

    tmp.write("serverless.yaml", SLS_MINI);
    assert_eq!(
        load(tmp.path(), None).unwrap().unwrap().format,
        Format::Serverless
    );
    tmp.write("serverless.yml", SLS_MINI);
    let p = load(tmp.path(), None).unwrap().unwrap();
    assert_eq!(p.source, tmp.path().join("serverless.yml"));
    tmp.write("template.yml", SAM_MINI);
    let p = load(tmp.path(), None).unwrap().unwrap();
    assert_eq!(p.source, tmp.path().join("template.yml"));
    assert_eq!(p.format, Format::Sam);
    tmp.write("template.yaml", SAM_MINI);
    let p = load(tmp.path(), None).unwrap().unwrap();
    assert_eq!(p.source, tmp.path().join("template.yaml"));

    // --template wins, whatever the directory holds; the format comes from the content.
    let other = tmp.write(
        "deploy/stack.yml",
        SLS_MINI.replace("./fn", "../fn").as_str(),
    );
    let p = load(tmp.path(), Some(&other)).unwrap().unwrap();
    assert_eq!(p.format, Format::Serverless);
    assert_eq!(p.functions[0].name, "fn");
    let sam = tmp.write(
        "deploy/infra.yaml",
        SAM_MINI.replace("./fn", "../fn").as_str(),
    );
    assert_eq!(
        load(tmp.path(), Some(&sam)).unwrap().unwrap().format,
        Format::Sam
    );

    let err = load(tmp.path(), Some(&tmp.path().join("nope.yaml"))).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Read);
    let odd = tmp.write("odd.txt", "hello: world\n");
    assert_eq!(
        load(tmp.path(), Some(&odd)).unwrap_err().kind,
        ErrorKind::Invalid
    );
    let manifest = tmp.path().join("fn/Cargo.toml");
    assert_eq!(
        load(tmp.path(), Some(&manifest)).unwrap_err().kind,
        ErrorKind::Unsupported
    );
}

#[test]
fn a_bad_discovered_file_is_an_error_not_skipped() {
    let tmp = TempDir::new();
    tmp.write("template.yaml", "Resources: [\n");
    let err = load(tmp.path(), None).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert_eq!(err.file, tmp.path().join("template.yaml"));
    assert!(err.line.is_some());
}

/// The example projects shipped in `examples/` read cleanly and point at the example packages.
#[test]
fn example_projects_load() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let sam = read_file(&examples.join("sam-app/template.yaml")).unwrap();
    let names: Vec<&str> = sam.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "UsersFunction",
            "LegacyFunction",
            "WebFunction",
            "HelloFunction"
        ]
    );
    let sls = read_file(&examples.join("serverless-app/serverless.yml")).unwrap();
    let names: Vec<&str> = sls.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["users", "legacy", "web", "hello"]);
    for (a, b) in sam.functions.iter().zip(&sls.functions) {
        // Same packages, same routes.
        assert_eq!(a.code, b.code);
        let keys = |f: &FunctionSpec| f.routes.iter().map(RouteSpec::key).collect::<Vec<_>>();
        assert_eq!(keys(a), keys(b), "{}", a.name);
        assert_eq!(a.function_url, b.function_url);
        assert_eq!(a.reserved_concurrency, b.reserved_concurrency);
    }
    let users = &sam.functions[0];
    assert_eq!(users.timeout, Some(Duration::from_secs(10)));
    assert_eq!(users.memory_mb, Some(256));
    assert_eq!(users.env["STAGE"], "dev");
    assert_eq!(users.env["TABLE_NAME"], "users-local");
    assert_eq!(
        users.code,
        Code::RustPackage {
            package_dir: examples.join("http-api").canonicalize().unwrap(),
            bin: Some("http-api".into())
        }
    );
    let web = &sam.functions[2];
    assert_eq!(web.routes[0], RouteSpec::default_route(PayloadFormat::Http));
    // `PayloadFormatVersion: "1.0"` on an HttpApi event: still an HTTP API.
    assert_eq!(web.routes[1].payload, PayloadFormat::HttpV1);
    assert!(sam.notes.iter().any(|n| n.contains("UsersTable")));
    // The nightly schedule of `hello`, in both formats.
    #[cfg(feature = "schedules")]
    for (project, name, function) in [
        (&sam, "HelloFunctionNightly", "HelloFunction"),
        (&sls, "hello-schedule-1", "hello"),
    ] {
        let schedules = &project.functions[3].schedules;
        assert_eq!(schedules.len(), 1);
        let nightly = &schedules[0];
        assert_eq!(
            (nightly.name.as_str(), nightly.function.as_str()),
            (name, function)
        );
        assert_eq!(nightly.expression_text, "rate(1 day)");
        assert_eq!(nightly.service, crate::sources::schedule::Service::Rule);
        assert!(nightly.enabled && nightly.input.is_none());
    }
    #[cfg(not(feature = "schedules"))]
    assert!(sam.notes.iter().any(|n| n.contains("Schedule")));
}

use crate::test_rng::Rng;

/// Mangles `text` a few times: cuts, duplications and insertions of YAML/TOML-significant tokens.
fn mutate(rng: &mut Rng, text: &str) -> String {
    const TOKENS: [&str; 24] = [
        "!Ref ", "!Sub ", "{", "}", "[", "]", ":", ": ", "\n", "  ", "\t", "- ", "*a", "&a ",
        "<<: ", "{proxy+}", "${x}", "\"", "'", "#", "0x1F", "-1", "~", "é",
    ];
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(3) {
            0 if !bytes.is_empty() => {
                let end = (at + rng.below(40)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            1 if !bytes.is_empty() => {
                let start = rng.below(bytes.len());
                let end = (start + rng.below(80)).min(bytes.len());
                let chunk = bytes[start..end].to_vec();
                bytes.splice(at..at, chunk);
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every parser returns an answer (usually an error) for mangled input; none panics.
#[test]
fn mangled_inputs_never_panic() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let sam = std::fs::read_to_string(examples.join("sam-app/template.yaml")).unwrap();
    let sls = std::fs::read_to_string(examples.join("serverless-app/serverless.yml")).unwrap();
    let toml = "[package]\nname = \"x\"\n[[bin]]\nname = \"x\"\npath = \"src/main.rs\"\n\
                [package.metadata.lambkin]\ntimeout = 3\nenv = { A = \"b\" }\n\
                [package.metadata.lambkin.functions.x]\nroutes = [\"GET /a/{id}\", \"$default\"]\n";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let sam_file = examples.join("sam-app/template.yaml");
    let sls_file = examples.join("serverless-app/serverless.yml");
    let toml_file = examples.join("hello/Cargo.toml");
    let mut ok = 0;
    for _ in 0..400 {
        let text = mutate(&mut rng, &sam);
        ok += usize::from(parse_sam(&text, &sam_file).is_ok());
        let text = mutate(&mut rng, &sls);
        ok += usize::from(parse_serverless(&text, &sls_file).is_ok());
        let text = mutate(&mut rng, toml);
        ok += usize::from(parse_package_metadata(&text, &toml_file).is_ok());
    }
    // Some mutations are harmless (comments, whitespace); most are not.
    assert!(ok < 1200);
    for text in [
        "",
        "~",
        "[]",
        "!Ref x",
        "a: *b",
        "a: &a [*a, *a]",
        "\u{feff}",
        "---\n---\n",
    ] {
        let _ = parse_sam(text, &sam_file);
        let _ = parse_serverless(text, &sls_file);
        let _ = parse_package_metadata(text, &toml_file);
    }
}
