//! The host names users add, the way they add them: `lambkin watch --allow-host`, and
//! `LAMBKIN_ALLOW_HOSTS` for a function binary serving itself (`cargo run`).

use std::process::Stdio;

use lambkin_tests::project::{Watching, lambkin_binary, target_dir};
use lambkin_tests::{LocalFunction, STEP, developer_command, request, run_to_exit};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambkin_watch_answers_the_hosts_it_is_given() {
    // No functions here: the front still serves the status page and the gateway.
    let dir = std::env::temp_dir().join(format!("lambkin-hosts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let lambkin = lambkin_binary();
    let watching = Watching::start_in(
        &lambkin,
        &dir,
        &["--allow-host", "dev.test", "--allow-host", "*.apps.test"],
        &target_dir(),
    )
    .await;
    let addr = watching.addr;
    for host in ["dev.test", "a.apps.test:9000", "localhost"] {
        let answer = request(addr, "GET", "/_lambkin", &[("Host", host)], Vec::new()).await;
        assert_eq!(answer.status, 200, "{host}: {answer:?}");
    }
    let evil = [("Host", "evil.example")];
    let answer = request(addr, "GET", "/_lambkin", &evil, Vec::new()).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert_eq!(answer.headers["x-amzn-errortype"], "AccessDeniedException");
    let answer = request(addr, "GET", "/anywhere", &evil, Vec::new()).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    let message = answer.body["message"]
        .as_str()
        .expect("API Gateway's shape");
    assert!(message.contains("--allow-host"), "{message}");
    drop(watching);

    // A name that is not one is refused before anything starts.
    let output = tokio::time::timeout(
        STEP,
        tokio::process::Command::from(developer_command(&lambkin))
            .args(["watch", "--port", "0", "--allow-host", "http://dev.test"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("lambkin did not exit")
    .expect("lambkin runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("invalid host `http://dev.test`"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_function_serving_itself_reads_lambkin_allow_hosts() {
    let function = LocalFunction::start_with(
        env!("CARGO_BIN_EXE_echo"),
        &[("LAMBKIN_ALLOW_HOSTS", "dev.test, *.apps.test")],
    )
    .await;
    let path = format!("/2015-03-31/functions/{}/invocations", function.name());
    let addr = function.front();
    for host in ["dev.test", "x.apps.test"] {
        let answer = request(addr, "POST", &path, &[("Host", host)], "{}").await;
        assert_eq!((answer.status, &answer.body), (200, &json!({})), "{host}");
    }
    let answer = request(addr, "POST", &path, &[("Host", "evil.example")], "{}").await;
    assert_eq!(answer.status, 403, "{answer:?}");

    let (status, output) = run_to_exit(
        env!("CARGO_BIN_EXE_echo"),
        &[("PORT", "0"), ("LAMBKIN_ALLOW_HOSTS", "dev.test:9000")],
    )
    .await;
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("LAMBKIN_ALLOW_HOSTS: invalid host"),
        "{output}"
    );
}
