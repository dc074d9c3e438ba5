//! Helpers shared by the integration tests: the fixture function, an emulator on an ephemeral
//! port, and a raw HTTP/1.1 client (so every byte the emulator sends is visible).

#![allow(dead_code)] // each test crate uses a different subset

pub mod moto;
pub mod process;
pub mod processes;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use lambkin_emulator::{Emulator, FunctionConfig, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every await in the tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test after [`LIMIT`].
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f).await.expect("timed out")
}

/// The fixture function binary (`cargo test` builds the `fixture` example beside the tests).
pub fn fixture_path() -> PathBuf {
    example_path("fixture")
}

/// The binary of the emulator's example `name` (`cargo test` builds it beside the tests).
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo build -p lambkin-emulator --example {name}` (or plain `cargo test -p lambkin-emulator`)",
        path.display()
    );
    path
}

/// A function named `name` running the fixture's `behaviour`.
pub fn fixture(name: &str, behaviour: &str) -> FunctionConfig {
    let mut config = FunctionConfig::new(name, fixture_path());
    config.env.insert("FIXTURE".into(), behaviour.into());
    config
}

/// An `Authorization` header in the form AWS Signature Version 4 gives it, as the management API
/// requires (the emulator checks the form, not the keys: any credentials do).
pub const SIGNED: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
);

/// [`SIGNED`] for the Step Functions API (service `states`).
pub const SIGNED_STATES: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
);

/// One Step Functions call over raw HTTP (AWS JSON 1.0), signed as the CLI signs it.
pub async fn states_call(addr: SocketAddr, operation: &str, body: &serde_json::Value) -> Reply {
    let target = format!("AWSStepFunctions.{operation}");
    let headers = [
        ("X-Amz-Target", target.as_str()),
        ("Content-Type", "application/x-amz-json-1.0"),
        SIGNED_STATES,
    ];
    request(addr, "POST", "/", &headers, body.to_string().as_bytes()).await
}

/// An emulator serving on an ephemeral port.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), lambkin_emulator::Error>>>,
}

impl Running {
    pub async fn start(functions: Vec<FunctionConfig>) -> Running {
        Running::start_with(functions, None).await
    }

    /// [`Running::start`] with these API Gateway routes instead of the defaults.
    pub async fn start_with(
        functions: Vec<FunctionConfig>,
        gateway: Option<lambkin_emulator::front::gateway::Gateway>,
    ) -> Running {
        let options = Options {
            gateway,
            ..Options::default()
        };
        let emulator = Emulator::with_options(functions, options).expect("valid functions");
        Running::serve(emulator).await
    }

    /// Serves `emulator` (configured by the caller) on an ephemeral port.
    pub async fn serve(emulator: Emulator) -> Running {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(emulator.serve_listener(listener, shutdown));
        Running {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Shuts down gracefully and waits until `serve_listener` returns.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        bounded(self.task.take().unwrap()).await.unwrap().unwrap();
    }

    /// Invokes `function` synchronously with `payload` and extra headers.
    pub async fn invoke(&self, function: &str, headers: &[(&str, &str)], payload: &[u8]) -> Reply {
        let path = format!("/2015-03-31/functions/{function}/invocations");
        request(self.addr, "POST", &path, headers, payload).await
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The Runtime API of the instance that answered: the `echo` fixture's answer carries its
    /// environment.
    pub fn runtime_api(&self) -> SocketAddr {
        assert_eq!(self.status, 200, "{}", self.text());
        let json = self.json();
        let api = json["env"]["AWS_LAMBDA_RUNTIME_API"].as_str();
        api.and_then(|api| api.parse().ok())
            .unwrap_or_else(|| panic!("no Runtime API address in {json}"))
    }

    /// Asserts an AWS error: status, `x-amzn-ErrorType` and `{"Type", "message"}` body.
    pub fn assert_aws_error(&self, status: u16, error_type: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(self.header("x-amzn-ErrorType"), Some(error_type));
        assert!(self.header("x-amzn-RequestId").is_some());
        let body = self.json();
        assert!(body["Type"].is_string(), "{body}");
        body["message"].as_str().expect("message").to_owned()
    }

    /// The decoded `X-Amz-Log-Result`.
    pub fn log_tail(&self) -> String {
        use base64::Engine;
        let encoded = self.header("x-amz-log-result").expect("X-Amz-Log-Result");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        String::from_utf8(bytes).unwrap()
    }
}

/// One HTTP/1.1 exchange on a fresh connection, bounded by [`LIMIT`].
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    bounded(try_request(addr, method, path, headers, body))
        .await
        .expect("HTTP exchange")
}

/// One HTTP/1.1 exchange on a fresh connection (`Host: addr` unless `headers` name one).
pub async fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

/// A zip of `(name, unix mode, contents)` entries, as a user's packaging script would make it.
#[cfg(feature = "manage")]
pub fn zip_of(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, mode, data) in entries {
        let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
        if mode & 0o170_000 == 0o120_000 {
            let target = std::str::from_utf8(data).expect("a symlink target");
            writer
                .add_symlink(*name, target, options)
                .expect("zip entry");
        } else {
            writer.start_file(*name, options).expect("zip entry");
            writer.write_all(data).expect("zip entry");
        }
    }
    writer.finish().expect("zip").into_inner()
}

/// Whether process `pid` is gone (or a zombie waiting to be reaped).
pub fn process_gone(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status
            .lines()
            .any(|l| l.starts_with("State:") && (l.contains('Z') || l.contains('X'))),
    }
}

/// Waits until `pid` is gone, up to a few seconds.
pub async fn wait_gone(pid: u64) -> bool {
    for _ in 0..100 {
        if process_gone(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Everything the emulator logs at WARN and above in this test process (one global subscriber:
/// the emulator logs from runtime worker threads).
pub fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || Sink(sink.clone()))
            .init();
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A scratch directory, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The events the fixture recorded in `file`, one JSON value a line.
pub fn events(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Waits (bounded) until `file` holds `n` events, and returns them.
pub async fn wait_for_events(file: &Path, n: usize) -> Vec<serde_json::Value> {
    bounded(async {
        loop {
            let found = events(file);
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}
