//! The pollers of SQS event source mappings, on the AWS SDK for Rust.
//!
//! A mapping first finds its queue's URL (`GetQueueUrl`, by name and owner account), then
//! long-polls it (`ReceiveMessage`, 20 s waits, every attribute) until it has a batch:
//! `BatchSize` messages, or what arrived within `MaximumBatchingWindowInSeconds` of the first
//! (without a window, what one receive returned). Each batch runs in a task of its own, at most
//! the mapping's concurrency at once (one poller, unlike Lambda's five and more: a local queue
//! needs no more, and batches stay whole). A batch invokes the function synchronously, then
//! deletes the messages that succeeded; failed ones are left alone and come back when their visibility timeout ends,
//! as with Lambda (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>).
//! A FIFO queue keeps its message groups in order by itself: SQS hands out no message of a
//! group while another of that group is in flight, so a group's next batch waits for the
//! previous one to be deleted or to time out.
//!
//! Errors (an unreachable endpoint, a missing queue, no credentials) are logged, kept as the
//! mapping's `last_error` and retried with a growing pause; the emulator keeps serving. Every
//! wait ends when the emulator closes.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use bytes::Bytes;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use super::batch::{Verdict, batch_item_failures, event};
use super::{RECEIVE_MAX, SqsSource};
use crate::instance::{Invocation, Outcome, Refused, Trigger};
use crate::registry::{FunctionKey, Registry};
use crate::sources::{SourceState, SourceStatus, Sources, Status};
use crate::sync::{closed, lock};

/// SQS's longest long poll.
const LONG_POLL_SECONDS: i32 = 20;

/// A batch stops growing once its bodies reach this: Lambda's 6 MB invocation payload. (It
/// bounds a batch's memory too: one more receive adds at most ten messages.)
const BATCH_BYTES: usize = 6 * 1024 * 1024;

/// The first pause after an error, doubled after each further one up to [`MOST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// The longest pause between retries.
const MOST_PAUSE: Duration = Duration::from_secs(10);

/// Starts a poller for each of `sources` that is enabled, against `endpoint` (an SQS-compatible
/// server's URL) or, without one, AWS's endpoint of each queue's region with the standard
/// credential chain. Their statuses join `statuses`; they stop when `closing` says so.
pub(crate) fn start(
    sources: &[SqsSource],
    endpoint: Option<&str>,
    statuses: &Sources,
    registry: &Arc<Registry>,
    region: &str,
    closing: &watch::Receiver<bool>,
) {
    for source in sources {
        let status = statuses.add(SourceStatus {
            kind: "sqs",
            name: source.name.clone(),
            function: source.function.clone(),
            state: if source.enabled {
                SourceState::Enabled
            } else {
                SourceState::Disabled
            },
            next_fire: None,
            fired: 0,
            in_flight: Some(0),
            last_error: None,
        });
        if !source.enabled {
            continue;
        }
        let mapping = Mapping {
            source: source.clone(),
            arn: source.queue.arn(region),
            region: source
                .queue
                .region
                .clone()
                .unwrap_or_else(|| region.to_owned()),
            endpoint: endpoint.map(str::to_owned),
            registry: registry.clone(),
            status,
        };
        tokio::spawn(Arc::new(mapping).run(closing.clone()));
    }
}

/// A running mapping.
struct Mapping {
    source: SqsSource,
    /// The queue's ARN, as the event names it.
    arn: String,
    /// The queue's region (the event's `awsRegion`, the client's).
    region: String,
    endpoint: Option<String>,
    registry: Arc<Registry>,
    status: Status,
}

/// A mapping's connection: its client and its queue's URL.
struct Queue {
    client: Client,
    url: String,
}

impl Mapping {
    /// Connects (retrying until it can), then runs the workers until the emulator closes.
    async fn run(self: Arc<Self>, mut closing: watch::Receiver<bool>) {
        let mut pause = FIRST_PAUSE;
        let queue = loop {
            let connected = tokio::select! {
                connected = self.connect() => connected,
                () = closed(&mut closing) => return,
            };
            match connected {
                Ok(queue) => break Arc::new(queue),
                Err(error) => {
                    if !self.failed(error, &mut pause, &mut closing).await {
                        return;
                    }
                }
            }
        };
        tracing::info!(
            mapping = %self.source.name,
            function = %self.source.function,
            queue = %queue.url,
            "polling SQS"
        );
        self.poll(queue, closing).await;
    }

    /// The client and the queue's URL.
    async fn connect(&self) -> Result<Queue, String> {
        let target = lambkin_deploy::Target {
            endpoint_url: self.endpoint.clone(),
            region: Some(self.region.clone()),
            profile: None,
        };
        let config = lambkin_deploy::aws_config(&target)
            .await
            .map_err(|error| error.to_string())?;
        let mut sqs = aws_sdk_sqs::config::Builder::from(&config.shared);
        if let Some(url) = &config.endpoint_url {
            sqs = sqs.endpoint_url(url);
        }
        let client = Client::from_conf(sqs.build());
        let url = client
            .get_queue_url()
            .queue_name(&self.source.queue.name)
            .set_queue_owner_aws_account_id(self.source.queue.account.clone())
            .send()
            .await
            .map_err(|error| format!("GetQueueUrl {}: {}", self.arn, DisplayErrorContext(error)))?
            .queue_url
            .ok_or_else(|| format!("GetQueueUrl {}: no QueueUrl in the answer", self.arn))?;
        Ok(Queue { client, url })
    }

    /// Reports `error` and pauses before the next try (longer each time); `false` if the
    /// emulator closed meanwhile.
    async fn failed(
        &self,
        error: String,
        pause: &mut Duration,
        closing: &mut watch::Receiver<bool>,
    ) -> bool {
        tracing::warn!(
            mapping = %self.source.name,
            function = %self.source.function,
            %error,
            retry_in_ms = pause.as_millis() as u64,
            "SQS event source failed"
        );
        lock(&self.status).last_error = Some(error);
        let waited = tokio::select! {
            () = tokio::time::sleep(*pause) => true,
            () = closed(closing) => false,
        };
        *pause = (*pause * 2).min(MOST_PAUSE);
        waited
    }

    /// Gathers a batch, runs it in a task of its own, and again, with at most the mapping's
    /// concurrency of batches running.
    async fn poll(self: Arc<Self>, queue: Arc<Queue>, mut closing: watch::Receiver<bool>) {
        let running = Arc::new(Semaphore::new(self.source.concurrency() as usize));
        let mut pause = FIRST_PAUSE;
        loop {
            let permit = tokio::select! {
                permit = running.clone().acquire_owned() => permit,
                () = closed(&mut closing) => return,
            };
            // The semaphore is never closed.
            let Ok(permit) = permit else { return };
            let gathered = tokio::select! {
                gathered = self.gather(&queue) => gathered,
                () = closed(&mut closing) => return,
            };
            match gathered {
                Ok(messages) => {
                    pause = FIRST_PAUSE;
                    let mapping = self.clone();
                    let queue = queue.clone();
                    tokio::spawn(async move {
                        mapping.run_batch(&queue, messages).await;
                        drop(permit);
                    });
                }
                Err(error) => {
                    if !self.failed(error, &mut pause, &mut closing).await {
                        return;
                    }
                }
            }
        }
    }

    /// Receives until the batch is full (`BatchSize` messages, or 6 MB of bodies), or the
    /// batching window since its first message ended (without a window: until a receive
    /// returned something).
    async fn gather(&self, queue: &Queue) -> Result<Vec<Message>, String> {
        let size = self.source.batch_size as usize;
        let mut messages = Vec::new();
        let mut deadline = None;
        loop {
            let wait = match deadline {
                None => LONG_POLL_SECONDS,
                Some(deadline) => {
                    let left = deadline - Instant::now().min(deadline);
                    if left.is_zero() {
                        return Ok(messages);
                    }
                    // Whole seconds, rounded up: SQS waits in seconds.
                    i32::try_from(left.as_secs() + 1)
                        .unwrap_or(LONG_POLL_SECONDS)
                        .min(LONG_POLL_SECONDS)
                }
            };
            let want = (size - messages.len()).min(RECEIVE_MAX as usize);
            let received = queue
                .client
                .receive_message()
                .queue_url(&queue.url)
                .max_number_of_messages(i32::try_from(want).unwrap_or(1))
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            let received = match received {
                Ok(output) => output.messages.unwrap_or_default(),
                // What was received is in flight: run it; the error comes back at the next receive.
                Err(_) if !messages.is_empty() => return Ok(messages),
                Err(error) => {
                    return Err(format!(
                        "ReceiveMessage {}: {}",
                        self.arn,
                        DisplayErrorContext(error)
                    ));
                }
            };
            messages.extend(received);
            let bytes: usize = (messages.iter())
                .map(|m| m.body().map_or(0, str::len))
                .sum();
            if bytes >= BATCH_BYTES
                || messages.len() >= size
                || (!messages.is_empty() && self.source.batching_window.is_zero())
            {
                return Ok(messages);
            }
            if !messages.is_empty() {
                deadline.get_or_insert_with(|| Instant::now() + self.source.batching_window);
            }
        }
    }

    /// Invokes the function with `messages` and deletes those that succeeded (none when the
    /// emulator is closing: they return to the queue).
    async fn run_batch(&self, queue: &Queue, messages: Vec<Message>) {
        let count = messages.len();
        self.track(count, true);
        let ids: HashSet<&str> = messages.iter().filter_map(Message::message_id).collect();
        let verdict = self.invoke(&messages, &ids).await;
        let succeeded: Vec<&Message> = match &verdict {
            None => {
                self.track(count, false);
                return;
            }
            Some(Verdict::AllSucceeded) => messages.iter().collect(),
            Some(Verdict::Failed(failed)) => (messages.iter())
                .filter(|m| m.message_id().is_none_or(|id| !failed.contains(id)))
                .collect(),
            Some(Verdict::AllFailed(_)) => Vec::new(),
        };
        let deleted = self.delete(queue, &succeeded).await;
        let mut status = lock(&self.status);
        status.fired += 1;
        let failure = match verdict {
            Some(Verdict::AllFailed(why)) => Some(why),
            Some(Verdict::Failed(failed)) => Some(format!(
                "{} of {count} messages failed and return to the queue",
                failed.len()
            )),
            _ => None,
        };
        if let Some(failure) = failure.or(deleted.err()) {
            tracing::warn!(
                mapping = %self.source.name,
                function = %self.source.function,
                error = %failure,
                "SQS batch not fully processed"
            );
            status.last_error = Some(failure);
        }
        drop(status);
        self.track(count, false);
    }

    /// `count` more messages in flight (`adding`), or fewer.
    fn track(&self, count: usize, adding: bool) {
        let mut status = lock(&self.status);
        let now = status.in_flight.unwrap_or(0);
        status.in_flight = Some(if adding {
            now + count
        } else {
            now.saturating_sub(count)
        });
    }

    /// Runs the function on the batch; `None` when the emulator is closing.
    async fn invoke(&self, messages: &[Message], ids: &HashSet<&str>) -> Option<Verdict> {
        let key = FunctionKey::latest(&self.source.function);
        let Some(function) = self.registry.get(&key) else {
            return Some(Verdict::AllFailed(format!(
                "function {} is not served",
                self.source.function
            )));
        };
        let payload = match serde_json::to_vec(&event(messages, &self.arn, &self.region)) {
            Ok(payload) => payload,
            Err(error) => {
                return Some(Verdict::AllFailed(format!(
                    "cannot write the event: {error}"
                )));
            }
        };
        let invocation = Invocation::new(
            Bytes::from(payload),
            Trigger::Queue(self.source.name.clone()),
        );
        // Like Lambda's pollers, wait for the function rather than be throttled.
        match function.invoke(invocation, true).await {
            Ok(result) => Some(match result.outcome {
                Outcome::Success(answer) if self.source.report_batch_item_failures => {
                    batch_item_failures(&answer, ids)
                }
                Outcome::Success(_) => Verdict::AllSucceeded,
                Outcome::Unhandled(error) => Verdict::AllFailed(format!(
                    "the function failed: {}",
                    String::from_utf8_lossy(&error)
                )),
            }),
            Err(Refused::ShuttingDown) => None,
            Err(refused) => Some(Verdict::AllFailed(format!(
                "the invocation was refused: {refused:?}"
            ))),
        }
    }

    /// Deletes `messages` from the queue (`DeleteMessageBatch`, ten at a time).
    async fn delete(&self, queue: &Queue, messages: &[&Message]) -> Result<(), String> {
        for chunk in messages.chunks(RECEIVE_MAX as usize) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, message)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .set_receipt_handle(message.receipt_handle.clone())
                        .build()
                        .ok()
                })
                .collect();
            let output = queue
                .client
                .delete_message_batch()
                .queue_url(&queue.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| {
                    format!(
                        "DeleteMessageBatch {}: {}",
                        self.arn,
                        DisplayErrorContext(error)
                    )
                })?;
            if let Some(failed) = output.failed().first() {
                return Err(format!(
                    "DeleteMessageBatch {}: {} messages not deleted ({}: {})",
                    self.arn,
                    output.failed().len(),
                    failed.code(),
                    failed.message().unwrap_or_default()
                ));
            }
        }
        Ok(())
    }
}
