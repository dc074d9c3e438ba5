//! Subscriptions delivering to a real listener on 127.0.0.1.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;

/// A listener collecting the batches posted to it.
async fn listener_on(listener: TcpListener) -> mpsc::UnboundedReceiver<Vec<Value>> {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route(
            "/telemetry",
            post(
                |State(tx): State<mpsc::UnboundedSender<Vec<Value>>>, body: Bytes| async move {
                    let batch: Vec<Value> = serde_json::from_slice(&body).expect("a JSON array");
                    let _ = tx.send(batch);
                },
            ),
        )
        .with_state(tx);
    tokio::spawn(async move { axum::serve(listener, app).await });
    rx
}

fn subscription(api: Api, port: u16, types: &str, max_items: u32) -> Subscription {
    let body = format!(
        r#"{{"schemaVersion":"2022-12-13","types":{types},
            "buffering":{{"timeoutMs":25,"maxItems":{max_items}}},
            "destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:{port}/telemetry"}}}}"#
    );
    subscription::parse(api, body.as_bytes()).expect("a valid subscription")
}

/// Records received until one satisfies `last`, within a bound.
async fn receive_until(
    rx: &mut mpsc::UnboundedReceiver<Vec<Value>>,
    last: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    let mut records = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while !records.iter().any(&last) {
            records.extend(rx.recv().await.expect("the listener runs"));
        }
    })
    .await
    .expect("the records arrive");
    records
}

fn types(records: &[Value]) -> Vec<&str> {
    records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect()
}

fn report(id: &str) -> Event {
    Event::Report {
        request_id: id.to_owned(),
        status: Status::Success,
        error_type: None,
        metrics: ReportMetrics {
            duration_ms: 1.5,
            billed_duration_ms: 2,
            memory_size_mb: 128,
            max_memory_used_mb: 20,
            init_duration_ms: None,
        },
    }
}

fn runtime_done(id: &str) -> Event {
    Event::RuntimeDone {
        request_id: id.to_owned(),
        status: Status::Failure,
        error_type: Some("Handled".to_owned()),
        duration: Duration::from_micros(1_250),
        produced_bytes: Some(8),
    }
}

#[test]
fn nothing_is_built_without_a_subscriber() {
    let telemetry = Telemetry::default();
    telemetry.emit(|| panic!("built an event nobody subscribed to"));
    telemetry.log(Stream::Function, "line");
    assert!(!telemetry.is_active());
}

#[tokio::test]
async fn the_telemetry_api_delivers_an_invocation_in_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut rx = listener_on(listener).await;
    let telemetry = Telemetry::default();
    telemetry.started("fn", "$LATEST", true);
    let sub = subscription(Api::Telemetry, port, r#"["platform","function"]"#, 1000);
    telemetry.subscribe("ext", sub).unwrap();
    telemetry.init_done(|| Event::InitDone {
        status: Status::Success,
        error_type: None,
        duration: Duration::from_millis(12),
    });
    telemetry.emit(|| Event::Start {
        request_id: "r1".to_owned(),
        version: "$LATEST".to_owned(),
    });
    telemetry.log(Stream::Function, "plain text");
    telemetry.log(Stream::Function, r#"{"level":"INFO","message":"hi"}"#);
    // Not subscribed: not delivered.
    telemetry.log(Stream::Extension, "from an extension");
    telemetry.emit(|| runtime_done("r1"));
    telemetry.emit(|| report("r1"));

    let records = receive_until(&mut rx, |r| r["type"] == "platform.report").await;
    assert_eq!(
        types(&records),
        [
            "platform.initStart",
            "platform.telemetrySubscription",
            "platform.initRuntimeDone",
            "platform.initReport",
            "platform.start",
            "function",
            "function",
            "platform.runtimeDone",
            "platform.report",
        ]
    );
    let time = records[0]["time"].as_str().unwrap();
    assert!(time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T');
    assert_eq!(
        records[0]["record"],
        json!({"initializationType": "on-demand", "phase": "init",
               "functionName": "fn", "functionVersion": "$LATEST"})
    );
    assert_eq!(
        records[1]["record"],
        json!({"name": "ext", "state": "Subscribed", "types": ["platform", "function"]})
    );
    assert_eq!(records[3]["record"]["metrics"], json!({"durationMs": 12.0}));
    assert_eq!(
        records[4]["record"],
        json!({"requestId": "r1", "version": "$LATEST"})
    );
    assert_eq!(records[5]["record"], "plain text");
    assert_eq!(
        records[6]["record"],
        json!({"level": "INFO", "message": "hi"})
    );
    assert_eq!(
        records[7]["record"],
        json!({"requestId": "r1", "status": "failure", "errorType": "Handled",
               "metrics": {"durationMs": 1.25, "producedBytes": 8}})
    );
    assert_eq!(
        records[8]["record"],
        json!({"requestId": "r1", "status": "success",
               "metrics": {"durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128,
                           "maxMemoryUsedMB": 20}})
    );
}

#[tokio::test]
async fn the_logs_api_writes_its_older_schema() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut rx = listener_on(listener).await;
    let telemetry = Telemetry::default();
    telemetry.started("fn", "$LATEST", true);
    let body = format!(
        r#"{{"schemaVersion":"2021-03-18","types":["platform","function"],
            "buffering":{{"timeoutMs":25}},
            "destination":{{"protocol":"HTTP","URI":"http://127.0.0.1:{port}/telemetry"}}}}"#
    );
    let logs = Api::Logs {
        runtime_done: false,
    };
    let sub = subscription::parse(logs, body.as_bytes()).unwrap();
    telemetry.subscribe("old", sub).unwrap();
    // The same extension cannot also use the Telemetry API.
    let other = subscription(Api::Telemetry, port, r#"["platform"]"#, 1000);
    assert_eq!(telemetry.subscribe("old", other), Err(Refusal::OtherApi));
    telemetry.init_done(|| Event::InitDone {
        status: Status::Success,
        error_type: None,
        duration: Duration::from_millis(12),
    });
    telemetry.emit(|| Event::Start {
        request_id: "r1".to_owned(),
        version: "$LATEST".to_owned(),
    });
    telemetry.log(Stream::Function, r#"{"json":"as text"}"#);
    telemetry.emit(|| runtime_done("r1"));
    telemetry.emit(|| report("r1"));

    // The init is over: so is subscribing.
    let late = subscription(Api::Telemetry, port, r#"["platform"]"#, 1000);
    assert_eq!(telemetry.subscribe("late", late), Err(Refusal::Closed));

    let records = receive_until(&mut rx, |r| r["type"] == "platform.report").await;
    assert_eq!(
        types(&records),
        [
            "platform.logsSubscription",
            "platform.start",
            "function",
            "platform.runtimeDone",
            "platform.end",
            "platform.report",
        ]
    );
    assert_eq!(records[2]["record"], r#"{"json":"as text"}"#);
    assert_eq!(
        records[3]["record"],
        json!({"requestId": "r1", "status": "failure"})
    );
    assert_eq!(records[4]["record"], json!({"requestId": "r1"}));
    assert!(records[5]["record"].get("status").is_none());
}

#[tokio::test]
async fn a_listener_that_is_down_gets_what_fits_and_the_count_of_the_rest() {
    // A port nothing listens on, until the listener starts there.
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let telemetry = Telemetry::default();
    let sub = subscription(
        Api::Telemetry,
        addr.port(),
        r#"["platform","function"]"#,
        1000,
    );
    telemetry.subscribe("ext", sub).unwrap();
    for i in 0..1500 {
        telemetry.log(Stream::Function, &format!("line {i}"));
    }
    // Delivery fails and is retried meanwhile.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut rx = listener_on(TcpListener::bind(addr).await.unwrap()).await;
    let records = receive_until(&mut rx, |r| r["record"] == "line 998").await;
    assert_eq!(records[0]["type"], "platform.logsDropped");
    // The buffer holds 1,000 records: the subscription record and 999 lines.
    assert_eq!(records[0]["record"]["droppedRecords"], 501);
    assert!(records[0]["record"]["droppedBytes"].as_u64().unwrap() > 501 * 20);
    assert_eq!(records[1]["type"], "platform.telemetrySubscription");
    assert_eq!(records.len(), 1001);
    assert_eq!(records[1000]["record"], "line 998");
    // Delivery goes on. (Until the listener's answer is read, the buffer is still full: a line
    // may be dropped, and counted, meanwhile.)
    let delivered = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            telemetry.log(Stream::Function, "after");
            let Ok(batch) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
            else {
                continue;
            };
            let batch = batch.expect("the listener runs");
            if batch.iter().any(|r| r["record"] == "after") {
                return batch;
            }
        }
    })
    .await
    .expect("delivery resumes");
    assert!(
        types(&delivered)
            .iter()
            .all(|t| ["function", "platform.logsDropped"].contains(t))
    );
}

#[tokio::test]
async fn a_flush_sends_what_is_buffered_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut rx = listener_on(listener).await;
    let telemetry = Telemetry::default();
    let body = format!(
        r#"{{"schemaVersion":"2022-12-13","types":["function"],"buffering":{{"timeoutMs":30000}},
            "destination":{{"protocol":"HTTP","URI":"http://sandbox.localdomain:{port}/telemetry"}}}}"#
    );
    let sub = subscription::parse(Api::Telemetry, body.as_bytes()).unwrap();
    telemetry.subscribe("ext", sub).unwrap();
    telemetry.log(Stream::Function, "last words");
    telemetry.flush();
    // Well before the 30 s timeout (the bound of `receive_until` is 20 s).
    let records = receive_until(&mut rx, |r| r["record"] == "last words").await;
    assert_eq!(types(&records), ["function"]);
}
