//! Every shell command of README.md, run as a reader runs it and checked against what the README
//! says it does.
//!
//! The commands of the ```sh blocks are read from the README itself; each must be one of
//! [`SH_COMMANDS`], which the tests below run (a few inline commands too: [`INLINE_COMMANDS`]).
//! A command the README gains without a test here fails
//! [`every_readme_command_is_run_by_a_test`]. Commands run in `sh -c`; the documented port 9000
//! (9001 for the second emulator) becomes an ephemeral one, servers get `LAMBKIN_PORT=0` /
//! `PORT=0`, and cargo shares this test's target dir.

#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Output,
};

use lambkin_tests::{
    STEP, developer_command, get, post,
    project::{FIRST_BUILD, RELEASE_BUILD, Watching, lambkin_binary, repository, target_dir},
    shell::{self, Running},
};
use serde_json::{Value, json};

const README: &str = include_str!("../../../README.md");

// The README's commands, as written (without their comments).
/// The emulator over the examples (top of the README).
const RUN_EXAMPLES: &str = "cargo run";
/// The harness's own caller: CI runs it, and it runs this file. Not run here.
const TEST_WORKSPACE: &str = "cargo test --workspace";
/// Five minutes, step 2: the greet function's Invoke API.
const CURL_GREET: &str =
    r#"curl -d '{"name":"Ada"}' localhost:9000/2015-03-31/functions/greet/invocations"#;
/// Five minutes, step 2: what the AWS CLI needs.
const AWS_CREDENTIALS: &str =
    "export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_DEFAULT_REGION=us-east-1";
/// Five minutes, step 2: the AWS CLI's invoke.
const AWS_INVOKE_GREET: &str = r#"aws lambda invoke --endpoint-url http://127.0.0.1:9000 --function-name greet --payload '{"name":"Ada"}' out.json"#;
/// `bootstrap` functions named in a template.
const WATCH_BOOTSTRAPS: &str = "lambkin watch";
/// Shipping: the Lambda build.
const BUILD_RELEASE: &str = "cargo run -- build --release -p example-hello";
/// Shipping: a deploy to AWS.
const DEPLOY_TO_AWS: &str =
    "cargo run --features deploy -- deploy hello --role arn:aws:iam::123456789012:role/lambda-exec";
/// Shipping: a deploy to a second emulator.
const DEPLOY_TO_LAMBKIN: &str =
    "cargo run --features deploy -- deploy hello --endpoint-url http://127.0.0.1:9001 --debug";

/// Every command of the README's ```sh blocks.
const SH_COMMANDS: [&str; 9] = [
    RUN_EXAMPLES,
    TEST_WORKSPACE,
    CURL_GREET,
    AWS_CREDENTIALS,
    AWS_INVOKE_GREET,
    WATCH_BOOTSTRAPS,
    BUILD_RELEASE,
    DEPLOY_TO_AWS,
    DEPLOY_TO_LAMBKIN,
];

/// Five minutes, step 1.
const NEW_PROJECT: &str = "cargo new greet";
/// Five minutes, step 2: the function serves itself.
const RUN_FUNCTION: &str = "cargo run";
/// The SAM example project.
const SAM_APP: &str = "cd examples/sam-app && cargo run --manifest-path ../../Cargo.toml";
/// Inline commands (in backticks in the prose) run here too.
const INLINE_COMMANDS: [&str; 3] = [NEW_PROJECT, RUN_FUNCTION, SAM_APP];

/// A fenced code block: its info string (`sh`, `rust,ignore`, …) and its lines.
#[derive(Debug)]
struct Block {
    info: String,
    lines: Vec<String>,
}

/// The fenced code blocks of `markdown`, indented ones (in list items) included.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for line in markdown.lines() {
        let trimmed = line.trim();
        match (&mut open, trimmed.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_owned(),
                    lines: Vec::new(),
                });
            }
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some(block), _) => block.lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed code block");
    blocks
}

/// The commands of a shell block: `\`-continued lines joined, comments and blank lines dropped.
fn commands(block: &Block) -> Vec<String> {
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in &block.lines {
        let line = line.trim();
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head.trim_end());
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let command = without_comment(&current).trim().to_owned();
        current.clear();
        if !command.is_empty() {
            commands.push(command);
        }
    }
    commands
}

/// `line` up to a `#` comment: a `#` outside quotes at the start or after whitespace.
fn without_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '#') if previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// The commands of all the README's shell blocks.
fn readme_commands() -> Vec<String> {
    blocks(README)
        .iter()
        .filter(|b| b.info == "sh")
        .flat_map(commands)
        .collect()
}

/// The README's code block of kind `info` whose text contains every one of `marks`.
fn readme_block(info: &str, marks: &[&str]) -> String {
    let found: Vec<String> = blocks(README)
        .into_iter()
        .filter(|b| b.info == info)
        .map(|b| b.lines.join("\n") + "\n")
        .filter(|text| marks.iter().all(|m| text.contains(m)))
        .collect();
    assert_eq!(found.len(), 1, "one ```{info} block with {marks:?}");
    found.into_iter().next().unwrap()
}

#[test]
fn every_readme_command_is_run_by_a_test() {
    let found = readme_commands();
    let untested: Vec<&String> = found
        .iter()
        .filter(|c| !SH_COMMANDS.contains(&c.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "README.md commands that no test runs (add them to tests/tests/end_to_end/readme.rs): {untested:#?}"
    );
    let gone: Vec<&&str> = SH_COMMANDS
        .iter()
        .filter(|c| !found.iter().any(|f| f == *c))
        .collect();
    assert!(
        gone.is_empty(),
        "commands no longer in README.md: {gone:#?}"
    );
    for inline in INLINE_COMMANDS {
        assert!(README.contains(&format!("`{inline}`")), "`{inline}`");
    }
    // Shell commands hide in no other kind of block.
    for block in blocks(README) {
        assert!(
            !["bash", "shell", "console", "zsh", "text", ""].contains(&block.info.as_str()),
            "a ```{} block: write shell commands in ```sh blocks",
            block.info
        );
    }
}

#[test]
fn shell_blocks_parse_into_commands() {
    let block = Block {
        info: "sh".into(),
        lines: [
            "  # a comment",
            "  a \\",
            "    --b 'x # y'  # said",
            "",
            "c#d",
        ]
        .map(String::from)
        .to_vec(),
    };
    assert_eq!(commands(&block), ["a --b 'x # y'", "c#d"]);
}

/// What README commands get besides the user's environment: this test's target dir (warm),
/// and AWS pointed nowhere real.
fn env<'a>(target: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut env = vec![
        ("CARGO_TARGET_DIR", target),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_MAX_ATTEMPTS", "1"),
    ];
    env.extend_from_slice(extra);
    env
}

/// The `K=V` pairs of an `export` command.
fn exported(command: &str) -> Vec<(&str, &str)> {
    command
        .strip_prefix("export ")
        .unwrap()
        .split_whitespace()
        .map(|pair| pair.split_once('=').unwrap())
        .collect()
}

/// `command` with the documented port replaced by `addr`'s.
fn on(command: &str, documented: u16, addr: SocketAddr) -> String {
    let documented = format!(":{documented}");
    assert!(command.contains(&documented), "{command}");
    command.replace(&documented, &format!(":{}", addr.port()))
}

/// The address of the first `http://host:port…` in an output line.
fn address(line: &str) -> SocketAddr {
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no URL in {line}"));
    url.split('/').next().unwrap().parse().unwrap()
}

fn succeeded(command: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{command}` failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `command` in `dir` (bounded by [`FIRST_BUILD`]), which must succeed; its stdout.
async fn run(command: &str, dir: &Path, env: &[(&str, &str)]) -> String {
    run_within(command, dir, env, FIRST_BUILD).await
}

/// [`run`], bounded by `limit`.
async fn run_within(
    command: &str,
    dir: &Path,
    env: &[(&str, &str)],
    limit: std::time::Duration,
) -> String {
    succeeded(command, &shell::run(command, dir, env, limit).await)
}

/// Whether the AWS CLI is installed (required when `LAMBKIN_REQUIRE_AWSCLI` is set).
fn has_aws_cli() -> bool {
    match std::process::Command::new("aws").arg("--version").output() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("LAMBKIN_REQUIRE_AWSCLI").is_none(),
                "the AWS CLI is required"
            );
            eprintln!("skipped the AWS CLI commands: `aws` is not installed (pip install awscli)");
            false
        }
        Err(e) => panic!("cannot run aws: {e}"),
    }
}

/// A directory under the system's temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_minutes_with_lambkin() {
    let tmp = TempDir::new("readme-greet");
    let target = target_dir().display().to_string();
    let env = env(&target, &[]);
    run(NEW_PROJECT, &tmp.0, &env).await;
    let greet = tmp.0.join("greet");
    // "add `lambkin = "0.1"` and `serde_json = "1"`": the SDK of this repository, as published,
    // with its lock file (the same versions, so the build shares this test's artifacts).
    let manifest = greet.join("Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.trim_end().ends_with("[dependencies]"), "{text}");
    let sdk = repository().join("sdk");
    text.push_str(&format!(
        "lambkin = {{ path = {sdk:?} }}\nserde_json = \"1\"\n"
    ));
    std::fs::write(&manifest, text).unwrap();
    std::fs::copy(repository().join("Cargo.lock"), greet.join("Cargo.lock")).unwrap();
    let source = readme_block("rust,ignore", &["#[lambkin::handler]", "async fn greet("]);
    std::fs::write(greet.join("src/main.rs"), source).unwrap();

    // `cargo run`: the function serves itself.
    let mut function = Running::start(RUN_FUNCTION, &greet, &[&env[..], &[("PORT", "0")]].concat());
    let addr = address(
        &function
            .wait_for(FIRST_BUILD, |l| l.contains("invoke: curl"))
            .await,
    );

    let answer: Value =
        serde_json::from_str(&run(&on(CURL_GREET, 9000, addr), &greet, &env).await).unwrap();
    assert_eq!(answer["message"], "Hello, Ada!", "{answer}");
    assert!(
        answer["requestId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    if has_aws_cli() {
        let with_credentials = [&env[..], &exported(AWS_CREDENTIALS)].concat();
        run(&on(AWS_INVOKE_GREET, 9000, addr), &greet, &with_credentials).await;
        let out: Value =
            serde_json::from_slice(&std::fs::read(greet.join("out.json")).unwrap()).unwrap();
        assert_eq!(out["message"], "Hello, Ada!", "{out}");
    }
}

/// The names of the README's "`examples/` — `hello`, …;" line.
fn documented_examples() -> Vec<String> {
    let line = README
        .lines()
        .find(|l| l.starts_with("- `examples/` —"))
        .unwrap();
    let listed = line.split_once('—').unwrap().1.split(';').next().unwrap();
    let mut names: Vec<String> = listed
        .split(',')
        .map(|name| name.trim().trim_matches('`').to_owned())
        .collect();
    names.sort();
    names
}

/// The functions a `lambkin` at `addr` serves.
async fn served(addr: SocketAddr) -> Vec<String> {
    let status = get(addr, "/_lambkin").await;
    let mut names: Vec<String> = status.body["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_serves_the_examples() {
    let target = target_dir().display().to_string();
    let env = env(&target, &[("LAMBKIN_PORT", "0")]);

    // `cargo run` at the root: every example function.
    let mut lambkin = Running::start(RUN_EXAMPLES, repository(), &env);
    let addr = address(
        &lambkin
            .wait_for(FIRST_BUILD, |l| l.contains("serving on"))
            .await,
    );
    assert_eq!(served(addr).await, documented_examples());
    let answer = post(
        addr,
        "/2015-03-31/functions/hello/invocations",
        &[],
        json!({"name": "README"}).to_string(),
    )
    .await;
    assert_eq!(answer.body["message"], "Hello, README!", "{answer:?}");
    drop(lambkin);

    // The SAM example: its template's functions and routes.
    let mut sam = Running::start(SAM_APP, repository(), &env);
    let addr = address(
        &sam.wait_for(FIRST_BUILD, |l| l.contains("serving on"))
            .await,
    );
    let functions = served(addr).await;
    assert!(
        functions.contains(&"UsersFunction".to_owned()),
        "{functions:?}"
    );
    let user = get(addr, "/users/42").await;
    assert_eq!(user.status, 200, "{user:?}");
    assert_eq!(user.body["name"], "user-42", "{user:?}");
    drop(sam);

    // The developer's next build of what `cargo run` built rebuilds nothing: the functions'
    // builds `lambkin` ran did not inherit what `cargo run` set for it (`CARGO_PKG_NAME`, …,
    // on which ring's build script reruns).
    let output = developer_command(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--bin", "lambkin", "--message-format=json"])
        .current_dir(repository())
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let rebuilt: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["fresh"] == false)
        .map(|m| m["target"]["name"].to_string())
        .collect();
    assert!(rebuilt.is_empty(), "rebuilt after `cargo run`: {rebuilt:?}");
}

/// A Runtime API client in Python, the whole function: it echoes each event.
const PYTHON_BOOTSTRAP: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    body = json.dumps({"from": "python", "event": event}).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body, method="POST")).read()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_functions_are_served_from_a_template() {
    let tmp = TempDir::new("readme-bootstrap");
    let template = readme_block("yaml", &["AWS::Serverless::Function", "CodeUri: greeter"]);
    std::fs::write(tmp.0.join("template.yaml"), template).unwrap();
    std::fs::create_dir(tmp.0.join("greeter")).unwrap();
    let bootstrap = tmp.0.join("greeter/bootstrap");
    std::fs::write(&bootstrap, PYTHON_BOOTSTRAP).unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    // `lambkin` installed: on PATH.
    let bin = tmp.0.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(lambkin_binary(), bin.join("lambkin")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let target = target_dir().display().to_string();
    let env = env(&target, &[("LAMBKIN_PORT", "0"), ("PATH", &path)]);

    let mut lambkin = Running::start(WATCH_BOOTSTRAPS, &tmp.0, &env);
    let addr = address(&lambkin.wait_for(STEP, |l| l.contains("serving on")).await);
    let answer = post(
        addr,
        "/2015-03-31/functions/Greeter/invocations",
        &[],
        json!({"name": "Ada"}).to_string(),
    )
    .await;
    assert_eq!(
        answer.body,
        json!({"from": "python", "event": {"name": "Ada"}}),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipping_builds_and_deploys() {
    let target = target_dir().display().to_string();
    let env = env(&target, &[]);

    // `lambkin build --release`, on a fresh clone and every time after.
    let zip = target_dir().join("lambda/hello/bootstrap.zip");
    let mut zips = Vec::new();
    for _ in 0..2 {
        let stdout = run_within(BUILD_RELEASE, repository(), &env, RELEASE_BUILD).await;
        assert!(stdout.contains(&zip.display().to_string()), "{stdout}");
        zips.push(std::fs::read(&zip).unwrap());
    }
    assert!(zips[0] == zips[1], "the same zip every time");

    // A second emulator, without functions of its own, to deploy to.
    let empty = TempDir::new("readme-deploy");
    let second = Watching::start_in(&lambkin_binary(), &empty.0, &[], &target_dir()).await;
    let addr = second.addr;

    // "Deploy to AWS": the standard credential chain and AWS's endpoint setting send it to the
    // emulator, whose management API answers as Lambda does.
    let endpoint = format!("http://{addr}");
    let to_aws = [
        &env[..],
        &exported(AWS_CREDENTIALS),
        &[("AWS_ENDPOINT_URL", endpoint.as_str())],
    ]
    .concat();
    let stdout = run(DEPLOY_TO_AWS, repository(), &to_aws).await;
    assert!(stdout.contains("created hello: version 1"), "{stdout}");
    let answer = post(
        addr,
        "/2015-03-31/functions/hello/invocations",
        &[],
        json!({"name": "Lambda"}).to_string(),
    )
    .await;
    assert_eq!(answer.body["message"], "Hello, Lambda!", "{answer:?}");

    // To the emulator with --endpoint-url: a debug build, a new version.
    let stdout = run(&on(DEPLOY_TO_LAMBKIN, 9001, addr), repository(), &env).await;
    assert!(stdout.contains("updated hello: version 2"), "{stdout}");
}
