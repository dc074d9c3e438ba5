//! A real browser attacks `lambkin watch`: headless Chromium loads a page of another origin
//! (`http://127.0.0.2:PORT`, served by this test) that tries what any web page could try
//! against the emulator on 127.0.0.1 — `no-cors` fetches of CreateFunction and Invoke, and
//! auto-submitted `enctype=text/plain` forms carrying the same JSON. Nothing may be created or
//! run. Controls keep the test honest: the same page reaches the function through the API
//! Gateway front (the user's web API, open to any origin), and the emulator logs a refusal for
//! each attack request, so the attack did arrive.
//!
//! A second page calls an API with `fetch` and credentials: it succeeds where the API (or the
//! function URL) has CORS configured for its origin and is blocked by the browser where it has
//! none.
//!
//! Needs Debian's `chromium` (`apt-get install chromium`). Without it the test is skipped with a
//! note, unless `CI` or `LAMBKIN_REQUIRE_CHROMIUM` is set.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use lambkin_tests::browser::chromium;
use lambkin_tests::project::{Watching, lambkin_binary, target_dir};
use lambkin_tests::{SIGNED, STEP, request};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long Chromium may take to load the page and run every attempt.
const BROWSER_LIMIT: Duration = Duration::from_secs(90);

/// The requests of the page that the emulator must refuse (two fetches of the Lambda API, three
/// forms: see `PAGE`).
const ATTACKS: usize = 5;

/// The victim: a Python `bootstrap` that appends what invoked it to `runs.log` beside it (the
/// API Gateway path, or `invoke` for the Invoke API).
const VICTIM: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
log = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs.log")
while True:
    with urllib.request.urlopen(api + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    with open(log, "a") as f:
        f.write(event.get("rawPath", "invoke") + "\n")
    body = json.dumps({"statusCode": 200, "body": "ran"}).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body, method="POST")).read()
"#;

/// The attacker's page. `@@EMULATOR@@`, `@@CREATE@@` (a CreateFunction body as a JS string) and
/// `@@FORM_NAME@@` / `@@FORM_VALUE@@` (the same body split for a text/plain form) are filled in.
const PAGE: &str = r#"<!doctype html>
<html><body><script>
const emulator = "http://@@EMULATOR@@";
const create = @@CREATE@@;
// Resolves when `frame` has loaded an answer, or after a while (an answer may never come).
function loaded(frame) {
  return new Promise(resolve => {
    frame.onload = () => resolve("loaded");
    setTimeout(() => resolve("timeout"), 10000);
  });
}
// Submits a text/plain form with one field into a frame of its own, as an attacker's page
// does to stay on screen.
async function submit(path, name, value) {
  const frame = document.createElement("iframe");
  frame.name = "f" + path.replace(/\W/g, "");
  document.body.appendChild(frame);
  const done = loaded(frame);
  const form = document.createElement("form");
  form.method = "POST";
  form.enctype = "text/plain";
  form.action = emulator + path;
  form.target = frame.name;
  const field = document.createElement("input");
  field.type = "hidden";
  field.name = name;
  field.value = value;
  form.appendChild(field);
  document.body.appendChild(form);
  form.submit();
  return path + ":" + await done;
}
async function attack() {
  const results = [];
  const fetches = [
    ["/2015-03-31/functions", create],
    ["/2015-03-31/functions/pwned/invocations", "{}"],
    ["/from-fetch", "{}"],
  ];
  for (const [path, body] of fetches) {
    try {
      await fetch(emulator + path, { method: "POST", mode: "no-cors", body });
      results.push(path + ":sent");
    } catch (e) {
      results.push(path + ":failed " + e);
    }
  }
  results.push(await submit("/2015-03-31/functions", @@FORM_NAME@@, @@FORM_VALUE@@));
  results.push(await submit("/2015-03-31/functions/pwned-form/invocations", "{\"a\":\"", "\"}"));
  results.push(await submit("/2015-03-31/functions/victim/invocations", "{\"a\":\"", "\"}"));
  results.push(await submit("/from-form", "{\"a\":\"", "\"}"));
  const report = document.createElement("pre");
  report.id = "report";
  report.textContent = "DONE " + results.join(" | ");
  document.body.appendChild(report);
}
attack();
</script></body></html>
"#;

/// A SAM project in a temp dir whose one function, `victim`, is [`VICTIM`] behind an HTTP API.
struct Project(PathBuf);

/// The template of [`Project`]: `victim` answers every path.
const TEMPLATE: &str = "Transform: AWS::Serverless-2016-10-31\nResources:\n  victim:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: ./victim\n      Handler: bootstrap\n      Runtime: provided.al2023\n      Events:\n        All:\n          Type: HttpApi\n";

impl Project {
    /// The project `name` (unique per test) of `template`.
    fn new(name: &str, template: &str) -> Project {
        let dir = std::env::temp_dir().join(format!("lambkin-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("victim")).unwrap();
        let bootstrap = dir.join("victim/bootstrap");
        std::fs::write(&bootstrap, VICTIM).unwrap();
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join("template.yaml"), template).unwrap();
        Project(dir)
    }

    /// What invoked the victim, one line each.
    fn runs(&self) -> String {
        std::fs::read_to_string(self.0.join("victim/runs.log")).unwrap_or_default()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CreateFunction body for `pwned` whose `bootstrap` creates `marker` when it runs.
fn create_body(marker: &Path) -> Value {
    use std::io::Write;
    let bootstrap = format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display());
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(bootstrap.as_bytes()).unwrap();
    let zip = writer.finish().unwrap().into_inner();
    json!({
        "FunctionName": "pwned",
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::123456789012:role/lambda-exec",
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
    })
}

/// Serves `page` to every request on `listener` (the attacker's site) until the task is dropped.
async fn serve_page(listener: TcpListener, page: String) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let page = page.clone();
        tokio::spawn(async move {
            // One request per connection: read its head, answer, close.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        });
    }
}

/// Loads the page at `site` in headless Chromium (profile in `profile`), bounded by
/// [`BROWSER_LIMIT`], and returns the DOM once its scripts are done.
async fn load(chromium: &Path, profile: &Path, site: std::net::SocketAddr) -> String {
    let browser = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-proxy-server",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://{site}/"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let dom = tokio::time::timeout(BROWSER_LIMIT, browser)
        .await
        .expect("chromium did not finish")
        .expect("chromium runs");
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_page_creates_and_runs_nothing() {
    let Some(chromium) = chromium().await else {
        return;
    };
    let project = Project::new("browser", TEMPLATE);
    let mut lambkin = Watching::start_in(
        &lambkin_binary(),
        &project.0,
        &["--no-reload"],
        &target_dir(),
    )
    .await;
    let addr = lambkin.addr;
    let marker = project.0.join("pwned-ran");

    // The attacker's site: another origin (127.0.0.2 is loopback too, but another site).
    let site = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let site_addr = site.local_addr().unwrap();
    let create = create_body(&marker);
    let mut open = create.to_string();
    open.pop(); // the closing brace: the form's value supplies it
    let page = PAGE
        .replace("@@EMULATOR@@", &addr.to_string())
        .replace(
            "@@FORM_NAME@@",
            &json!(format!("{open},\"padding\":\"")).to_string(),
        )
        .replace("@@FORM_VALUE@@", &json!("\"}").to_string())
        .replace("@@CREATE@@", &json!(create.to_string()).to_string());
    let server = tokio::spawn(serve_page(site, page));

    let dom = load(&chromium, &project.0.join("chromium-profile"), site_addr).await;
    server.abort();

    // The page ran every attempt.
    assert!(dom.contains("DONE "), "the page did not finish: {dom}");
    // It created nothing.
    let listed = request(addr, "GET", "/2015-03-31/functions", &[SIGNED], Vec::new()).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    let names: Vec<&str> = listed.body["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["FunctionName"].as_str())
        .collect();
    assert_eq!(names, ["victim"]);
    assert!(!marker.exists(), "the attacker's bootstrap ran");
    // It ran the victim only through the API Gateway front (open to any origin), never
    // through the Invoke API (that would log `invoke`).
    let runs = project.runs();
    let mut runs: Vec<&str> = runs.lines().collect();
    runs.sort_unstable();
    assert_eq!(runs, ["/from-fetch", "/from-form"], "{dom}");
    // Each attack arrived and was refused, with a log line saying why.
    for _ in 0..ATTACKS {
        let line = lambkin
            .wait_for(STEP, |l| l.contains("refused request:"))
            .await;
        assert!(line.contains("Cross-"), "{line}");
    }
}

/// A page that calls the API with credentials and a JSON body (so with a preflight): `/open`
/// has CORS configured for the page's origin, `/closed` none; the function URL (`/url`) has.
const CORS_PAGE: &str = r#"<!doctype html>
<html><body><script>
async function call(base, path) {
  try {
    const answer = await fetch(base + path, {
      method: "PUT",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    return path + ":" + answer.status + ":" + await answer.text();
  } catch (e) {
    return path + ":blocked";
  }
}
(async () => {
  const api = "http://@@EMULATOR@@", url = "http://@@URL@@";
  const results = [await call(api, "/open"), await call(api, "/closed"), await call(url, "/url")];
  const report = document.createElement("pre");
  report.textContent = "DONE " + results.join(" | ");
  document.body.appendChild(report);
})();
</script></body></html>
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_another_origin_calls_an_api_only_with_cors_configured() {
    let Some(chromium) = chromium().await else {
        return;
    };
    let site = TcpListener::bind("127.0.0.2:0").await.unwrap();
    let site_addr = site.local_addr().unwrap();
    let template = format!(
        "Transform: AWS::Serverless-2016-10-31
Resources:
  Web:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [http://{site_addr}]
        AllowMethods: [GET, PUT]
        AllowHeaders: [content-type]
        AllowCredentials: true
  victim:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ./victim
      Handler: bootstrap
      Runtime: provided.al2023
      FunctionUrlConfig:
        AuthType: NONE
        Cors:
          AllowOrigins: [http://{site_addr}]
          AllowMethods: [PUT]
          AllowHeaders: [content-type]
          AllowCredentials: true
      Events:
        Open:
          Type: HttpApi
          Properties: {{Path: /open, Method: PUT, ApiId: !Ref Web}}
        Closed:
          Type: HttpApi
          Properties: {{Path: /closed, Method: ANY}}
"
    );
    let project = Project::new("browser-cors", &template);
    let mut lambkin = Watching::start_in(
        &lambkin_binary(),
        &project.0,
        &["--no-reload"],
        &target_dir(),
    )
    .await;
    let line = lambkin.wait_for(STEP, |l| l.contains("function URL")).await;
    let url = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .unwrap()
        .trim_end_matches('/');
    let page = CORS_PAGE
        .replace("@@EMULATOR@@", &lambkin.addr.to_string())
        .replace("@@URL@@", url);
    let server = tokio::spawn(serve_page(site, page));
    let dom = load(&chromium, &project.0.join("chromium-profile"), site_addr).await;
    server.abort();

    assert!(
        dom.contains("DONE /open:200:ran | /closed:blocked | /url:200:ran"),
        "{dom}"
    );
    // `/open`: the gateway answered the preflight, the function ran the PUT. `/closed`: the
    // preflight went to the function, whose answer allowed nothing, so the PUT was never sent.
    // `/url`: the function URL answered the preflight, the function ran the PUT.
    let runs = project.runs();
    let mut runs: Vec<&str> = runs.lines().collect();
    runs.sort_unstable();
    assert_eq!(runs, ["/closed", "/open", "/url"], "{dom}");
}
