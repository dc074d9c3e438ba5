//! moto's server (`pip install 'moto[server]'`) as the SQS API of the tests: started on a
//! loopback port, killed when dropped, driven with the real AWS CLI ([`lambkin_tests::awscli`]).
//! Skipped, with a note, when `moto_server` is not installed, unless `LAMBKIN_REQUIRE_AWSCLI`
//! is set. Its account is `123456789012`, its region `us-east-1`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::bounded;
use lambkin_tests::awscli::{aws, stdout_json};

/// moto's account.
pub const ACCOUNT: &str = "123456789012";

/// A running moto server.
pub struct Moto {
    pub addr: SocketAddr,
    _child: Child,
}

/// A loopback port nothing listens on now.
pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

impl Moto {
    /// moto on a free port; `None` when it is not installed (and not required).
    pub async fn start() -> Option<Moto> {
        Moto::start_on(free_port()).await
    }

    /// moto on `addr`, once it accepts connections.
    pub async fn start_on(addr: SocketAddr) -> Option<Moto> {
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &addr.port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert!(
                    std::env::var_os("LAMBKIN_REQUIRE_AWSCLI").is_none(),
                    "moto is required (pip install 'moto[server]')"
                );
                eprintln!("skipped: `moto_server` is not installed (pip install 'moto[server]')");
                return None;
            }
            Err(e) => panic!("cannot run moto_server: {e}"),
        };
        bounded(async {
            while TcpStream::connect(addr).await.is_err() {
                assert!(child.try_wait().unwrap().is_none(), "moto_server exited");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        Some(Moto {
            addr,
            _child: child,
        })
    }

    /// Its URL, the emulator's SQS endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `aws sqs <args>` against it; its JSON output.
    pub async fn sqs(&self, args: &[&str]) -> Value {
        let output = aws("sqs", self.addr, Path::new("."), args)
            .await
            .expect("the AWS CLI is installed when moto is");
        stdout_json(&output)
    }

    /// Creates the queue `name` with `attributes` (`VisibilityTimeout=1`, …); its URL.
    pub async fn create_queue(&self, name: &str, attributes: &[&str]) -> String {
        let mut args = vec!["create-queue", "--queue-name", name];
        if !attributes.is_empty() {
            args.push("--attributes");
            args.extend(attributes);
        }
        let created = self.sqs(&args).await;
        created["QueueUrl"].as_str().unwrap().to_owned()
    }

    /// Sends `bodies` to the queue at `url`, ten at a time, each with `group` as its
    /// `MessageGroupId` if given (a FIFO queue).
    pub async fn send(&self, url: &str, bodies: &[String], group: Option<&str>) {
        for (n, chunk) in bodies.chunks(10).enumerate() {
            let entries: Vec<Value> = (chunk.iter().enumerate())
                .map(|(i, body)| {
                    let mut entry = serde_json::json!({
                        "Id": format!("m{n}-{i}"),
                        "MessageBody": body,
                        "MessageAttributes": {
                            "origin": {"DataType": "String", "StringValue": "test"}
                        }
                    });
                    if let Some(group) = group {
                        entry["MessageGroupId"] = group.into();
                        entry["MessageDeduplicationId"] = body.as_str().into();
                    }
                    entry
                })
                .collect();
            let entries = Value::Array(entries).to_string();
            let sent = self
                .sqs(&[
                    "send-message-batch",
                    "--queue-url",
                    url,
                    "--entries",
                    &entries,
                ])
                .await;
            assert!(
                sent["Failed"].as_array().is_none_or(Vec::is_empty),
                "{sent}"
            );
        }
    }

    /// The queue's messages: visible, and in flight (received, not deleted).
    pub async fn counts(&self, url: &str) -> (u64, u64) {
        let attributes = self
            .sqs(&[
                "get-queue-attributes",
                "--queue-url",
                url,
                "--attribute-names",
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ])
            .await;
        let count = |name: &str| {
            attributes["Attributes"][name]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        (
            count("ApproximateNumberOfMessages"),
            count("ApproximateNumberOfMessagesNotVisible"),
        )
    }
}
