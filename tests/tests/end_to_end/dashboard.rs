//! The dashboard in a real browser: headless Chromium, driven through chromedriver (WebDriver,
//! with fantoccini), opens `/_lambkin` of `lambkin watch` on a function project. The page loads
//! without console errors; an invocation made over HTTP appears in the list as soon as it ends
//! (pushed by the live feed); opening it shows its event, response and logs; replay runs it
//! again; a compile error shows the compiler's diagnostics. A SAM project's schedule shows as an
//! event source, and a Step Functions execution opens as its state machine's graph with the
//! path it took marked. Screenshots are saved under the target dir (`lambkin-artifacts/`).
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
use lambkin_tests::project::{Project, REBUILD, Watching, lambkin_binary, repository, target_dir};
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
/// Clicks what `selector` finds, in one script: the live page may render a row again between a
/// WebDriver find and its click (a stale element).
async fn click(client: &Client, selector: &str) {
    let script = "const e = document.querySelector(arguments[0]); if (!e) return null; e.click(); return true;";
    until(client, STEP, selector, script, vec![json!(selector)]).await;
}

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
    let mut lambkin = Watching::start(&lambkin_binary(), &project, &target_dir()).await;
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

    // An invocation made over HTTP shows as soon as it ended, pushed by the live feed: the
    // page is not reloaded (its marker stays) and the list is not fetched again.
    let list_fetches = "return [window.lambkinTestMarker === true, \
        performance.getEntriesByType('resource').filter(e => new URL(e.name).pathname === '/_lambkin/invocations').length];";
    client
        .execute("window.lambkinTestMarker = true;", vec![])
        .await
        .unwrap();
    // The list the page fetched once it followed the feed.
    let loaded = "return performance.getEntriesByType('resource').some(e => new URL(e.name).pathname === '/_lambkin/invocations');";
    until(&client, STEP, "the list loaded", loaded, vec![]).await;
    let before = client.execute(list_fetches, vec![]).await.unwrap();
    assert_eq!(before[0], true);
    let request_id = invoke(addr, "dashboard", &json!({ "from": "the test" })).await;
    let row = format!("#invocation-rows tr[data-request-id=\"{request_id}\"]");
    let cells = until_text(&client, LIVE, &row, "Invoke API").await;
    assert!(
        cells.contains("success") && cells.contains("cold, init"),
        "{cells}"
    );
    let after = client.execute(list_fetches, vec![]).await.unwrap();
    assert_eq!(after, before, "the row came from the live feed");

    // Its detail: event, response, logs and REPORT.
    click(&client, &row).await;
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
    click(&client, "#replay").await;
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

/// A function on a schedule and a state machine invoking it: a Choice into a Parallel (one
/// branch calls the function), a Map, then the end; `Refused` is never taken.
const WORKFLOW_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {fixtures}
      Handler: echo
      Runtime: provided.al2023
      Events:
        Nightly:
          Type: Schedule
          Properties:
            Name: nightly
            Schedule: rate(1 day)
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: flow
      DefinitionSubstitutions:
        EchoArn: !GetAtt Echo.Arn
      Definition:
        StartAt: Route
        States:
          Route:
            Type: Choice
            Choices:
              - Variable: $.go
                BooleanEquals: true
                Next: Fan
            Default: Refused
          Refused:
            Type: Fail
            Error: Refused
          Fan:
            Type: Parallel
            ResultPath: $.fan
            Next: Each
            Branches:
              - StartAt: Call
                States:
                  Call:
                    Type: Task
                    Resource: ${EchoArn}
                    End: true
              - StartAt: Note
                States:
                  Note:
                    Type: Pass
                    End: true
          Each:
            Type: Map
            ItemsPath: $.items
            ResultPath: $.each
            Next: Done
            ItemProcessor:
              StartAt: Item
              States:
                Item:
                  Type: Pass
                  End: true
          Done:
            Type: Succeed
"#;

/// An `Authorization` header of SigV4's form, as the Step Functions API requires (any keys).
const SIGNED_STATES: (&str, &str) = (
    "Authorization",
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_sources_and_draws_an_executions_path() {
    let (Some(chromium), Some(chromedriver)) = (chromium().await, chromedriver().await) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("lambkin-dashboard-flow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = repository().join("tests").display().to_string();
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        WORKFLOW_TEMPLATE.replace("{fixtures}", &fixtures),
    )
    .unwrap();
    let args = ["--no-reload", "--template", template.to_str().unwrap()];
    // Run in the repository: the template's functions are the tests crate's fixtures.
    let lambkin = Watching::start_in(&lambkin_binary(), repository(), &args, &target_dir()).await;
    let addr = lambkin.addr;
    let driver = Driver::start(&chromedriver).await;
    let profile = dir.join("profile");
    let client = driver.session(&chromium, &profile).await;
    client
        .goto(&format!("http://{addr}/_lambkin"))
        .await
        .unwrap();
    until_text(&client, STEP, "#connection", "live").await;

    // The schedule, as an event source.
    let source = until_text(
        &client,
        STEP,
        "#section-sources tr[data-source=\"nightly\"]",
        "Echo",
    )
    .await;
    assert!(
        source.contains("schedule") && source.contains("enabled"),
        "{source}"
    );

    // An execution, started over the Step Functions API.
    let body = json!({
        "stateMachineArn": "arn:aws:states:us-east-1:012345678912:stateMachine:flow",
        "name": "run-1",
        "input": json!({"go": true, "items": [1, 2, 3]}).to_string(),
    });
    let headers = [
        ("X-Amz-Target", "AWSStepFunctions.StartExecution"),
        ("Content-Type", "application/x-amz-json-1.0"),
        SIGNED_STATES,
    ];
    let started = request(addr, "POST", "/", &headers, body.to_string()).await;
    assert_eq!(started.status, 200, "{started:?}");
    let arn = started.body["executionArn"].as_str().unwrap().to_owned();
    let row = format!("tr[data-execution=\"{arn}\"]");
    until_text(&client, STEP, &row, "SUCCEEDED").await;

    // Opened: the graph, with the path taken marked.
    click(&client, &row).await;
    until_text(&client, STEP, "#execution-name", "run-1").await;
    until_text(&client, STEP, "#execution-output", "\"each\"").await;
    let graph = "#execution-graph svg.machine";
    let states = until(
        &client,
        STEP,
        "the graph's states",
        &format!(
            "const states = [...document.querySelectorAll('{graph} g.state')]; \
             return states.length ? states.map(s => [s.dataset.state, s.classList.contains('taken')]) : null;"
        ),
        vec![],
    )
    .await;
    let mut states: Vec<(String, bool)> = serde_json::from_value(states).unwrap();
    states.sort();
    let expected = [
        ("Call", true),
        ("Done", true),
        ("Each", true),
        ("Fan", true),
        ("Item", true),
        ("Note", true),
        ("Refused", false),
        ("Route", true),
    ];
    let expected: Vec<(String, bool)> = expected
        .iter()
        .map(|(name, taken)| ((*name).to_owned(), *taken))
        .collect();
    assert_eq!(states, expected);
    // Nested machines are drawn inside their state: the Map's Item within Each's box.
    let inside = client
        .execute(
            &format!(
                "const box = (n) => document.querySelector(`{graph} g.state[data-state=\"${{n}}\"] > rect`).getBBox(); \
                 const outer = box('Each'), inner = box('Item'); \
                 return inner.x > outer.x && inner.y > outer.y && inner.x + inner.width < outer.x + outer.width \
                   && inner.y + inner.height < outer.y + outer.height;"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(inside, json!(true));
    let edges = client
        .execute(
            &format!(
                "return [...document.querySelectorAll('{graph} path.edge[data-from]')] \
                 .map(e => [e.dataset.from, e.dataset.to, e.classList.contains('taken')]);"
            ),
            vec![],
        )
        .await
        .unwrap();
    let mut edges: Vec<(String, String, bool)> = serde_json::from_value(edges).unwrap();
    edges.sort();
    let edge = |from: &str, to: &str, taken: bool| (from.to_owned(), to.to_owned(), taken);
    assert_eq!(
        edges,
        [
            edge("Each", "Done", true),
            edge("Fan", "Each", true),
            edge("Route", "Fan", true),
            edge("Route", "Refused", false),
        ]
    );
    let item = client
        .find(Locator::Css(&format!(
            "{graph} g.state[data-state=\"Item\"] text"
        )))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(item, "Item ×3");
    client
        .execute(
            "document.getElementById('execution').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    let path = screenshot(&client, "dashboard-workflow").await;
    eprintln!("screenshot {}", path.display());

    let errors = console_errors(&client).await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    client.close().await.unwrap();
    drop(lambkin);
    let _ = std::fs::remove_dir_all(&dir);
}
