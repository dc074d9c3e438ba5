//! The Invoke API over real child processes running the fixture function.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Running, bounded, fixture, wait_gone};
use serde_json::{Value, json};

fn pid(reply: &common::Reply) -> u64 {
    reply.json()["pid"].as_u64().expect("pid in the response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_cold_then_warm_with_logs_and_context() {
    let mut echo = fixture("echo", "echo");
    echo.env.insert("GREETING".into(), "hi".into());
    let emulator = Running::start(vec![echo]).await;

    // lambda_runtime 1.5 exits if `client` is present but lacks any of its five fields.
    let context = base64_json(r#"{"custom":{"who":"test"}}"#);
    let first = emulator
        .invoke(
            "echo",
            &[
                ("X-Amz-Log-Type", "Tail"),
                ("X-Amz-Client-Context", &context),
            ],
            br#"{"hello":"world"}"#,
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("X-Amz-Executed-Version"), Some("$LATEST"));
    assert_eq!(
        first.header("X-Amz-Function-Error"),
        None,
        "{}",
        first.text()
    );
    let body = first.json();
    assert_eq!(body["event"], json!({"hello": "world"}));
    assert_eq!(
        Some(body["request_id"].as_str().unwrap()),
        first.header("x-amzn-RequestId")
    );
    assert_eq!(
        body["arn"],
        "arn:aws:lambda:us-east-1:012345678912:function:echo"
    );
    assert!(body["trace_id"].as_str().unwrap().starts_with("Root=1-"));
    assert_eq!(body["client_context"]["custom"]["who"], "test");
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let deadline = body["deadline"].as_u64().unwrap();
    assert!(
        deadline > now_ms && deadline <= now_ms + 3_100,
        "{deadline} vs {now_ms}"
    );
    let env = &body["env"];
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "echo");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/echo");
    assert_eq!(env["AWS_REGION"], "us-east-1");
    assert_eq!(env["TZ"], ":UTC");
    assert_eq!(env["GREETING"], "hi");
    assert!(
        env.get("HOME").is_none(),
        "the environment is Lambda's, not the emulator's"
    );

    let log = first.log_tail();
    let id = body["request_id"].as_str().unwrap();
    assert!(
        log.contains(&format!("START RequestId: {id} Version: $LATEST")),
        "{log}"
    );
    assert!(log.contains(&format!("echo: handling {id}")), "{log}");
    assert!(log.contains("echo: a line on stderr"), "{log}");
    assert!(log.contains(&format!("END RequestId: {id}")), "{log}");
    let report = log.lines().find(|l| l.starts_with("REPORT")).expect(&log);
    assert!(report.contains("\tDuration: "), "{report}");
    assert!(report.contains("\tBilled Duration: "), "{report}");
    assert!(report.contains("\tMemory Size: 128 MB"), "{report}");
    assert!(report.contains("\tInit Duration: "), "cold start: {report}");
    let used: u64 = report
        .split("Max Memory Used: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect(report);
    assert!(used > 0, "measured, not faked: {report}");

    let second = emulator
        .invoke("echo", &[("X-Amz-Log-Type", "Tail")], b"")
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.json()["event"],
        json!({}),
        "an empty payload is {{}}"
    );
    assert_eq!(pid(&second), pid(&first), "the warm instance is reused");
    assert!(!second.log_tail().contains("Init Duration"));
    // No tail unless asked.
    let third = emulator.invoke("echo", &[], b"[1,2]").await;
    assert_eq!(third.header("X-Amz-Log-Result"), None);
    assert_eq!(third.json()["event"], json!([1, 2]));
    // Qualified names and ARNs resolve too.
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A012345678912%3Afunction%3Aecho";
    assert_eq!(emulator.invoke(arn, &[], b"{}").await.status, 200);
    assert_eq!(
        emulator.invoke("echo:$LATEST", &[], b"{}").await.status,
        200
    );
    emulator.stop().await;
}

fn base64_json(json: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_errors_for_bad_requests() {
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let reply = emulator.invoke("echo", &[], b"{not json").await;
    let message = reply.assert_aws_error(400, "InvalidRequestContentException");
    assert!(
        message.starts_with("Could not parse request body into json"),
        "{message}"
    );

    let reply = emulator.invoke("nope", &[], b"{}").await;
    let message = reply.assert_aws_error(404, "ResourceNotFoundException");
    assert_eq!(
        message,
        "Function not found: arn:aws:lambda:us-east-1:012345678912:function:nope"
    );
    let reply = emulator.invoke("echo:7", &[], b"{}").await;
    reply.assert_aws_error(404, "ResourceNotFoundException");

    let big = vec![b' '; 6 * 1024 * 1024 + 1];
    let reply = emulator.invoke("echo", &[], &big).await;
    let message = reply.assert_aws_error(413, "RequestEntityTooLargeException");
    assert!(message.contains("6291456"), "{message}");

    let reply = emulator
        .invoke("echo", &[("X-Amz-Invocation-Type", "Sometimes")], b"{}")
        .await;
    reply.assert_aws_error(400, "InvalidParameterValueException");
    let reply = emulator
        .invoke("echo", &[("X-Amz-Client-Context", "!!")], b"{}")
        .await;
    reply.assert_aws_error(400, "InvalidRequestContentException");

    // Under the Lambda API's prefix, an unknown path is an unknown operation (other paths
    // belong to the API Gateway front).
    let reply = common::request(
        emulator.addr,
        "GET",
        "/2015-03-31/nowhere",
        &[common::SIGNED],
        b"",
    )
    .await;
    reply.assert_aws_error(404, "UnknownOperationException");
    let path = "/2015-03-31/functions/echo/invocations";
    let reply = common::request(emulator.addr, "GET", path, &[], b"").await;
    reply.assert_aws_error(404, "UnknownOperationException");

    let reply = emulator
        .invoke("echo", &[("X-Amz-Invocation-Type", "DryRun")], b"{}")
        .await;
    assert_eq!(reply.status, 204);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_are_unhandled() {
    let emulator = Running::start(vec![
        fixture("error", "error"),
        {
            // RUST_BACKTRACE is passed on to instances; symbolising a backtrace of this debug
            // binary can take more than the 128 MB the function has, and it is then (rightly)
            // killed as out of memory. This test is about the panic, not the backtrace.
            let mut panic = fixture("panic", "panic");
            panic.env.insert("RUST_BACKTRACE".into(), "0".into());
            panic
        },
        fixture("big", "big"),
    ])
    .await;
    let reply = emulator.invoke("error", &[], b"{}").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(reply.json()["errorType"], "Fixture.Failed");
    assert_eq!(
        reply.json()["errorMessage"],
        "the fixture failed on purpose"
    );

    let reply = emulator.invoke("panic", &[], b"{}").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert!(
        reply.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("panicked on purpose"),
        "{}",
        reply.text()
    );
    // The runtime survives a panic.
    assert_eq!(emulator.invoke("panic", &[], b"{}").await.status, 200);

    let reply = emulator
        .invoke(
            "big",
            &[("X-Amz-Log-Type", "Tail")],
            br#"{"bytes": 7000000}"#,
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(reply.json()["errorType"], "Function.ResponseSizeTooLarge");
    let small = emulator.invoke("big", &[], br#"{"bytes": 10}"#).await;
    assert_eq!(small.json(), json!("xxxxxxxxxx"));
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_crashes_and_init_failures_get_fresh_instances() {
    let mut slow = fixture("slow", "slow");
    slow.timeout = Duration::from_secs(1);
    let emulator = Running::start(vec![
        slow,
        fixture("crash", "crash"),
        fixture("crash-on-start", "crash-on-start"),
        fixture("init-fail", "init-fail"),
        fixture("missing", "echo"),
    ])
    .await;

    let warm = emulator.invoke("slow", &[], br#"{"sleep_ms": 0}"#).await;
    let warm_pid = pid(&warm);
    let started = std::time::Instant::now();
    let reply = emulator
        .invoke(
            "slow",
            &[("X-Amz-Log-Type", "Tail")],
            br#"{"sleep_ms": 5000}"#,
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    let message = reply.json()["errorMessage"].as_str().unwrap().to_owned();
    let id = reply.header("x-amzn-RequestId").unwrap();
    assert!(
        message.ends_with(&format!("{id} Task timed out after 1.00 seconds")),
        "{message}"
    );
    assert!(
        message.starts_with("20") && message.contains('T'),
        "RFC 3339 date: {message}"
    );
    assert!(reply.log_tail().contains("Status: timeout"));
    assert!(
        wait_gone(warm_pid).await,
        "the timed-out instance is killed"
    );
    let fresh = emulator.invoke("slow", &[], br#"{"sleep_ms": 0}"#).await;
    assert_eq!(fresh.status, 200);
    assert_ne!(pid(&fresh), warm_pid);

    for _ in 0..2 {
        let reply = emulator.invoke("crash", &[], br#"{"code": 3}"#).await;
        assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
        assert_eq!(reply.json()["errorType"], "Runtime.ExitError");
        let message = reply.json()["errorMessage"].as_str().unwrap().to_owned();
        assert!(
            message.ends_with("Runtime exited with error: exit status 3"),
            "{message}"
        );
    }

    let reply = emulator.invoke("crash-on-start", &[], b"{}").await;
    assert_eq!(reply.json()["errorType"], "Runtime.ExitError");
    assert!(
        reply.json()["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("exit status 2")
    );

    for _ in 0..2 {
        let reply = emulator.invoke("init-fail", &[], b"{}").await;
        assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
        assert_eq!(reply.json()["errorType"], "Fixture.InitFailed");
        assert_eq!(reply.json()["errorMessage"], "missing configuration");
    }
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_executable_is_an_invalid_entrypoint() {
    let mut missing = fixture("missing", "echo");
    missing.executable = "/nonexistent/bootstrap".into();
    let emulator = Running::start(vec![missing]).await;
    let reply = emulator.invoke("missing", &[], b"{}").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(reply.json()["errorType"], "Runtime.InvalidEntrypoint");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_measured_and_enforced() {
    let emulator = Running::start(vec![fixture("hog", "hog")]).await;
    let reply = emulator
        .invoke("hog", &[("X-Amz-Log-Type", "Tail")], br#"{"mb": 300}"#)
        .await;
    assert_eq!(reply.header("X-Amz-Function-Error"), Some("Unhandled"));
    assert_eq!(
        reply.json()["errorType"],
        "Runtime.OutOfMemory",
        "{}",
        reply.text()
    );
    let log = reply.log_tail();
    assert!(
        log.contains("Status: error\tError Type: Runtime.OutOfMemory"),
        "{log}"
    );
    // A small allocation fits.
    let reply = emulator.invoke("hog", &[], br#"{"mb": 1}"#).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_concurrency_throttles_and_event_runs_in_background() {
    let mut slow = fixture("slow", "slow");
    slow.reserved_concurrency = Some(2);
    let emulator = Running::start(vec![slow]).await;
    let payload = br#"{"sleep_ms": 1500}"#;
    let (a, b) = tokio::join!(emulator.invoke("slow", &[], payload), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        emulator.invoke("slow", &[], payload).await
    },);
    let third = emulator.invoke("slow", &[], payload).await;
    assert_eq!((a.status, b.status), (200, 200));
    // `third` ran after both finished: it only proves the slots free up again.
    assert_eq!(third.status, 200);

    let (x, y, z) = tokio::join!(
        emulator.invoke("slow", &[], payload),
        emulator.invoke("slow", &[], payload),
        async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            emulator.invoke("slow", &[], payload).await
        },
    );
    assert_eq!((x.status, y.status), (200, 200));
    let message = z.assert_aws_error(429, "TooManyRequestsException");
    assert_eq!(message, "Rate Exceeded.");
    assert_eq!(
        z.json()["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );

    // Two events hold both slots in the background, so a synchronous call is throttled.
    for _ in 0..2 {
        let reply = emulator
            .invoke("slow", &[("X-Amz-Invocation-Type", "Event")], payload)
            .await;
        assert_eq!(reply.status, 202);
        assert!(reply.body.is_empty());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = emulator.invoke("slow", &[], br#"{"sleep_ms": 0}"#).await;
    reply.assert_aws_error(429, "TooManyRequestsException");
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_instances_are_reaped_and_shutdown_stops_children() {
    let mut echo = fixture("echo", "echo");
    echo.keep_alive = Duration::from_millis(300);
    let mut slow = fixture("slow", "slow");
    slow.timeout = Duration::from_secs(20);
    let emulator = Running::start(vec![echo, slow]).await;
    let first = pid(&emulator.invoke("echo", &[], b"{}").await);
    assert!(wait_gone(first).await, "reaped after the keep-alive");
    let second = pid(&emulator.invoke("echo", &[], b"{}").await);
    assert_ne!(first, second);

    // A busy instance during shutdown: its caller gets an answer, its process dies.
    let warm = pid(&emulator.invoke("slow", &[], br#"{"sleep_ms": 0}"#).await);
    let addr = emulator.addr;
    let busy = tokio::spawn(async move {
        let path = "/2015-03-31/functions/slow/invocations";
        common::request(addr, "POST", path, &[], br#"{"sleep_ms": 15000}"#).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    emulator.stop().await;
    let reply = bounded(busy).await.unwrap();
    reply.assert_aws_error(503, "ServiceException");
    assert!(wait_gone(warm).await, "busy instance stopped");
    assert!(wait_gone(second).await, "idle instance stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaced_function_gets_new_instances() {
    let config = fixture("echo", "echo");
    let emulator = lambkin_emulator::Emulator::new(vec![config.clone()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(emulator.clone().serve_listener(listener, async {
        let _ = stopped.await;
    }));
    let path = "/2015-03-31/functions/echo/invocations";
    let v1 = common::request(addr, "POST", path, &[], b"{}").await;
    assert_eq!(v1.json()["env"].get("GREETING"), None);

    let mut v2 = config;
    v2.env.insert("GREETING".into(), "v2".into());
    bounded(emulator.replace_function(v2)).await.unwrap();
    assert!(
        bounded(emulator.replace_function(fixture("other", "echo")))
            .await
            .is_err()
    );
    let reply = common::request(addr, "POST", path, &[("X-Amz-Log-Type", "Tail")], b"{}").await;
    assert_eq!(reply.json()["env"]["GREETING"], Value::from("v2"));
    assert!(
        !reply.log_tail().contains("Init Duration"),
        "the new version was initialised before it took traffic: {}",
        reply.log_tail()
    );
    assert!(
        wait_gone(pid(&v1)).await,
        "the old version's idle instance is stopped"
    );
    let _ = stop.send(());
    bounded(server).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_emulator_leaves_no_orphans() {
    use tokio::io::AsyncBufReadExt;
    let mut host = tokio::process::Command::new(common::fixture_path())
        .env("FIXTURE", "host")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = host.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let addr = loop {
        let line = bounded(lines.next_line())
            .await
            .unwrap()
            .expect("host output");
        if let Some(addr) = line.strip_prefix("listening ") {
            break addr.parse().unwrap();
        }
    };
    let path = "/2015-03-31/functions/echo/invocations";
    let child = pid(&common::request(addr, "POST", path, &[], b"{}").await);
    assert!(!common::process_gone(child));
    host.kill().await.unwrap(); // SIGKILL: no chance to clean up
    assert!(
        wait_gone(child).await,
        "the parent-death signal killed the instance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_died_while_idle_is_replaced() {
    let emulator = Running::start(vec![fixture("echo", "echo")]).await;
    let first = pid(&emulator.invoke("echo", &[], b"{}").await);
    // SAFETY: plain kill(2) of our own child process.
    assert_eq!(unsafe { libc::kill(first as i32, libc::SIGKILL) }, 0);
    // Until the emulator has reaped it. A zombie leader thread is not enough: its other threads
    // may still be exiting, and until the last one has, the process can be handed (and take)
    // the next event, which then fails as Lambda fails it (`Runtime.ExitError`).
    let reaped = bounded(async {
        while std::path::Path::new(&format!("/proc/{first}")).exists() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    reaped.await;
    let reply = emulator.invoke("echo", &[], b"{}").await;
    assert_eq!(
        reply.header("X-Amz-Function-Error"),
        None,
        "{}",
        reply.text()
    );
    assert_ne!(pid(&reply), first);
    emulator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_events_are_retried_with_the_same_request_id() {
    let log = std::env::temp_dir().join(format!("lambkin-events-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut error = fixture("error", "error");
    error.event_retry_delay = Duration::from_millis(100);
    error
        .env
        .insert("FIXTURE_LOG".into(), log.display().to_string());
    let emulator = Running::start(vec![error]).await;
    let reply = emulator
        .invoke("error", &[("X-Amz-Invocation-Type", "Event")], b"{}")
        .await;
    assert_eq!(reply.status, 202);
    let id = reply.header("x-amzn-RequestId").unwrap().to_owned();
    let ids = bounded(async {
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.lines().count() >= 3 {
                break text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    // One try and two retries (after 100 ms, then 200 ms), then no more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let ids = std::fs::read_to_string(&log).unwrap_or(ids);
    assert_eq!(ids.lines().collect::<Vec<_>>(), [id.as_str(); 3]);
    let _ = std::fs::remove_file(&log);
    emulator.stop().await;
}
