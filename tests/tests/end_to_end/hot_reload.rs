//! `lambkin watch` on a function project in a temp dir: edit the source and the next request
//! runs the new code; a compile error keeps the old version serving; no request fails while
//! versions are swapped under load.

use base64::Engine as _;
use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use lambkin_tests::project::{
    Project, REBUILD, Watching, lambkin_binary, target_dir, until_version, version,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_reload_and_compile_errors_keep_the_old_version() {
    let project = Project::new("reload");
    let mut lambkin = Watching::start(&lambkin_binary(), &project, &target_dir()).await;
    assert_eq!(version(lambkin.addr).await, Ok(1));

    project.answer("2");
    until_version(lambkin.addr, 2).await;

    // A compile error: the diagnostics are shown, the old version keeps serving.
    project.answer("undefined_name");
    lambkin
        .wait_for(REBUILD, |l| {
            l.contains("cannot find value `undefined_name`")
        })
        .await;
    lambkin
        .wait_for(REBUILD, |l| l.contains("build failed"))
        .await;
    // The status page and a header tell the build state.
    let status = lambkin_tests::get(lambkin.addr, "/").await;
    assert_eq!(status.headers["x-lambkin-build"], "failed", "{status:?}");
    assert_eq!(version(lambkin.addr).await, Ok(2));

    // Fixing it reloads.
    project.answer("3");
    until_version(lambkin.addr, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_across_ten_reloads_under_load() {
    let project = Project::new("reload-load");
    // Without local mode (the test above reloads the default features): each of the ten
    // rebuilds links half the bytes, which is most of a reload's time.
    project.manifest_with("default-features = false", "");
    let lambkin = Watching::start(&lambkin_binary(), &project, &target_dir()).await;
    let addr = lambkin.addr;
    let done = Arc::new(AtomicBool::new(false));
    // Four clients keep requests in flight (bounded: they stop with the test, at most 100 000).
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let done = done.clone();
            tokio::spawn(async move {
                let mut served = 0u64;
                while !done.load(Ordering::Relaxed) && served < 100_000 {
                    version(addr)
                        .await
                        .unwrap_or_else(|e| panic!("a request failed during reloads: {e}"));
                    served += 1;
                }
                served
            })
        })
        .collect();
    for v in 2..=11 {
        project.answer(&v.to_string());
        until_version(addr, v).await;
    }
    done.store(true, Ordering::Relaxed);
    let mut served = 0;
    for client in clients {
        served += client.await.unwrap();
    }
    assert!(
        served > 10,
        "the clients kept requests in flight ({served} served)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_edits_reload_and_bad_ones_keep_the_last_good_configuration() {
    use lambkin_tests::request;
    let project = Project::new("reload-config");
    let mut lambkin = Watching::start(&lambkin_binary(), &project, &target_dir()).await;
    let addr = lambkin.addr;
    assert_eq!(
        version(addr).await,
        Ok(1),
        "no routes: the one function takes every path"
    );

    // A function deployed through the management API is not the configuration's: reloads
    // carry on around it.
    let zip = {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
        writer.start_file("bootstrap", options).unwrap();
        writer.write_all(b"#!/bin/sh\nexit 1\n").unwrap();
        writer.finish().unwrap().into_inner()
    };
    let create = serde_json::json!({
        "FunctionName": "deployed-beside",
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::123456789012:role/lambda-exec",
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
    });
    let created = request(
        addr,
        "POST",
        "/2015-03-31/functions",
        &[lambkin_tests::SIGNED],
        create.to_string(),
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");

    // Routes appear in Cargo metadata: the front follows.
    project.manifest("[package.metadata.lambkin]\nroutes = [\"POST /only\"]\n");
    lambkin
        .wait_for(REBUILD, |l| l.contains("configuration reloaded"))
        .await;
    let status =
        |path: &'static str| async move { request(addr, "POST", path, &[], "{}").await.status };
    assert_eq!(status("/only").await, 200);
    assert_eq!(status("/elsewhere").await, 404);

    // An invalid edit is reported and the last good configuration stays.
    project.manifest("[package.metadata.lambkin]\nroutes = [\"NOT A ROUTE\"]\n");
    lambkin
        .wait_for(REBUILD, |l| l.contains("configuration not reloaded"))
        .await;
    assert_eq!(status("/only").await, 200);
}
