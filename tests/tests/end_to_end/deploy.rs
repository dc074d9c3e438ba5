//! `lambkin deploy --endpoint-url` against a running emulator's management API: the path a
//! deploy to AWS takes (the AWS SDK for Rust), checked end to end, with the AWS CLI as the
//! other client.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Output;

use lambkin_tests::awscli::aws;
use lambkin_tests::project::{Project, lambkin_binary, target_dir};
use lambkin_tests::{Answer, Emulated, SIGNED, developer_command, get, request, try_post};
use serde_json::{Value, json};

/// `lambkin deploy <function> --endpoint-url <emulator> <extra>` in `project`, building a debug
/// binary unless `extra` names a `--zip`.
fn deploy(project: &Project, function: &str, addr: SocketAddr, extra: &[&str]) -> Output {
    let build = if extra.contains(&"--zip") {
        None
    } else {
        Some("--debug")
    };
    developer_command(lambkin_binary())
        .args(["deploy", function, "--endpoint-url"])
        .arg(format!("http://{addr}"))
        .args(build)
        .args(extra)
        .current_dir(project.dir())
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap()
}

/// A management API call, signed as the AWS CLI would sign it.
async fn manage(addr: SocketAddr, method: &str, path: &str) -> Answer {
    request(addr, method, path, &[SIGNED], Vec::new()).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "lambkin deploy failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_updates_and_deletes_through_the_management_api() {
    let project = Project::new("deployed");
    // Shipped without local mode, as the README's shipping section suggests: a debug binary of
    // half the size, which every deploy below zips and uploads.
    project.manifest_with("default-features = false", "");
    let emulator = Emulated::start([]).await;
    let addr = emulator.addr();

    // A dry run makes the read-only call only.
    let output = deploy(&project, "deployed", addr, &["--dry-run"]);
    assert!(succeeded(&output).contains("dry run"));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("→ GetFunction deployed"), "{stderr}");
    assert!(
        stderr.contains("would call CreateFunction deployed"),
        "{stderr}"
    );
    assert_eq!(emulator.invoke("deployed", &json!({})).await.status, 404);

    // Create: built for Lambda, zipped, uploaded, published as version 1.
    let stdout = succeeded(&deploy(
        &project,
        "deployed",
        addr,
        &["--env", "STAGE=test"],
    ));
    assert!(stdout.contains("created deployed: version 1 ("), "{stdout}");
    let config = manage(addr, "GET", "/2015-03-31/functions/deployed/configuration").await;
    assert_eq!(config.body["Environment"]["Variables"]["STAGE"], "test");
    if let Some(output) = aws(
        "lambda",
        addr,
        project.dir(),
        &["invoke", "--function-name", "deployed", "out.json"],
    )
    .await
    {
        assert!(output.status.success(), "{}", text(&output.stderr));
        let answer: Value =
            serde_json::from_slice(&std::fs::read(project.dir().join("out.json")).unwrap())
                .unwrap();
        assert_eq!(answer, json!({"version": 1}));
    }

    // New code: an update of configuration and code, published as version 2.
    project.answer("2");
    let stdout = succeeded(&deploy(&project, "deployed", addr, &["--memory", "256"]));
    assert!(stdout.contains("updated deployed: version 2 ("), "{stdout}");
    let answer = emulator.invoke("deployed", &json!({})).await;
    assert_eq!(answer.body, json!({"version": 2}), "{answer:?}");
    let answer = emulator.invoke("deployed:1", &json!({})).await;
    assert_eq!(
        answer.body,
        json!({"version": 1}),
        "version 1 keeps its code"
    );
    let config = manage(addr, "GET", "/2015-03-31/functions/deployed/configuration").await;
    assert_eq!(config.body["MemorySize"], 256);
    assert_eq!(config.body["Runtime"], "provided.al2023");
    assert_eq!(config.body["LastUpdateStatus"], "Successful");
    assert!(
        config.body.get("Environment").is_none(),
        "the environment is replaced whole"
    );

    // The same code and settings again: nothing new to publish.
    let stdout = succeeded(&deploy(&project, "deployed", addr, &["--memory", "256"]));
    assert!(stdout.contains("updated deployed: version 2 ("), "{stdout}");

    // A function URL, served on a listener of its own.
    let stdout = succeeded(&deploy(
        &project,
        "deployed",
        addr,
        &["--memory", "256", "--function-url"],
    ));
    let url = stdout
        .lines()
        .find_map(|line| line.strip_prefix("function URL: "))
        .unwrap_or_else(|| panic!("no function URL in {stdout}"));
    let url_addr: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let answer = get(url_addr, "/anything").await;
    assert_eq!(answer.body, json!({"version": 2}), "{answer:?}");
    // The two statements AWS needs for a public URL were added (the emulator records them).
    let policy = manage(addr, "GET", "/2015-03-31/functions/deployed/policy").await;
    let policy: Value = serde_json::from_str(policy.body["Policy"].as_str().unwrap()).unwrap();
    let actions: Vec<&Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["Action"])
        .collect();
    assert_eq!(
        actions,
        [
            &json!("lambda:InvokeFunctionUrl"),
            &json!("lambda:InvokeFunction")
        ]
    );
    let url_config = "/2021-10-31/functions/deployed/url";
    assert_eq!(
        manage(addr, "GET", url_config).await.body["InvokeMode"],
        "BUFFERED"
    );
    // Another InvokeMode updates the existing URL.
    let output = deploy(
        &project,
        "deployed",
        addr,
        &["--memory", "256", "--invoke-mode", "RESPONSE_STREAM"],
    );
    succeeded(&output);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("UpdateFunctionUrlConfig deployed (InvokeMode RESPONSE_STREAM)"),
        "{stderr}"
    );
    let shown = manage(addr, "GET", url_config).await;
    assert_eq!(shown.body["InvokeMode"], "RESPONSE_STREAM", "{shown:?}");
    assert_eq!(shown.body["FunctionUrl"], url, "the same URL");
    // Without a mode asked for (the project names none), the URL keeps the one it has.
    let output = deploy(
        &project,
        "deployed",
        addr,
        &["--memory", "256", "--function-url"],
    );
    succeeded(&output);
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("UpdateFunctionUrlConfig"), "{stderr}");
    let shown = manage(addr, "GET", url_config).await;
    assert_eq!(shown.body["InvokeMode"], "RESPONSE_STREAM", "{shown:?}");
    // Deleting the URL's configuration stops its listener.
    assert_eq!(manage(addr, "DELETE", url_config).await.status, 204);
    assert_eq!(manage(addr, "GET", url_config).await.status, 404);
    let mut closed = false;
    for _ in 0..50 {
        if try_post(url_addr, "/", &[], String::new()).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(closed, "the deleted function URL still answers");

    // A built zip deploys as it is, also under a name the project does not have.
    let zip = target_dir().join("lambda/deployed/bootstrap.zip");
    let output = deploy(
        &project,
        "from-zip",
        addr,
        &["--zip", zip.to_str().unwrap()],
    );
    let stdout = succeeded(&output);
    assert!(stdout.contains("created from-zip: version 1 ("), "{stdout}");
    let answer = emulator.invoke("from-zip", &json!({})).await;
    assert_eq!(answer.body, json!({"version": 2}), "{answer:?}");

    // Delete: gone, versions and URL too.
    if let Some(output) = aws(
        "lambda",
        addr,
        project.dir(),
        &["delete-function", "--function-name", "deployed"],
    )
    .await
    {
        assert!(output.status.success(), "{}", text(&output.stderr));
        for name in ["deployed", "deployed:1"] {
            let answer = emulator.invoke(name, &json!({})).await;
            assert_eq!(answer.status, 404, "{name}");
            assert_eq!(
                answer.headers["x-amzn-errortype"],
                "ResourceNotFoundException"
            );
        }
    }

    // Asking for a function the project does not have names the ones it has.
    let output = deploy(&project, "nope", addr, &[]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("no function `nope` here; the functions are: deployed"),
        "{stderr}"
    );

    emulator.stop().await;

    // An emulator that serves a function of this name from its own project refuses the deploy,
    // and says what to do instead.
    let project_function =
        lambkin_emulator::FunctionConfig::new("deployed", std::env::current_exe().unwrap());
    let emulator = Emulated::start([project_function]).await;
    let output = deploy(&project, "deployed", emulator.addr(), &[]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("ResourceConflictException"), "{stderr}");
    assert!(stderr.contains("under another name"), "{stderr}");
    emulator.stop().await;
}
