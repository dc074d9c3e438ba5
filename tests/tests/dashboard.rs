//! The dashboard in a real browser: headless Chromium, driven through chromedriver (WebDriver,
//! with fantoccini), opens `/_lambkin` of `lambkin watch` on a function project. The page loads
//! without console errors; an invocation made over HTTP appears in the list as soon as it ends
//! (pushed by the live feed); opening it shows its event, response and logs; replay runs it
//! again; a compile error shows the compiler's diagnostics. Screenshots are saved under the
//! target dir (`lambkin-artifacts/`).
//!
//! Needs Debian's `chromium` and `chromium-driver`; skipped without them unless `CI` or
//! `LAMBKIN_REQUIRE_CHROMIUM` is set.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use lambkin_tests::browser::{chromedriver, chromium};
use lambkin_tests::project::{Project, REBUILD, Watching, lambkin_binary, target_dir};
use lambkin_tests::{STEP, request};
use serde_json::{Value, json};

/// How soon an invocation must show in the list once its caller has the answer. The list is
/// pushed to (Server-Sent Events), not polled, so this is a wide margin.
const LIVE: Duration = Duration::from_secs(1);

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    _process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start(chromedriver: &Path) -> Driver {
        // A free port (chromedriver takes no port 0).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = tokio::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        tokio::time::timeout(STEP, async {
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .expect("chromedriver listens");
        Driver {
            _process: process,
            url,
        }
    }

    /// A headless Chromium session keeping the page's console messages.
    async fn session(&self, chromium: &Path, profile: &Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-proxy-server", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1400,1100",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        capabilities.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        tokio::time::timeout(
            STEP,
            ClientBuilder::new(connector)
                .capabilities(capabilities)
                .connect(&self.url),
        )
        .await
        .expect("a WebDriver session in time")
        .expect("a WebDriver session")
    }
}

/// chromedriver's `se/log` command: the browser's console messages since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// Console messages at error level (`SEVERE`) so far.
async fn console_errors(client: &Client) -> Vec<Value> {
    let log = client.issue_cmd(BrowserLog).await.unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .cloned()
        .collect()
}

/// Evaluates `script` (a function body returning a value) in the page until it returns a
/// value other than `null`/`false`, bounded by `limit`; on failure, says what the page shows.
async fn until(
    client: &Client,
    limit: Duration,
    what: &str,
    script: &str,
    args: Vec<Value>,
) -> Value {
    let waited = tokio::time::timeout(limit, async {
        loop {
            let value = client.execute(script, args.clone()).await.unwrap();
            if !value.is_null() && value != json!(false) {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    match waited {
        Ok(value) => value,
        Err(_) => {
            let shown = client
                .execute("return document.querySelector('main').innerText;", vec![])
                .await
                .unwrap();
            let errors = console_errors(client).await;
            panic!(
                "the page never showed {what}; console errors: {errors:?}; it shows:\n{}",
                shown.as_str().unwrap_or_default()
            )
        }
    }
}

/// Waits until the element at `selector` is shown and its text contains `needle`.
async fn until_text(client: &Client, limit: Duration, selector: &str, needle: &str) -> String {
    let script = "const e = document.querySelector(arguments[0]); \
                  return e && !e.closest('[hidden]') && e.textContent.includes(arguments[1]) ? e.textContent : null;";
    let what = format!("{needle:?} in {selector}");
    let text = until(
        client,
        limit,
        &what,
        script,
        vec![json!(selector), json!(needle)],
    )
    .await;
    text.as_str().unwrap().to_owned()
}

/// Saves a screenshot of the page as `lambkin-artifacts/{name}.png` under the target dir.
async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let dir = target_dir().join("lambkin-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.png"));
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(&path, png).unwrap();
    path
}

/// Invokes the project's function through the Invoke API; its request id.
async fn invoke(addr: SocketAddr, function: &str, payload: &Value) -> String {
    let path = format!("/2015-03-31/functions/{function}/invocations");
    let answer = request(addr, "POST", &path, &[], payload.to_string()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.headers["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_follows_invocations_replays_and_shows_build_errors() {
    let (Some(chromium), Some(chromedriver)) = (chromium().await, chromedriver().await) else {
        return;
    };
    let project = Project::new("dashboard");
    let mut lambkin = Watching::start(&lambkin_binary(false), &project, &target_dir()).await;
    let addr = lambkin.addr;
    let driver = Driver::start(&chromedriver).await;
    let profile =
        std::env::temp_dir().join(format!("lambkin-dashboard-profile-{}", std::process::id()));
    let client = driver.session(&chromium, &profile).await;

    client
        .goto(&format!("http://{addr}/_lambkin"))
        .await
        .unwrap();
    until_text(&client, STEP, "#connection", "live").await;
    until_text(&client, STEP, "#function-rows", "dashboard").await;
    until_text(&client, STEP, "#build", "ready").await;

    // An invocation made over HTTP shows as soon as it ended.
    let request_id = invoke(addr, "dashboard", &json!({ "from": "the test" })).await;
    let row = format!("#invocation-rows tr[data-request-id=\"{request_id}\"]");
    let cells = until_text(&client, LIVE, &row, "Invoke API").await;
    assert!(
        cells.contains("success") && cells.contains("cold, init"),
        "{cells}"
    );

    // Its detail: event, response, logs and REPORT.
    client
        .find(Locator::Css(&row))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until_text(&client, STEP, "#detail-request-id", &request_id).await;
    until_text(&client, STEP, "#detail-event", "\"from\": \"the test\"").await;
    until_text(&client, STEP, "#detail-response", "\"version\": 1").await;
    until_text(
        &client,
        STEP,
        "#detail-log",
        &format!("START RequestId: {request_id}"),
    )
    .await;
    until_text(&client, STEP, "#detail-report", "Billed Duration").await;

    // Filters: a status none has hides every row; the request id finds its row.
    let rows = |n: usize| {
        format!("return document.querySelectorAll('#invocation-rows tr').length === {n};")
    };
    client
        .find(Locator::Css("#filter-status"))
        .await
        .unwrap()
        .select_by_value("error")
        .await
        .unwrap();
    until(&client, STEP, "no error rows", &rows(0), vec![]).await;
    client
        .find(Locator::Css("#filter-status"))
        .await
        .unwrap()
        .select_by_value("")
        .await
        .unwrap();
    client
        .find(Locator::Css("#filter-text"))
        .await
        .unwrap()
        .send_keys(&request_id)
        .await
        .unwrap();
    until(&client, STEP, "the one matching row", &rows(1), vec![]).await;
    client
        .find(Locator::Css("#filter-text"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();

    // Replay runs the event again, as a new invocation.
    client
        .find(Locator::Css("#replay"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let replayed = until_text(&client, STEP, "#replay-result", "replayed as").await;
    assert!(replayed.ends_with("success"), "{replayed}");
    // The detail is now the replay's.
    until_text(&client, STEP, "#detail-summary", "replay").await;
    let replay_row = "return [...document.querySelectorAll('#invocation-rows tr')].some(r => r.cells[2].textContent === 'replay');";
    until(&client, STEP, "the replay in the list", replay_row, vec![]).await;
    until_text(&client, STEP, "#detail-event", "\"from\": \"the test\"").await;
    screenshot(&client, "dashboard").await;

    // A compile error: the page shows the compiler's diagnostics.
    project.answer("undefined_name");
    lambkin
        .wait_for(REBUILD, |l| l.contains("build failed"))
        .await;
    until_text(
        &client,
        STEP,
        "#diagnostics",
        "cannot find value `undefined_name`",
    )
    .await;
    until_text(&client, STEP, "#build", "failed").await;
    let path = screenshot(&client, "dashboard-build-failed").await;
    eprintln!("screenshots in {}", path.parent().unwrap().display());

    let errors = console_errors(&client).await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    client.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&profile);
}
