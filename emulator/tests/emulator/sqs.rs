//! SQS event source mappings against moto's server (a real SQS API on loopback, driven with the
//! AWS CLI), invoking the real fixture function: batches of `BatchSize`, partial batch
//! failures, a failed batch coming back after the visibility timeout, FIFO order within a
//! message group, and an unreachable endpoint reported and retried while the emulator serves.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use common::moto::{ACCOUNT, Moto, free_port};
use common::{Running, Scratch, bounded, events, fixture, request, wait_for_events};
use lambkin_emulator::sources::sqs::{Queue, SqsSource};
use lambkin_emulator::{Emulator, Options};
use serde_json::Value;

/// The ARN of moto's queue `name`.
fn arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{name}")
}

/// A mapping from moto's queue `name` to the function `sqs`.
fn mapping(name: &str) -> SqsSource {
    SqsSource::new(
        format!("{name}-mapping"),
        "sqs",
        Queue::from_arn(&arn(name)).unwrap(),
    )
}

/// An emulator serving the fixture's `sqs` function (writing each event to `sink`) with
/// `source`, polling `endpoint`.
async fn start(source: SqsSource, endpoint: &str, sink: &Path) -> Running {
    let mut function = fixture("sqs", "sqs");
    function
        .env
        .insert("FIXTURE_SINK".into(), sink.display().to_string());
    let options = Options {
        sqs_sources: vec![source],
        sqs_endpoint: Some(endpoint.to_owned()),
        ..Options::default()
    };
    Running::serve(Emulator::with_options([function], options).unwrap()).await
}

/// The mapping's entry in `GET /_lambkin`'s sources.
async fn status(emulator: &Running) -> Value {
    let reply = request(emulator.addr, "GET", "/_lambkin", &[], b"").await;
    assert_eq!(reply.status, 200);
    reply.json()["sources"][0].clone()
}

/// Waits until the mapping has run `batches` batches and has nothing in flight.
async fn settled(emulator: &Running, batches: u64) -> Value {
    bounded(async {
        loop {
            let status = status(emulator).await;
            if status["fired"].as_u64().unwrap() >= batches && status["inFlight"] == 0 {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// The bodies of a batch.
fn bodies(event: &Value) -> Vec<String> {
    let event: SqsEvent = serde_json::from_value(event.clone()).unwrap();
    event
        .records
        .into_iter()
        .map(|r| r.body.unwrap_or_default())
        .collect()
}

fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_five_messages_in_batches_of_ten_arrive_in_three_batches() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let scratch = Scratch::new("sqs-batches");
    let sink = scratch.path("events.jsonl");
    let url = moto.create_queue("batches", &[]).await;
    let sent = numbered("message", 25);
    moto.send(&url, &sent, None).await;

    let emulator = start(mapping("batches"), &moto.url(), &sink).await;
    let batches = wait_for_events(&sink, 3).await;
    let status = settled(&emulator, 3).await;
    assert_eq!(status["kind"], "sqs");
    assert_eq!(status["state"], "enabled");
    assert_eq!(status["function"], "sqs");
    assert!(status.get("lastError").is_none(), "{status}");
    assert_eq!(moto.counts(&url).await, (0, 0), "every message deleted");
    emulator.stop().await;

    let mut sizes: Vec<usize> = batches.iter().map(|b| bodies(b).len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 10, 10]);
    let received: BTreeSet<String> = batches.iter().flat_map(bodies).collect();
    assert_eq!(received, sent.into_iter().collect());

    // Each record as Lambda sends it.
    let record = &batches[0]["Records"][0];
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], arn("batches"));
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
    assert!(
        record["attributes"]["SentTimestamp"].is_string(),
        "{record}"
    );
    assert!(record["md5OfBody"].is_string(), "{record}");
    assert_eq!(
        record["messageAttributes"]["origin"]["stringValue"], "test",
        "{record}"
    );
    assert_eq!(record["messageAttributes"]["origin"]["dataType"], "String");
    assert_eq!(events(&sink).len(), 3, "no batch ran twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_batch_failure_leaves_exactly_the_failed_messages_on_the_queue() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let scratch = Scratch::new("sqs-partial");
    let sink = scratch.path("events.jsonl");
    // Long enough that the failed messages do not come back while the test looks.
    let url = moto
        .create_queue("partial", &["VisibilityTimeout=60"])
        .await;
    let sent: Vec<String> = ["ok-1", "fail-2", "ok-3", "ok-4", "fail-5", "ok-6"]
        .map(str::to_owned)
        .into();
    moto.send(&url, &sent, None).await;

    let mut source = mapping("partial");
    source.report_batch_item_failures = true;
    let emulator = start(source, &moto.url(), &sink).await;
    let batch = wait_for_events(&sink, 1).await.remove(0);
    let status = settled(&emulator, 1).await;
    emulator.stop().await;
    assert_eq!(bodies(&batch).len(), 6, "one batch of all six");
    assert!(
        status["lastError"]
            .as_str()
            .unwrap()
            .contains("2 of 6 messages failed"),
        "{status}"
    );

    // Only the two failures are left, both in flight until their visibility timeout.
    assert_eq!(moto.counts(&url).await, (0, 2));
    let records = batch["Records"].as_array().unwrap();
    let failed: HashSet<&str> = (records.iter())
        .filter(|r| r["body"].as_str().unwrap().starts_with("fail"))
        .map(|r| r["messageId"].as_str().unwrap())
        .collect();
    // Which are they? A deleted message's receipt handle (the event's) is no longer valid; a
    // message still in flight takes a new visibility timeout. (Not received again: the
    // emulator's last long poll, dropped at shutdown, may still be waiting in moto.)
    let mut left = HashSet::new();
    for record in records {
        let changed = lambkin_tests::awscli::aws(
            "sqs",
            moto.addr,
            Path::new("."),
            &[
                "change-message-visibility",
                "--queue-url",
                &url,
                "--receipt-handle",
                record["receiptHandle"].as_str().unwrap(),
                "--visibility-timeout",
                "60",
            ],
        )
        .await
        .unwrap();
        if changed.status.success() {
            left.insert(record["messageId"].as_str().unwrap());
        }
    }
    assert_eq!(left, failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_error_returns_the_whole_batch_after_the_visibility_timeout() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let scratch = Scratch::new("sqs-error");
    let sink = scratch.path("events.jsonl");
    let url = moto.create_queue("failing", &["VisibilityTimeout=1"]).await;
    let sent: Vec<String> = ["first", "error", "third"].map(str::to_owned).into();
    moto.send(&url, &sent, None).await;

    let emulator = start(mapping("failing"), &moto.url(), &sink).await;
    // The batch fails, comes back once its visibility timeout ends, and fails again.
    let batches = wait_for_events(&sink, 2).await;
    let status = status(&emulator).await;
    emulator.stop().await;
    assert!(
        status["lastError"]
            .as_str()
            .unwrap()
            .contains("the function failed"),
        "{status}"
    );
    let ids = |batch: &Value| -> BTreeSet<String> {
        (batch["Records"].as_array().unwrap().iter())
            .map(|r| r["messageId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&batches[0]).len(), 3);
    assert_eq!(ids(&batches[0]), ids(&batches[1]), "the same batch again");
    for record in batches[1]["Records"].as_array().unwrap() {
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "2");
    }
    let (visible, in_flight) = moto.counts(&url).await;
    assert_eq!(visible + in_flight, 3, "nothing deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_queue_keeps_each_message_group_in_order() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    let scratch = Scratch::new("sqs-fifo");
    let sink = scratch.path("events.jsonl");
    let url = moto.create_queue("ordered.fifo", &["FifoQueue=true"]).await;
    let groups = ["red", "blue"];
    for group in groups {
        moto.send(&url, &numbered(group, 8), Some(group)).await;
    }

    let mut source = mapping("ordered.fifo");
    // A group's 8 messages in two whole batches. moto fills a receive from every group that was
    // free when the receive began, so a size that does not divide 8 gives a batch holding the
    // end of one group and the start of the other; a long poll begun while both groups are in
    // flight then sees neither freed until it ends, 20 s later (SQS answers as soon as a group
    // frees).
    source.batch_size = 4;
    // As many batches at once as groups: the poller receives again only once a batch is done.
    source.maximum_concurrency = Some(2);
    let emulator = start(source, &moto.url(), &sink).await;
    // Batches of at most 4, so at least 2 per group.
    bounded(async {
        while events(&sink).iter().map(|b| bodies(b).len()).sum::<usize>() < 16 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let status = settled(&emulator, 1).await;
    emulator.stop().await;
    assert!(status.get("lastError").is_none(), "{status}");
    let batches = events(&sink);
    assert!(batches.iter().all(|b| bodies(b).len() <= 4));
    for group in groups {
        let seen: Vec<String> = (batches.iter().flat_map(bodies))
            .filter(|body| body.starts_with(group))
            .collect();
        assert_eq!(seen, numbered(group, 8), "{group} in order, each once");
    }
    let record = &batches[0]["Records"][0];
    assert!(
        record["attributes"]["MessageGroupId"].is_string(),
        "{record}"
    );
    assert!(
        record["attributes"]["SequenceNumber"].is_string(),
        "{record}"
    );
    assert_eq!(moto.counts(&url).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_reported_and_retried_while_the_emulator_serves() {
    // Nothing listens there yet.
    let addr = free_port();
    let scratch = Scratch::new("sqs-unreachable");
    let sink = scratch.path("events.jsonl");
    let emulator = start(mapping("late"), &format!("http://{addr}"), &sink).await;
    let status = bounded(async {
        loop {
            let status = status(&emulator).await;
            if status.get("lastError").is_some() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(status["state"], "enabled");
    let error = status["lastError"].as_str().unwrap();
    assert!(
        error.contains("GetQueueUrl") && error.contains(&arn("late")),
        "{error}"
    );
    // The emulator keeps serving.
    let reply = emulator
        .invoke(
            "sqs",
            &[],
            br#"{"Records": [{"messageId": "direct", "body": "ok"}]}"#,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // The queue appears: the mapping finds it on a later try and polls it.
    let Some(moto) = Moto::start_on(addr).await else {
        emulator.stop().await;
        return;
    };
    let url = moto.create_queue("late", &[]).await;
    moto.send(&url, &["at last".to_owned()], None).await;
    bounded(async {
        while !events(&sink).iter().any(|b| bodies(b) == ["at last"]) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    emulator.stop().await;
}
