//! End-to-end harness: starts real function binaries (as users run them) and talks HTTP to
//! them. Every wait is bounded, so a hang fails the test instead of stalling CI.

pub mod awscli;
pub mod browser;
pub mod project;
pub mod shell;

use std::{
    ffi::OsStr,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::mpsc,
    time::timeout,
};

/// A command for `program` (cargo, `lambkin`, a shell) with the environment a developer's shell
/// gives it: without the variables cargo sets for this test binary (`CARGO_PKG_NAME`,
/// `CARGO_MANIFEST_DIR`, …; see [`lambkin_emulator::dev::cargo::command`], which `lambkin`
/// uses for its own cargo calls for the same reason).
pub fn developer_command(program: impl AsRef<OsStr>) -> std::process::Command {
    lambkin_emulator::dev::cargo::command(program)
}

/// The custom-runtime bootstrap AWS's documentation gives for the Python runtime interface
/// client, unchanged: a `provided.al2023` function's `bootstrap` running a Python handler.
pub const PYTHON_BOOTSTRAP: &str = "#!/bin/sh\nexec python3 -m awslambdaric \"$_HANDLER\"\n";

/// A test's SAM project in the temp dir (`lambkin-<name>-<pid>`), emptied when made and removed
/// when dropped.
#[derive(Debug)]
pub struct SamProject(PathBuf);

impl SamProject {
    /// An empty project.
    pub fn new(name: &str) -> SamProject {
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a project dir");
        SamProject(dir)
    }

    /// Writes the file `name` (`template.yaml`, …).
    pub fn file(&self, name: &str, contents: &str) {
        std::fs::write(self.0.join(name), contents).unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    /// Where it is.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// A Python function in `code`: `bootstrap` ([`PYTHON_BOOTSTRAP`]) and `app.py` (`app`).
    pub fn python_function(&self, code: &str, app: &str) {
        use std::os::unix::fs::PermissionsExt;
        let code = self.0.join(code);
        std::fs::create_dir_all(&code).expect("a code dir");
        let bootstrap = code.join("bootstrap");
        std::fs::write(&bootstrap, PYTHON_BOOTSTRAP).expect("bootstrap");
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755))
            .expect("an executable bootstrap");
        std::fs::write(code.join("app.py"), app).expect("app.py");
    }
}

impl Drop for SamProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the Python runtime interface client (`pip install awslambdaric`) is installed; with
/// `CI` set, it must be (a failure), else a note says the test is skipped.
pub fn awslambdaric_installed() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import awslambdaric"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "awslambdaric is required on CI (.ci/run installs it: pip install awslambdaric)"
        );
        eprintln!(
            "SKIPPED: the Python runtime interface client is not installed (pip install awslambdaric)"
        );
    }
    found
}

/// How long any single step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(20);

/// A function binary serving itself (local mode: started without `AWS_LAMBDA_RUNTIME_API`).
#[derive(Debug)]
pub struct LocalFunction {
    child: Child,
    front: SocketAddr,
    name: String,
    output: mpsc::UnboundedReceiver<String>,
}

/// What the Invoke API answered.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: hyper::HeaderMap,
    /// The body, parsed as JSON (`Value::Null` when empty).
    pub body: Value,
}

impl Answer {
    /// The `X-Amz-Function-Error` header: `Some("Unhandled")` for a function error.
    pub fn function_error(&self) -> Option<&str> {
        self.headers
            .get("x-amz-function-error")
            .and_then(|v| v.to_str().ok())
    }
}

impl LocalFunction {
    /// Starts `binary` as `cargo run` would (no Lambda environment), on an ephemeral port, and
    /// waits until it prints the URL it serves.
    pub async fn start(binary: &str) -> Self {
        Self::start_with(binary, &[]).await
    }

    /// [`LocalFunction::start`] with extra environment variables.
    pub async fn start_with(binary: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        command
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("LAMBKIN_PORT")
            .env("PORT", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let output = merge_output(&mut child);
        let mut function = LocalFunction {
            child,
            front: SocketAddr::from(([127, 0, 0, 1], 0)),
            name: String::new(),
            output,
        };
        let url = function
            .wait_for_line(|line| line.contains("/2015-03-31/functions/"))
            .await
            .unwrap_or_else(|| panic!("{binary} exited before serving"));
        let url = url
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL in the serving line");
        let rest = url.trim_start_matches("http://");
        let (addr, path) = rest.split_once('/').expect("host and path");
        function.front = addr.parse().expect("a socket address");
        function.name = path
            .split('/')
            .nth(2)
            .expect("function name in the URL")
            .to_owned();
        function
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// The address of its front (the Invoke API).
    pub fn front(&self) -> SocketAddr {
        self.front
    }

    /// The function name it serves under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Invokes it through the Invoke API with a JSON payload.
    pub async fn invoke(&self, payload: &Value) -> Answer {
        let path = format!("/2015-03-31/functions/{}/invocations", self.name);
        post(self.front, &path, &[], payload.to_string()).await
    }

    /// Waits (bounded) for an output line matching `predicate`; `None` if the process ended.
    pub async fn wait_for_line(&mut self, predicate: impl Fn(&str) -> bool) -> Option<String> {
        let wait = async {
            while let Some(line) = self.output.recv().await {
                if predicate(&line) {
                    return Some(line);
                }
            }
            None
        };
        timeout(STEP, wait)
            .await
            .expect("timed out waiting for the function's output")
    }

    /// Waits (bounded) for the process to exit.
    pub async fn exit_status(&mut self) -> ExitStatus {
        timeout(STEP, self.child.wait())
            .await
            .expect("the function did not exit")
            .expect("wait")
    }
}

/// The emulator serving functions as child processes (Lambda mode: each instance gets
/// `AWS_LAMBDA_RUNTIME_API`), on an ephemeral loopback port.
#[derive(Debug)]
pub struct Emulated {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), lambkin_emulator::Error>>>,
}

impl Emulated {
    /// Serves `functions`.
    pub async fn start(
        functions: impl IntoIterator<Item = lambkin_emulator::FunctionConfig>,
    ) -> Self {
        let emulator = lambkin_emulator::Emulator::new(functions).expect("valid functions");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(emulator.serve_listener(listener, async move {
            let _ = stopped.await;
        }));
        Emulated {
            addr,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// The front's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Invokes `function` through the Invoke API.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Answer {
        let path = format!("/2015-03-31/functions/{function}/invocations");
        post(self.addr, &path, &[], payload.to_string()).await
    }

    /// Stops the emulator and every instance, bounded in time.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            timeout(STEP, server)
                .await
                .expect("the emulator did not stop")
                .expect("join")
                .expect("serve");
        }
    }
}

/// An `Authorization` header in the form AWS Signature Version 4 gives it, as the management API
/// requires (the emulator checks the form, not the keys: any credentials do).
pub const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
);

/// Runs `binary` to completion with exactly `env` (plus PATH), returning its status and output.
pub async fn run_to_exit(binary: &str, env: &[(&str, &str)]) -> (ExitStatus, String) {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = timeout(STEP, command.output())
        .await
        .expect("the binary did not exit")
        .expect("spawn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

/// Forwards stdout and stderr line by line into one channel (and to the test's output).
pub(crate) fn merge_output(child: &mut Child) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    if let Some(stdout) = child.stdout.take() {
        forward(BufReader::new(stdout), tx.clone());
    }
    if let Some(stderr) = child.stderr.take() {
        forward(BufReader::new(stderr), tx);
    }
    rx
}

fn forward<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    reader: BufReader<R>,
    tx: mpsc::UnboundedSender<String>,
) {
    tokio::spawn(async move {
        let mut lines = reader.lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("  | {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
}

/// `POST` to `addr` + `path`, bounded in time; panics on a transport error.
pub async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: String) -> Answer {
    try_post(addr, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// `GET` of `addr` + `path`, bounded in time; panics on a transport error.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, &[], Vec::new()).await
}

/// Any request, bounded in time; panics on a transport error. Repeated header names are sent
/// as repeated headers.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let method = hyper::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    exchange(addr, method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `POST` to `addr` + `path`, bounded in time.
pub async fn try_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<Answer, String> {
    exchange(addr, hyper::Method::POST, path, headers, body).await
}

async fn exchange(
    addr: SocketAddr,
    method: hyper::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Result<Answer, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(body.into()))
        .map_err(|e| e.to_string())?;
    let response = timeout(STEP, client.request(request))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = timeout(STEP, response.into_body().collect())
        .await
        .map_err(|_| "timed out reading the body".to_owned())?
        .map_err(|e| e.to_string())?
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Ok(Answer {
        status,
        headers,
        body,
    })
}
