//! The Extensions API with real clients: a `lambda-extension` crate extension (the `extension`
//! example) as an external extension of a `lambda_runtime` function (the fixture) gets each
//! invocation's `INVOKE` and `SHUTDOWN` when the emulator stops or reaps the instance; a Python
//! runtime registering an internal extension, as aws-lambda-go's `WithEnableSIGTERM` does, gets
//! SIGTERM at shutdown, and so does `lambda_runtime`'s `spawn_graceful_shutdown_handler` (whose
//! internal extension subscribes to no event); an extension that never registers, one that
//! crashes and one that reports an init error fail the init as Lambda does. No process is left
//! behind by any of it.
#![cfg(target_os = "linux")]
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::processes::{MARKER, marked, new_marker, wait_none};
use common::{Reply, Running, bounded, example_path, fixture_path};
use lambkin_emulator::FunctionConfig;

/// A function directory: `bootstrap` and its `extensions/`, with a journal file the
/// function and extensions append to.
struct FunctionDir {
    dir: PathBuf,
    marker: String,
}

impl FunctionDir {
    fn new(test: &str) -> FunctionDir {
        let marker = new_marker(test);
        let dir = std::env::temp_dir().join(format!("lambkin-{marker}"));
        std::fs::create_dir_all(dir.join("extensions")).unwrap();
        FunctionDir { dir, marker }
    }

    /// The fixture (`lambda_runtime`) as the bootstrap.
    fn with_fixture(self) -> FunctionDir {
        std::os::unix::fs::symlink(fixture_path(), self.dir.join("bootstrap")).unwrap();
        self
    }

    /// Writes an executable script at `path` (relative to the function directory).
    fn script(self, path: &str, text: &str) -> FunctionDir {
        let file = self.dir.join(path);
        std::fs::write(&file, text).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        self
    }

    /// The `lambda-extension` recorder as external extension `name`.
    fn with_recorder(self, name: &str) -> FunctionDir {
        let link = self.dir.join("extensions").join(name);
        std::os::unix::fs::symlink(example_path("extension"), link).unwrap();
        self
    }

    fn journal(&self) -> PathBuf {
        self.dir.join("journal")
    }

    fn lines(&self) -> Vec<String> {
        read_lines(&self.journal())
    }

    /// The function `name` (the fixture's `echo`), with the journal and the process marker in its
    /// environment, which extensions share.
    fn config(&self, name: &str) -> FunctionConfig {
        let mut config = FunctionConfig::new(name, self.dir.join("bootstrap"));
        let journal = self.journal().to_string_lossy().into_owned();
        config.env.insert("FIXTURE".into(), "echo".into());
        config.env.insert("EXTENSION_LOG".into(), journal.clone());
        config.env.insert("JOURNAL".into(), journal);
        config.env.insert(MARKER.into(), self.marker.clone());
        config
    }

    /// Asserts that no process of the function (runtime or extension) runs any more.
    async fn assert_no_processes(&self) {
        let left = wait_none(|| marked(&self.marker)).await;
        assert!(left.is_empty(), "processes left behind: {left:?}");
    }
}

impl Drop for FunctionDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until `lines` holds `line`, for at most the tests' limit.
async fn wait_for_line(dir: &FunctionDir, line: &str) {
    bounded(async {
        while !dir.lines().iter().any(|l| l == line) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

async fn invoke(emulator: &Running, name: &str) -> (Reply, String) {
    let reply = emulator
        .invoke(name, &[("X-Amz-Log-Type", "Tail")], b"{}")
        .await;
    let id = reply.header("x-amzn-RequestId").unwrap().to_owned();
    (reply, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_extension_gets_each_invoke_and_shutdown_when_the_emulator_stops() {
    let dir = FunctionDir::new("ext-stop")
        .with_fixture()
        .with_recorder("recorder");
    let emulator = Running::start(vec![dir.config("withext")]).await;

    let (first, first_id) = invoke(&emulator, "withext").await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(
        first.header("X-Amz-Function-Error"),
        None,
        "{}",
        first.text()
    );
    let tail = first.log_tail();
    assert!(
        tail.contains("extension: starting"),
        "its output is the function's: {tail}"
    );
    assert!(
        tail.contains("EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE,SHUTDOWN]"),
        "{tail}"
    );
    // The invocation ended only once the extension was done with its INVOKE.
    assert_eq!(dir.lines(), [format!("INVOKE {first_id}")]);

    let (second, second_id) = invoke(&emulator, "withext").await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.header("X-Amz-Function-Error"),
        None,
        "{}",
        second.text()
    );
    assert!(
        !second.log_tail().contains("EXTENSION\t"),
        "init is logged once"
    );
    assert_eq!(
        dir.lines(),
        [format!("INVOKE {first_id}"), format!("INVOKE {second_id}")]
    );

    emulator.stop().await;
    assert_eq!(
        dir.lines().last().map(String::as_str),
        Some("SHUTDOWN spindown"),
        "{:?}",
        dir.lines()
    );
    dir.assert_no_processes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaped_instance_sends_shutdown_to_its_extension() {
    let dir = FunctionDir::new("ext-reap")
        .with_fixture()
        .with_recorder("recorder");
    let mut config = dir.config("reaped");
    config.keep_alive = Duration::from_millis(100);
    let emulator = Running::start(vec![config]).await;

    let (reply, id) = invoke(&emulator, "reaped").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    wait_for_line(&dir, "SHUTDOWN spindown").await;
    assert_eq!(
        dir.lines(),
        [format!("INVOKE {id}"), "SHUTDOWN spindown".to_owned()]
    );
    dir.assert_no_processes().await;
    emulator.stop().await;
}

/// An instance a timeout or a crash ends gets its shutdown phase too, with reason `timeout` or
/// `failure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_or_a_crash_sends_shutdown_with_its_reason() {
    for (behaviour, reason, error_type) in [
        // Lambda's timeout error has no errorType.
        ("slow", "timeout", None),
        ("crash", "failure", Some("Runtime.ExitError")),
    ] {
        let dir = FunctionDir::new(&format!("ext-{reason}"))
            .with_fixture()
            .with_recorder("recorder");
        let mut config = dir.config(behaviour);
        config.env.insert("FIXTURE".into(), behaviour.into());
        config.timeout = Duration::from_secs(1);
        let emulator = Running::start(vec![config]).await;
        let (reply, id) = invoke(&emulator, behaviour).await;
        assert_eq!(reply.header("x-amz-function-error"), Some("Unhandled"));
        assert_eq!(
            reply.json()["errorType"].as_str(),
            error_type,
            "{}",
            reply.text()
        );
        wait_for_line(&dir, &format!("SHUTDOWN {reason}")).await;
        assert_eq!(
            dir.lines(),
            [format!("INVOKE {id}"), format!("SHUTDOWN {reason}")]
        );
        dir.assert_no_processes().await;
        emulator.stop().await;
    }
}

/// A runtime in Python (standard library only) that does what aws-lambda-go's
/// `lambda.WithEnableSIGTERM` does: registers an internal extension named after the function,
/// for `INVOKE` only, and traps SIGTERM. It also records that Lambda refuses `SHUTDOWN` to an
/// internal extension.
const SIGTERM_RUNTIME: &str = r#"#!/usr/bin/env python3
import json, os, signal, sys, threading, urllib.error, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]

def note(line):
    with open(os.environ["JOURNAL"], "a") as journal:
        journal.write(line + "\n")

def call(method, path, body=None, headers=None):
    request = urllib.request.Request(api + path, data=body, method=method, headers=headers or {})
    return urllib.request.urlopen(request)

def register(name, events):
    body = json.dumps({"events": events}).encode()
    return call("POST", "/2020-01-01/extension/register", body, {"Lambda-Extension-Name": name})

def on_sigterm(signum, frame):
    note("SIGTERM")
    print("[runtime] SIGTERM received, cleaning up", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, on_sigterm)
try:
    register("wants-shutdown", ["INVOKE", "SHUTDOWN"])
except urllib.error.HTTPError as error:
    note("refused %d %s" % (error.code, json.load(error)["errorType"]))
extension = register(os.environ["AWS_LAMBDA_FUNCTION_NAME"], ["INVOKE"])
identifier = extension.headers["Lambda-Extension-Identifier"]

def extension_loop():
    # SIGTERM is for the main thread: a signal a blocked thread takes would never interrupt it.
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    while True:
        response = call("GET", "/2020-01-01/extension/event/next", None,
                        {"Lambda-Extension-Identifier": identifier})
        event = json.load(response)
        note("extension %s %s" % (event["eventType"], event["requestId"]))

threading.Thread(target=extension_loop, daemon=True).start()
while True:
    invocation = call("GET", "/2018-06-01/runtime/invocation/next")
    request_id = invocation.headers["Lambda-Runtime-Aws-Request-Id"]
    note("handler " + request_id)
    call("POST", "/2018-06-01/runtime/invocation/%s/response" % request_id, b'"handled"')
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_extension_gets_invokes_and_its_runtime_gets_sigterm() {
    let dir = FunctionDir::new("ext-sigterm").script("bootstrap", SIGTERM_RUNTIME);
    let emulator = Running::start(vec![dir.config("gofunc")]).await;

    let (reply, id) = invoke(&emulator, "gofunc").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.text(), r#""handled""#);
    assert!(
        reply
            .log_tail()
            .contains("EXTENSION\tName: gofunc\tState: Ready\tEvents: [INVOKE]"),
        "{}",
        reply.log_tail()
    );
    // The handler and the extension run at once: either may write first.
    let mut lines = dir.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("extension INVOKE {id}"),
            format!("handler {id}"),
            "refused 403 Extension.InvalidEventType".to_owned(),
        ]
    );

    emulator.stop().await;
    assert_eq!(dir.lines().last().map(String::as_str), Some("SIGTERM"));
    dir.assert_no_processes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_runtimes_graceful_shutdown_hook_runs_at_shutdown() {
    let dir = FunctionDir::new("ext-graceful").with_fixture();
    let mut config = dir.config("graceful");
    config.env.insert("FIXTURE".into(), "graceful".into());
    config.env.insert(
        "FIXTURE_LOG".into(),
        dir.journal().to_string_lossy().into_owned(),
    );
    let emulator = Running::start(vec![config]).await;

    let (reply, id) = invoke(&emulator, "graceful").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    // Its internal extension subscribes to no event.
    let helper = "_lambda-rust-runtime-no-op-graceful-shutdown-helper";
    let tail = reply.log_tail();
    assert!(
        tail.contains(&format!(
            "EXTENSION\tName: {helper}\tState: Ready\tEvents: []"
        )),
        "{tail}"
    );
    assert_eq!(dir.lines(), std::slice::from_ref(&id));

    emulator.stop().await;
    assert_eq!(dir.lines(), [id, "graceful shutdown".to_owned()]);
    dir.assert_no_processes().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_that_never_registers_fails_the_init() {
    let dir = FunctionDir::new("ext-silent")
        .with_fixture()
        .script("extensions/silent", "#!/bin/sh\nexec sleep 60\n");
    let emulator = Running::start(vec![dir.config("silent")]).await;

    let (reply, _) = invoke(&emulator, "silent").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    let error = reply.json();
    assert_eq!(error["errorType"], "Sandbox.Timedout", "{error}");
    let message = error["errorMessage"].as_str().unwrap();
    assert!(
        message.ends_with("extensions did not register within 10.00 seconds: silent"),
        "{message}"
    );
    assert!(
        reply.log_tail().contains("\tStatus: timeout"),
        "{}",
        reply.log_tail()
    );
    dir.assert_no_processes().await;
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_that_crashes_fails_the_init_with_extension_crash() {
    let dir = FunctionDir::new("ext-crash")
        .with_fixture()
        .with_recorder("recorder")
        .script(
            "extensions/crasher",
            "#!/bin/sh\necho 'crasher: giving up'\nexit 3\n",
        );
    let emulator = Running::start(vec![dir.config("crashing")]).await;

    for _ in 0..2 {
        // Each invocation gets a fresh instance, which fails the same way.
        let (reply, _) = invoke(&emulator, "crashing").await;
        assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
        let error = reply.json();
        assert_eq!(error["errorType"], "Extension.Crash", "{error}");
        let message = error["errorMessage"].as_str().unwrap();
        assert!(
            message.ends_with("Extension crasher exited with error: exit status 3"),
            "{message}"
        );
        let tail = reply.log_tail();
        assert!(tail.contains("crasher: giving up"), "{tail}");
        assert!(
            tail.contains("\tStatus: error\tError Type: Extension.Crash"),
            "{tail}"
        );
    }
    // The runtime never got an event, nor did the extension that registered.
    assert!(
        !dir.lines().iter().any(|l| l.starts_with("INVOKE")),
        "{:?}",
        dir.lines()
    );
    dir.assert_no_processes().await;
    emulator.stop().await;
}

/// An external extension in Python that registers, then reports an init error (and exits, unless
/// the instance is gone first).
const FAILING_EXTENSION: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension"

def post(path, body, headers):
    request = urllib.request.Request(api + path, data=body, method="POST", headers=headers)
    return urllib.request.urlopen(request)

name = os.path.basename(__file__)
registered = post("/register", b'{"events": ["INVOKE"]}', {"Lambda-Extension-Name": name})
identifier = registered.headers["Lambda-Extension-Identifier"]
error = {"errorMessage": "no configuration", "errorType": "Extension.ConfigMissing"}
print("configless: no configuration", flush=True)
post("/init/error", json.dumps(error).encode(), {
    "Lambda-Extension-Identifier": identifier,
    "Lambda-Extension-Function-Error-Type": "Extension.ConfigMissing",
})
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_init_error_fails_the_init_with_its_error() {
    let dir = FunctionDir::new("ext-init-error")
        .with_fixture()
        .script("extensions/configless", FAILING_EXTENSION);
    let emulator = Running::start(vec![dir.config("configless")]).await;

    let (reply, _) = invoke(&emulator, "configless").await;
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    let error = reply.json();
    // Lambda's type for it, whatever the extension posted; the message names both.
    assert_eq!(error["errorType"], "Extension.InitError", "{error}");
    assert_eq!(
        error["errorMessage"],
        "Extension configless reported an init error: Extension.ConfigMissing"
    );
    let tail = reply.log_tail();
    assert!(tail.contains("configless: no configuration"), "{tail}");
    assert!(
        tail.contains("\tStatus: error\tError Type: Extension.InitError"),
        "{tail}"
    );
    dir.assert_no_processes().await;
    emulator.stop().await;
}

/// `lambkin watch` on a SAM project whose function has the recorder extension: Ctrl-C (SIGINT)
/// gives it `SHUTDOWN` before lambkin exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_of_the_lambkin_binary_sends_shutdown() {
    use tokio::io::AsyncBufReadExt;

    let dir = FunctionDir::new("ext-ctrl-c")
        .with_fixture()
        .with_recorder("recorder");
    let project = dir.dir.join("project");
    std::fs::create_dir_all(&project).unwrap();
    let template = format!(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Recorded:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: {}\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Environment:\n        Variables:\n          FIXTURE: echo\n          EXTENSION_LOG: {}\n          {MARKER}: {}\n",
        dir.dir.display(),
        dir.journal().display(),
        dir.marker
    );
    std::fs::write(project.join("template.yaml"), template).unwrap();
    let mut lambkin = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambkin"))
        .args(["watch", "--port", "0", "--no-reload"])
        .current_dir(&project)
        .env_remove("LAMBKIN_PORT")
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(lambkin.stdout.take().unwrap()).lines();
    let addr = bounded(async {
        loop {
            let line = lines.next_line().await.unwrap().expect("lambkin exited");
            if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                break url["http://".len()..].trim_end_matches('/').to_owned();
            }
        }
    })
    .await;
    // Drained in the background, so lambkin never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let reply = common::request(
        addr.parse().unwrap(),
        "POST",
        "/2015-03-31/functions/Recorded/invocations",
        &[],
        b"{}",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let id = reply.header("x-amzn-RequestId").unwrap().to_owned();

    let pid = i32::try_from(lambkin.id().unwrap()).unwrap();
    // SAFETY: kill(2) has no memory effects.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = bounded(lambkin.wait()).await.unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        dir.lines(),
        [format!("INVOKE {id}"), "SHUTDOWN spindown".to_owned()]
    );
    dir.assert_no_processes().await;
}
