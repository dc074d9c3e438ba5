//! Code storage of the management API over real HTTP, with real function instances: the caps
//! on deployed functions and code bytes, and superseded code leaving the disk once its last
//! instance stops.

#![cfg(feature = "manage")]
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::{LIMIT, Reply, Running, SIGNED, request};
use lambkin_emulator::{DeployLimits, Emulator, Options};
use serde_json::{Value, json};

const FUNCTIONS: &str = "/2015-03-31/functions";

/// Code whose `bootstrap` runs the fixture function with `env` (`KEY=value …`); `label` makes
/// each revision's code different.
fn fixture_code(label: &str, env: &str) -> Vec<u8> {
    let fixture = common::fixture_path();
    let script = format!(
        "#!/bin/sh\n# revision {label}\n{env} exec '{}'\n",
        fixture.display()
    );
    common::zip_of(&[("bootstrap", 0o755, script.as_bytes())])
}

/// A zip bomb: `mib` MiB of zeros, a thousandth of that zipped.
fn bomb(mib: usize) -> Vec<u8> {
    let zeros = vec![0; mib << 20];
    common::zip_of(&[
        ("bootstrap", 0o755, b"#!/bin/sh\n"),
        ("padding", 0o644, &zeros),
    ])
}

/// CreateFunction of `name` with `zip` on the emulator at `addr`.
async fn create(addr: std::net::SocketAddr, name: &str, zip: &[u8]) -> Reply {
    let create = json!({
        "FunctionName": name,
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::123456789012:role/lambda-exec",
        "Handler": "bootstrap",
        "Timeout": 10,
        "Environment": { "Variables": { "FIXTURE": "echo" } },
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
    });
    request(
        addr,
        "POST",
        FUNCTIONS,
        &[SIGNED],
        create.to_string().as_bytes(),
    )
    .await
}

/// An emulator whose deployed code lives in a directory the test can look into.
struct Deployments {
    emulator: Running,
    state: PathBuf,
}

impl Deployments {
    async fn start(limits: DeployLimits) -> Deployments {
        let state = std::env::temp_dir().join(format!(
            "lambkin-test-storage-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let options = Options {
            state_dir: Some(state.clone()),
            deploy_limits: limits,
            ..Options::default()
        };
        let emulator = Emulator::with_options(Vec::new(), options).unwrap();
        Deployments {
            emulator: Running::serve(emulator).await,
            state,
        }
    }

    async fn call(&self, method: &str, path: &str, body: &Value) -> Reply {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        request(self.emulator.addr, method, path, &[SIGNED], &body).await
    }

    async fn create(&self, name: &str, zip: &[u8]) -> Reply {
        create(self.emulator.addr, name, zip).await
    }

    /// UpdateFunctionCode, then waits until the new code serves.
    async fn update_code(&self, name: &str, zip: &[u8]) -> Reply {
        let update = json!({ "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) });
        let reply = self
            .call("PUT", &format!("{FUNCTIONS}/{name}/code"), &update)
            .await;
        if reply.status == 200 {
            let configuration = format!("{FUNCTIONS}/{name}/configuration");
            let updated = async {
                while self.call("GET", &configuration, &Value::Null).await.json()["LastUpdateStatus"]
                    != "Successful"
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            tokio::time::timeout(LIMIT, updated).await.unwrap();
        }
        reply
    }

    async fn invoke(&self, name: &str, payload: &Value) -> Value {
        let reply = self
            .emulator
            .invoke(name, &[], payload.to_string().as_bytes())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    /// The unpacked revisions of `name` on disk.
    fn revisions(&self, name: &str) -> BTreeSet<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.state.join(name)) else {
            return BTreeSet::new();
        };
        entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect()
    }

    /// The one revision of `name` that `f` writes.
    async fn new_revision<F: Future<Output = Reply>>(&self, name: &str, f: F) -> PathBuf {
        let before = self.revisions(name);
        let reply = f.await;
        assert!(reply.status < 300, "{}", reply.text());
        let after = self.revisions(name);
        let added: Vec<&PathBuf> = after.difference(&before).collect();
        assert_eq!(added.len(), 1, "{before:?} -> {after:?}");
        added[0].clone()
    }

    /// Asserts that a refused deployment of `name` left nothing on disk.
    fn nothing_of(&self, name: &str) {
        assert!(
            !self.state.join(name).exists(),
            "{:?}",
            std::fs::read_dir(self.state.join(name)).map(|d| d.flatten().count())
        );
    }

    async fn stop(self) {
        self.emulator.stop().await;
        assert!(!self.state.exists(), "deployed code goes with the emulator");
    }
}

/// Waits until `path` is gone (the bound is a correctness bound, not a timing assertion).
async fn gone(path: &Path) {
    let gone = async {
        while path.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(LIMIT, gone)
        .await
        .unwrap_or_else(|_| panic!("{} was not removed", path.display()));
}

/// Where an echo invocation's answer says its code ran from.
fn task_root(answer: &Value) -> PathBuf {
    PathBuf::from(answer["env"]["LAMBDA_TASK_ROOT"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseded_code_leaves_after_its_last_instance_and_published_code_stays() {
    let deployments = Deployments::start(DeployLimits::default()).await;
    let code_a = deployments
        .new_revision("f", deployments.create("f", &fixture_code("a", "")))
        .await;
    assert_eq!(
        task_root(&deployments.invoke("f", &json!({})).await),
        code_a
    );
    {
        use std::os::unix::fs::PermissionsExt;
        for dir in [&deployments.state, &deployments.state.join("f"), &code_a] {
            let mode = std::fs::metadata(dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
        }
    }
    let published = deployments
        .call("POST", &format!("{FUNCTIONS}/f/versions"), &json!({}))
        .await;
    assert_eq!(published.status, 201, "{}", published.text());

    // Version 1 keeps the first code after $LATEST moves on.
    let code_b = deployments
        .new_revision("f", deployments.update_code("f", &fixture_code("b", "")))
        .await;
    assert_eq!(
        task_root(&deployments.invoke("f", &json!({})).await),
        code_b
    );
    assert!(code_a.exists() && code_a.with_extension("zip").exists());

    // The next update supersedes code no version holds: it goes once its warm instance stops.
    let log = deployments.state.with_extension("log");
    let slow = format!("FIXTURE=slow FIXTURE_LOG='{}'", log.display());
    let code_c = deployments
        .new_revision("f", deployments.update_code("f", &fixture_code("c", &slow)))
        .await;
    gone(&code_b).await;
    assert!(!code_b.with_extension("zip").exists());
    assert!(code_a.exists(), "version 1 still holds its code");
    assert_eq!(
        task_root(&deployments.invoke("f:1", &json!({})).await),
        code_a
    );

    // Superseded while an instance still runs it, code stays until that instance is done.
    let busy = {
        let addr = deployments.emulator.addr;
        tokio::spawn(async move {
            let path = format!("{FUNCTIONS}/f/invocations");
            request(addr, "POST", &path, &[], br#"{"sleep_ms": 1500}"#).await
        })
    };
    let started = async {
        while !log.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(LIMIT, started).await.unwrap();
    let code_d = deployments
        .new_revision("f", deployments.update_code("f", &fixture_code("d", "")))
        .await;
    assert!(code_c.exists(), "an instance still runs it");
    let answer = busy.await.unwrap();
    assert_eq!(answer.json()["slept"], true, "{}", answer.text());
    gone(&code_c).await;
    assert_eq!(
        task_root(&deployments.invoke("f", &json!({})).await),
        code_d
    );

    // Deleting the function removes all its code, published versions' too.
    let deleted = deployments
        .call("DELETE", &format!("{FUNCTIONS}/f"), &Value::Null)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    gone(&deployments.state.join("f")).await;
    let _ = std::fs::remove_file(&log);
    deployments.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_refuse_deployments_as_aws_does_and_write_nothing() {
    let deployments = Deployments::start(DeployLimits {
        max_functions: 2,
        max_code_bytes: 64 << 10,
    })
    .await;
    let code = fixture_code("small", "");
    let small = deployments.create("small", &code).await;
    assert_eq!(small.status, 201, "{}", small.text());

    // Declared over what is left.
    let big = common::zip_of(&[("bootstrap", 0o755, &[b'#'; 64 << 10])]);
    let message = deployments
        .create("big", &big)
        .await
        .assert_aws_error(400, "CodeStorageExceededException");
    assert!(message.contains("--max-code-size"), "{message}");
    deployments.nothing_of("big");

    // A zip bomb: 16 KB zipped, 16 MiB unpacked.
    let bomb = bomb(16);
    assert!(bomb.len() < 32 << 10, "{}", bomb.len());
    deployments
        .create("bomb", &bomb)
        .await
        .assert_aws_error(400, "CodeStorageExceededException");
    deployments.nothing_of("bomb");
    let missing = deployments
        .call("GET", &format!("{FUNCTIONS}/bomb"), &Value::Null)
        .await;
    missing.assert_aws_error(404, "ResourceNotFoundException");

    // An update over the cap keeps the code that serves.
    let before = deployments.revisions("small");
    deployments
        .update_code("small", &bomb)
        .await
        .assert_aws_error(400, "CodeStorageExceededException");
    assert_eq!(deployments.revisions("small"), before);
    let answer = deployments.invoke("small", &json!({})).await;
    assert!(before.contains(&task_root(&answer)));

    // The function count.
    let second = deployments.create("second", &code).await;
    assert_eq!(second.status, 201, "{}", second.text());
    let message = deployments
        .create("third", &code)
        .await
        .assert_aws_error(409, "ResourceConflictException");
    assert!(message.contains("--max-functions"), "{message}");
    deployments.nothing_of("third");

    // Deleting frees room for another.
    let deleted = deployments
        .call("DELETE", &format!("{FUNCTIONS}/second"), &Value::Null)
        .await;
    assert_eq!(deleted.status, 204);
    let third = deployments.create("third", &code).await;
    assert_eq!(third.status, 201, "{}", third.text());
    deployments.invoke("third", &json!({})).await;
    deployments.stop().await;
}

/// `lambkin` serving an empty directory, with `tmp` as its temporary directory.
struct Lambkin {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
}

impl Lambkin {
    async fn start(dir: &Path, tmp: &Path) -> Lambkin {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambkin"))
            .args(["watch", "--no-reload", "--port", "0"])
            .current_dir(dir)
            .env("TMPDIR", tmp)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let serving = async {
            loop {
                let line = lines.next_line().await.unwrap().expect("lambkin stopped");
                if let Some(rest) = line.strip_prefix("lambkin: serving on http://") {
                    return rest.split_whitespace().next().unwrap().parse().unwrap();
                }
            }
        };
        let addr = tokio::time::timeout(LIMIT, serving).await.unwrap();
        // Keep reading: a closed pipe would fail lambkin's next line of output.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Lambkin { child, addr }
    }

    /// The state directories in `tmp`.
    fn state_dirs(tmp: &Path) -> BTreeSet<PathBuf> {
        std::fs::read_dir(tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_left_by_a_killed_emulator_is_removed_by_the_next_one() {
    let scratch = std::env::temp_dir().join(format!(
        "lambkin-test-sweep-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let tmp = scratch.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // A live emulator's directory (this test's own pid): never touched.
    let live = tmp.join(format!(
        "lambkin-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir(&live).unwrap();

    let mut killed = Lambkin::start(&scratch, &tmp).await;
    let reply = create(killed.addr, "f", &fixture_code("a", "")).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let left: BTreeSet<PathBuf> = &Lambkin::state_dirs(&tmp) - &BTreeSet::from([live.clone()]);
    assert_eq!(left.len(), 1, "{left:?}");
    let left = left.into_iter().next().unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&left).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    // SIGKILL: no chance to clean up.
    killed.child.kill().await.unwrap();
    assert!(left.join("f").exists());

    let mut next = Lambkin::start(&scratch, &tmp).await;
    assert_eq!(Lambkin::state_dirs(&tmp), BTreeSet::from([live.clone()]));
    // Serving (so its signal handlers are in place), and nothing of the killed one is.
    let listed = request(next.addr, "GET", FUNCTIONS, &[SIGNED], b"").await;
    assert_eq!(listed.json()["Functions"], json!([]), "{}", listed.text());
    // SAFETY: a signal to the child this test started.
    let pid = i32::try_from(next.child.id().unwrap()).unwrap();
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = tokio::time::timeout(LIMIT, next.child.wait())
        .await
        .unwrap();
    assert!(status.unwrap().success());
    std::fs::remove_dir_all(&scratch).unwrap();
}
