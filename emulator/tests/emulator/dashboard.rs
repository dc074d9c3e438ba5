//! The dashboard under `/_lambkin`, over HTTP against a real emulator and the fixture function:
//! the page for browsers and the JSON model for everyone else, the live feed (Server-Sent
//! Events), one invocation's detail, the token-guarded replay, the recorder's bounds, and the
//! Prometheus metrics (parsed by a Prometheus text-format parser).

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;

use common::{Reply, Running, bounded, fixture, request, states_call};
use lambkin_emulator::{Emulator, Options, RecorderLimits};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The page's replay token, read from the page as a browser would.
async fn token(addr: SocketAddr) -> String {
    let page = request(addr, "GET", "/_lambkin", &[("Accept", "text/html")], b"").await;
    let html = page.text();
    let start = html
        .find("name=\"lambkin-token\" content=\"")
        .expect("a token")
        + 30;
    html[start..start + 32].to_owned()
}

/// Follows `/_lambkin/live`: returns once the emulator answered (the subscription is in place).
async fn follow(addr: SocketAddr) -> TcpStream {
    let mut stream = bounded(TcpStream::connect(addr)).await.unwrap();
    let head =
        format!("GET /_lambkin/live HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let seen = read_until(&mut stream, "\r\n\r\n").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("content-type: text/event-stream"), "{seen}");
    stream
}

/// Reads `stream` until what was read contains `needle`; returns what was read.
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    bounded(async {
        let mut buffer = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains(needle) {
            let n = stream.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the feed ended: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buffer[..n]);
        }
    })
    .await;
    String::from_utf8_lossy(&seen).into_owned()
}

fn request_id(reply: &Reply) -> String {
    reply
        .header("x-amzn-requestid")
        .expect("a request id")
        .to_owned()
}

/// The recorded invocation of `request_id` (its summary).
async fn summary(addr: SocketAddr, request_id: &str) -> Value {
    let list = request(addr, "GET", "/_lambkin/invocations", &[], b"")
        .await
        .json();
    list["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["requestId"] == request_id)
        .cloned()
        .unwrap_or_else(|| panic!("{request_id} not recorded: {list}"))
}

async fn detail(addr: SocketAddr, id: &Value) -> Value {
    let path = format!("/_lambkin/invocations/{id}");
    let reply = request(addr, "GET", &path, &[], b"").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_get_the_page_and_everyone_else_the_json_model() {
    let running = Running::start(vec![fixture("echo", "echo")]).await;
    let addr = running.addr;
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = request(addr, "GET", "/_lambkin", &[("Accept", browser)], b"").await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(page.text().contains("/_lambkin/assets/dashboard.js"));
    assert_eq!(token(addr).await.len(), 32);
    for (asset, kind) in [
        ("dashboard.js", "text/javascript"),
        ("dashboard.css", "text/css"),
    ] {
        let reply = request(addr, "GET", &format!("/_lambkin/assets/{asset}"), &[], b"").await;
        assert_eq!(reply.status, 200);
        assert!(reply.header("content-type").unwrap().starts_with(kind));
    }
    request(addr, "GET", "/_lambkin/assets/nope.js", &[], b"")
        .await
        .assert_aws_error(404, "ResourceNotFoundException");

    // curl (`*/*`), JSON clients and clients naming no type get the model.
    for accept in [Some("*/*"), Some("application/json"), None] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let model = request(addr, "GET", "/_lambkin", &headers, b"").await;
        assert_eq!(
            model.header("content-type"),
            Some("application/json"),
            "{accept:?}"
        );
        let model = model.json();
        assert_eq!(model["functions"], json!(["echo"]));
        assert_eq!(model["build"], "ready");
        let echo = &model["details"][0];
        assert_eq!(
            (&echo["name"], &echo["memoryMb"]),
            (&json!("echo"), &json!(128)),
            "{echo}"
        );
        assert_eq!(echo["environment"], json!(["FIXTURE"]));
        assert_eq!(echo["instances"], json!([]));
        assert_eq!(
            model["charts"]["perSecond"].as_array().map(Vec::len),
            Some(60)
        );
    }
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_arrive_live_and_keep_event_answer_logs_and_report() {
    let running = Running::start(vec![fixture("echo", "echo"), fixture("broken", "error")]).await;
    let addr = running.addr;
    let mut feed = follow(addr).await;

    let ok = running
        .invoke("echo", &[], br#"{"hello":"dashboard"}"#)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let ok_id = request_id(&ok);
    let seen = read_until(&mut feed, &ok_id).await;
    assert!(seen.contains("event: invocation"), "{seen}");

    let failed = running.invoke("broken", &[], b"{}").await;
    assert_eq!(failed.header("x-amz-function-error"), Some("Unhandled"));
    let failed_id = request_id(&failed);
    read_until(&mut feed, &failed_id).await;

    let first = summary(addr, &ok_id).await;
    assert_eq!(first["function"], "echo");
    assert_eq!(first["trigger"], "Invoke API");
    assert_eq!(first["status"], "success");
    assert_eq!(first["coldStart"], true, "{first}");
    assert!(first["initDurationMs"].as_f64().is_some(), "{first}");
    assert!(first["billedDurationMs"].as_u64() >= Some(1), "{first}");
    assert_eq!(first["memorySizeMb"], 128);
    assert!(first["maxMemoryUsedMb"].as_u64() > Some(0), "{first}");
    let whole = detail(addr, &first["id"]).await;
    assert_eq!(whole["event"]["body"], r#"{"hello":"dashboard"}"#);
    assert_eq!(whole["response"]["body"], ok.text());
    let log = whole["log"].as_str().unwrap();
    assert!(log.contains(&format!("START RequestId: {ok_id}")), "{log}");
    assert!(log.contains(&format!("REPORT RequestId: {ok_id}")), "{log}");
    assert!(log.contains("Init Duration"), "{log}");
    assert_eq!(whole["replayable"], true);

    let broken = summary(addr, &failed_id).await;
    assert_eq!(broken["status"], "error");
    assert_eq!(broken["errorType"], failed.json()["errorType"], "{broken}");
    assert_eq!(
        detail(addr, &broken["id"]).await["response"]["body"],
        failed.text()
    );

    // A second call to the warm instance is no cold start.
    let again = running.invoke("echo", &[], b"{}").await;
    let again = summary(addr, &request_id(&again)).await;
    assert_eq!(
        (again["coldStart"].clone(), again["instance"].clone()),
        (json!(false), first["instance"].clone())
    );

    // The model shows the instance, frozen between invocations.
    let model = request(addr, "GET", "/_lambkin", &[], b"").await.json();
    let echo = model["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "echo")
        .unwrap();
    assert_eq!(
        echo["instances"],
        json!([{ "pid": first["instance"], "state": "frozen" }])
    );
    assert_eq!(model["charts"]["durationMs"]["echo"]["count"], 2);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_needs_the_pages_token_and_runs_the_event_again() {
    let running = Running::start(vec![fixture("echo", "echo")]).await;
    let addr = running.addr;
    let original = running.invoke("echo", &[], br#"{"n":1}"#).await;
    let recorded = summary(addr, &request_id(&original)).await;
    let path = format!("/_lambkin/invocations/{}/replay", recorded["id"]);
    let token = token(addr).await;

    request(addr, "POST", &path, &[], b"")
        .await
        .assert_aws_error(403, "AccessDeniedException");
    request(addr, "POST", &path, &[("x-lambkin-token", "guess")], b"")
        .await
        .assert_aws_error(403, "AccessDeniedException");
    // Another site's page holding the token is still refused by the guard.
    let cross_site = [
        ("x-lambkin-token", token.as_str()),
        ("Sec-Fetch-Site", "cross-site"),
    ];
    request(addr, "POST", &path, &cross_site, b"")
        .await
        .assert_aws_error(403, "AccessDeniedException");
    // Every dashboard path checks the Host (DNS rebinding) and refuses other sites' pages.
    for path in [
        "/_lambkin/live",
        "/_lambkin/metrics",
        "/_lambkin/invocations",
        path.as_str(),
    ] {
        let rebound = [
            ("Host", "evil.example"),
            ("x-lambkin-token", token.as_str()),
        ];
        let method = if path.ends_with("/replay") {
            "POST"
        } else {
            "GET"
        };
        request(addr, method, path, &rebound, b"")
            .await
            .assert_aws_error(403, "AccessDeniedException");
        let foreign = [
            ("Origin", "http://evil.example"),
            ("x-lambkin-token", token.as_str()),
        ];
        request(addr, method, path, &foreign, b"")
            .await
            .assert_aws_error(403, "AccessDeniedException");
    }
    request(
        addr,
        "POST",
        "/_lambkin/invocations/999/replay",
        &[("x-lambkin-token", &token)],
        b"",
    )
    .await
    .assert_aws_error(404, "ResourceNotFoundException");

    // None of the refused replays ran.
    let list = request(addr, "GET", "/_lambkin/invocations", &[], b"")
        .await
        .json();
    assert_eq!(
        list["invocations"].as_array().map(Vec::len),
        Some(1),
        "{list}"
    );

    let replayed = request(
        addr,
        "POST",
        &path,
        &[
            ("x-lambkin-token", &token),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        b"",
    )
    .await;
    assert_eq!(replayed.status, 200, "{}", replayed.text());
    let replayed = replayed.json();
    assert_eq!(
        (&replayed["trigger"], &replayed["status"]),
        (&json!("replay"), &json!("success")),
        "{replayed}"
    );
    assert_ne!(replayed["requestId"], recorded["requestId"]);
    let whole = detail(addr, &replayed["id"]).await;
    assert_eq!(whole["event"]["body"], r#"{"n":1}"#);
    // The fixture echoes the event it got, and the request id it ran under.
    let answer: Value = serde_json::from_str(whole["response"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(answer["event"], json!({ "n": 1 }));
    assert_eq!(answer["request_id"], replayed["requestId"]);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_of_an_api_gateway_request_goes_through_its_route_again() {
    let emulator = Emulator::with_options(vec![fixture("echo", "echo")], Options::default())
        .expect("valid functions");
    let running = Running::serve(emulator.clone()).await;
    let addr = running.addr;
    let original = request(
        addr,
        "POST",
        "/items/7?x=1",
        &[("x-probe", "first"), ("Content-Type", "application/json")],
        br#"{"n":1}"#,
    )
    .await;
    assert_eq!(original.status, 200, "{}", original.text());
    let list = request(addr, "GET", "/_lambkin/invocations", &[], b"")
        .await
        .json();
    let recorded = list["invocations"][0].clone();
    assert_eq!(recorded["trigger"], "API Gateway $default", "{list}");
    let token = token(addr).await;
    let replay = |id: &Value| {
        let path = format!("/_lambkin/invocations/{id}/replay");
        let token = token.clone();
        async move { request(addr, "POST", &path, &[("x-lambkin-token", &token)], b"").await }
    };
    let replayed = replay(&recorded["id"]).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text());
    let summary = replayed.json();
    assert_eq!(summary["trigger"], "replay of API Gateway $default");
    assert_eq!(summary["status"], "success");
    assert_eq!(
        replayed.header("x-amzn-requestid"),
        summary["requestId"].as_str()
    );

    // API Gateway made a new event of the same request: its own request context, the same
    // path, query, header and body.
    let event = |detail: &Value| -> Value {
        serde_json::from_str(detail["event"]["body"].as_str().unwrap()).unwrap()
    };
    let (first, again) = (
        event(&detail(addr, &recorded["id"]).await),
        event(&detail(addr, &summary["id"]).await),
    );
    for field in ["rawPath", "rawQueryString", "body", "routeKey"] {
        assert_eq!(again[field], first[field], "{field}: {again}");
    }
    assert_eq!(again["rawPath"], "/items/7");
    assert_eq!(again["headers"]["x-probe"], "first");
    assert_ne!(
        again["requestContext"]["requestId"],
        first["requestContext"]["requestId"]
    );
    // The replay is replayed the same way.
    let twice = replay(&summary["id"]).await.json();
    assert_eq!(twice["trigger"], "replay of API Gateway $default");

    // Once no route takes the request, API Gateway answers it without the function: the
    // replay says so, and nothing ran.
    emulator
        .replace_gateway(lambkin_emulator::front::gateway::Gateway::default())
        .unwrap();
    let count = |list: Value| list["invocations"].as_array().unwrap().len();
    let before = count(
        request(addr, "GET", "/_lambkin/invocations", &[], b"")
            .await
            .json(),
    );
    let refused = replay(&recorded["id"]).await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    assert_eq!(
        refused.header("x-amzn-errortype"),
        Some("ResourceConflictException")
    );
    let after = count(
        request(addr, "GET", "/_lambkin/invocations", &[], b"")
            .await
            .json(),
    );
    assert_eq!(after, before);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_of_a_function_url_request_goes_through_the_url_again() {
    let emulator = Emulator::with_options([fixture("echo", "echo")], Options::default()).unwrap();
    let url = emulator
        .serve_function_url("echo", "127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    let url: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let running = Running::serve(emulator).await;
    let addr = running.addr;
    let original = request(url, "PUT", "/things?y=2", &[("x-probe", "url")], b"hello").await;
    assert_eq!(original.status, 200, "{}", original.text());
    let list = request(addr, "GET", "/_lambkin/invocations", &[], b"")
        .await
        .json();
    let recorded = list["invocations"][0].clone();
    assert_eq!(recorded["trigger"], "function URL", "{list}");
    let token = token(addr).await;
    let path = format!("/_lambkin/invocations/{}/replay", recorded["id"]);
    let replayed = request(
        addr,
        "POST",
        &path,
        &[("x-lambkin-token", token.as_str())],
        b"",
    )
    .await;
    assert_eq!(replayed.status, 200, "{}", replayed.text());
    let summary = replayed.json();
    assert_eq!(summary["trigger"], "replay of function URL");
    let event = |detail: &Value| -> Value {
        serde_json::from_str(detail["event"]["body"].as_str().unwrap()).unwrap()
    };
    let (first, again) = (
        event(&detail(addr, &recorded["id"]).await),
        event(&detail(addr, &summary["id"]).await),
    );
    for field in ["rawPath", "rawQueryString", "body"] {
        assert_eq!(again[field], first[field], "{field}: {again}");
    }
    assert_eq!(again["requestContext"]["http"]["method"], "PUT");
    assert_eq!(again["headers"]["x-probe"], "url");
    assert_ne!(
        again["requestContext"]["requestId"],
        first["requestContext"]["requestId"]
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_keeps_what_its_limits_allow() {
    let options = Options {
        recorder: RecorderLimits {
            invocations: 2,
            bytes: 1 << 20,
            body_bytes: 16,
        },
        ..Options::default()
    };
    let emulator = Emulator::with_options(vec![fixture("echo", "echo")], options).unwrap();
    let running = Running::serve(emulator).await;
    let addr = running.addr;
    let big = json!({ "padding": "x".repeat(100) }).to_string();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(request_id(
            &running.invoke("echo", &[], big.as_bytes()).await,
        ));
    }
    let list = request(addr, "GET", "/_lambkin/invocations", &[], b"")
        .await
        .json();
    let kept: Vec<&Value> = list["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["requestId"])
        .collect();
    assert_eq!(kept, [&json!(ids[1]), &json!(ids[2])]);
    let last = summary(addr, &ids[2]).await;
    let whole = detail(addr, &last["id"]).await;
    assert_eq!(whole["event"]["body"].as_str().map(str::len), Some(16));
    assert_eq!(whole["event"]["bytes"], big.len());
    assert!(
        whole["event"]["note"]
            .as_str()
            .unwrap()
            .contains("truncated"),
        "{whole}"
    );
    assert_eq!(whole["replayable"], false);
    let token = token(addr).await;
    let path = format!("/_lambkin/invocations/{}/replay", last["id"]);
    request(addr, "POST", &path, &[("x-lambkin-token", &token)], b"")
        .await
        .assert_aws_error(400, "InvalidRequestContentException");
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_as_prometheus_text() {
    let running = Running::start(vec![fixture("echo", "echo"), fixture("broken", "error")]).await;
    let addr = running.addr;
    for _ in 0..3 {
        assert_eq!(running.invoke("echo", &[], b"{}").await.status, 200);
    }
    running.invoke("broken", &[], b"{}").await;
    let reply = request(addr, "GET", "/_lambkin/metrics", &[], b"").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = reply.text();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let value = |metric: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| s.value.clone())
            .unwrap_or_else(|| panic!("no {metric} {labels:?} in\n{text}"))
    };
    use prometheus_parse::Value::{Counter, Gauge, Histogram};
    assert_eq!(
        value(
            "lambkin_invocations_total",
            &[("function", "echo"), ("status", "success")]
        ),
        Counter(3.0)
    );
    assert_eq!(
        value(
            "lambkin_invocations_total",
            &[("function", "broken"), ("status", "error")]
        ),
        Counter(1.0)
    );
    assert_eq!(
        value("lambkin_cold_starts_total", &[("function", "echo")]),
        Counter(1.0)
    );
    let Histogram(buckets) = value("lambkin_duration_seconds", &[("function", "echo")]) else {
        panic!("lambkin_duration_seconds is no histogram:\n{text}");
    };
    assert_eq!(buckets.last().map(|b| b.count), Some(3.0), "{text}");
    assert_eq!(
        value(
            "lambkin_instances",
            &[("function", "echo"), ("state", "frozen")]
        ),
        Gauge(1.0)
    );
    assert_eq!(value("lambkin_recorded_invocations", &[]), Gauge(4.0));
    running.stop().await;
}

/// A Choice into a Parallel, a Map, then a failing Task whose error is caught; `Skipped` is
/// never taken.
fn workflow() -> Value {
    json!({
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "Fan"}], "Default": "Skipped"},
            "Skipped": {"Type": "Pass", "End": true},
            "Fan": {"Type": "Parallel", "ResultPath": "$.fan", "Next": "Each", "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
                {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "echo", "End": true}}}
            ]},
            "Each": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.each", "Next": "Check",
                "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}}},
            "Check": {"Type": "Task", "Resource": "error", "Next": "Done",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}]},
            "Recover": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_comes_with_its_definition_and_the_path_it_took() {
    let options = Options {
        state_machines: vec![lambkin_emulator::StateMachineConfig::new(
            "flow",
            workflow().to_string(),
        )],
        ..Options::default()
    };
    let functions = vec![fixture("echo", "echo"), fixture("error", "error")];
    let running = Running::serve(Emulator::with_options(functions, options).unwrap()).await;
    let addr = running.addr;
    let machine = "arn:aws:states:us-east-1:012345678912:stateMachine:flow";
    let input = json!({"go": true, "items": [1, 2]}).to_string();
    let started = states_call(
        addr,
        "StartExecution",
        &json!({"stateMachineArn": machine, "name": "run-1", "input": input}),
    )
    .await
    .json();
    let arn = started["executionArn"].as_str().unwrap().to_owned();
    let path = format!("/_lambkin/executions/{}", arn.replace(':', "%3A"));
    let execution = bounded(async {
        loop {
            let reply = request(addr, "GET", &path, &[], b"").await;
            assert_eq!(reply.status, 200, "{}", reply.text());
            let execution = reply.json();
            if execution["status"] != "RUNNING" {
                return execution;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(execution["status"], "SUCCEEDED", "{execution}");
    assert_eq!(execution["name"], "run-1");
    assert_eq!(execution["stateMachineArn"], machine);
    assert_eq!(execution["input"], input);
    let output: Value = serde_json::from_str(execution["output"].as_str().unwrap()).unwrap();
    assert_eq!(output["error"]["Error"], "Fixture.Failed", "{output}");
    assert_eq!(execution["definition"], workflow());
    let taken = &execution["path"];
    assert_eq!(
        taken["entered"],
        json!({"Route": 1, "Fan": 1, "A": 1, "B": 1, "Each": 1, "Item": 2, "Check": 1, "Recover": 1, "Done": 1}),
        "{taken}"
    );
    let transitions: Vec<(Value, Value, Value)> = taken["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].clone(), t["to"].clone(), t["times"].clone()))
        .collect();
    let t = |from: Option<&str>, to: &str, times: u64| (json!(from), json!(to), json!(times));
    assert_eq!(
        transitions,
        [
            t(None, "A", 1),
            t(None, "B", 1),
            t(None, "Item", 2),
            t(None, "Route", 1),
            t(Some("Check"), "Recover", 1),
            t(Some("Each"), "Check", 1),
            t(Some("Fan"), "Each", 1),
            t(Some("Recover"), "Done", 1),
            t(Some("Route"), "Fan", 1),
        ]
    );
    assert_eq!(taken["open"], json!([]));
    assert!(execution["events"].as_u64().unwrap() > 20, "{execution}");

    // The model lists it; an unknown execution is AWS's not-found error.
    let model = request(addr, "GET", "/_lambkin", &[], b"").await.json();
    assert_eq!(model["executions"][0]["executionArn"], arn.as_str());
    let missing = request(
        addr,
        "GET",
        "/_lambkin/executions/arn:aws:states:us-east-1:012345678912:execution:flow:nope",
        &[],
        b"",
    )
    .await;
    let message = missing.assert_aws_error(404, "ResourceNotFoundException");
    assert!(message.contains("flow:nope"), "{message}");
    running.stop().await;
}
