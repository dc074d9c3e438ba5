//! SQS event source mappings: a function invoked with batches of messages from a queue, as
//! Lambda's pollers do (<https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>).
//!
//! [`SqsSource`] is a mapping as the templates describe it (SAM `SQS` events, serverless.yml
//! `sqs` events), checked against Lambda's limits by [`SqsSource::check`]; it is read whether or
//! not the pollers are built in. The pollers (feature `sqs`, on the AWS SDK for Rust) live in
//! `poll.rs`: each receives messages from a real SQS API (AWS, or an SQS-compatible server
//! given by endpoint URL), invokes the function synchronously with the batch as an
//! `aws_lambda_events::sqs::SqsEvent`, deletes what succeeded and leaves the rest to the
//! queue's visibility timeout, as Lambda does.

#[cfg(feature = "sqs")]
mod batch;
#[cfg(feature = "sqs")]
mod poll;

use std::time::Duration;

#[cfg(feature = "sqs")]
pub(crate) use poll::start;

/// Why SQS events are not polled by a `lambkin` built without the `sqs` feature, and what to do.
pub const NOT_BUILT_IN: &str = "SQS events are not polled: this lambkin was built without its \
    `sqs` feature; rebuild it with `--features sqs` (e.g. `cargo install lambkin-emulator \
    --features sqs`, or `cargo run --features sqs` in its repository)";

/// Lambda's default `BatchSize` for SQS.
pub const DEFAULT_BATCH_SIZE: u32 = 10;

/// The most messages one `ReceiveMessage` call returns.
pub const RECEIVE_MAX: u32 = 10;

/// Lambda's largest `BatchSize` for a standard queue (a FIFO queue takes [`RECEIVE_MAX`]).
pub const MAX_BATCH_SIZE: u32 = 10_000;

/// Lambda's longest `MaximumBatchingWindowInSeconds`.
pub const MAX_BATCHING_WINDOW: Duration = Duration::from_secs(300);

/// How many batches run at once without `ScalingConfig.MaximumConcurrency` (Lambda starts
/// with five pollers and scales further; a local machine need not).
pub const DEFAULT_CONCURRENCY: u32 = 5;

/// Lambda's bounds of `ScalingConfig.MaximumConcurrency`.
pub const CONCURRENCY_RANGE: std::ops::RangeInclusive<u32> = 2..=1000;

/// A queue, from its ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`) or a queue of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// The queue's name (`.fifo` at the end: a FIFO queue).
    pub name: String,
    /// Its region (`None`: a queue of the template, in the emulator's region).
    pub region: Option<String>,
    /// The account owning it (`None`: a queue of the template, the caller's own).
    pub account: Option<String>,
}

impl Queue {
    /// A queue from its ARN.
    pub fn from_arn(arn: &str) -> Result<Queue, String> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            ["arn", _partition, "sqs", region, account, name]
                if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
            {
                Ok(Queue {
                    name: (*name).to_owned(),
                    region: Some((*region).to_owned()),
                    account: Some((*account).to_owned()),
                })
            }
            _ => Err(format!(
                "`{arn}` is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)"
            )),
        }
    }

    /// A queue of the template (`!GetAtt Queue.Arn`), known by its name only.
    pub fn local(name: impl Into<String>) -> Queue {
        Queue {
            name: name.into(),
            region: None,
            account: None,
        }
    }

    /// Whether it is a FIFO queue.
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }

    /// Its ARN, with `region` and the emulator's account for what it does not name.
    pub fn arn(&self, region: &str) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{}",
            self.region.as_deref().unwrap_or(region),
            self.account.as_deref().unwrap_or(crate::ACCOUNT_ID),
            self.name
        )
    }
}

/// One event source mapping from an SQS queue to a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsSource {
    /// The mapping's name (the function's and the event's).
    pub name: String,
    /// The function it invokes.
    pub function: String,
    /// The queue it polls.
    pub queue: Queue,
    /// `BatchSize`: the most messages in one invocation (1–10 000; 10 for FIFO queues).
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`: how long to gather messages before invoking (0–300 s;
    /// at least 1 s when `batch_size` is over 10).
    pub batching_window: Duration,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: the function names the messages that
    /// failed, and only those go back to the queue.
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency` (2–1000): the most invocations at once.
    pub maximum_concurrency: Option<u32>,
    /// `Enabled: false` turns it off.
    pub enabled: bool,
}

impl SqsSource {
    /// A mapping with Lambda's defaults: batches of 10, no window, one message failing fails its
    /// batch.
    pub fn new(name: impl Into<String>, function: impl Into<String>, queue: Queue) -> SqsSource {
        SqsSource {
            name: name.into(),
            function: function.into(),
            queue,
            batch_size: DEFAULT_BATCH_SIZE,
            batching_window: Duration::ZERO,
            report_batch_item_failures: false,
            maximum_concurrency: None,
            enabled: true,
        }
    }

    /// Lambda's rules for a mapping's settings
    /// (<https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html>):
    /// each broken one as the field's name and what is wrong.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let most = if self.queue.is_fifo() {
            RECEIVE_MAX
        } else {
            MAX_BATCH_SIZE
        };
        if !(1..=most).contains(&self.batch_size) {
            let queue = if self.queue.is_fifo() {
                "a FIFO"
            } else {
                "a standard"
            };
            return Err((
                "BatchSize",
                format!(
                    "{} is out of range: {queue} queue takes 1 to {most}",
                    self.batch_size
                ),
            ));
        }
        if self.batching_window > MAX_BATCHING_WINDOW {
            return Err((
                "MaximumBatchingWindowInSeconds",
                format!(
                    "{} is over {} seconds",
                    self.batching_window.as_secs(),
                    MAX_BATCHING_WINDOW.as_secs()
                ),
            ));
        }
        if self.batch_size > RECEIVE_MAX && self.batching_window.is_zero() {
            return Err((
                "MaximumBatchingWindowInSeconds",
                format!(
                    "a BatchSize over {RECEIVE_MAX} ({}) needs a batching window of at least 1 second",
                    self.batch_size
                ),
            ));
        }
        if let Some(n) = self.maximum_concurrency
            && !CONCURRENCY_RANGE.contains(&n)
        {
            return Err((
                "MaximumConcurrency",
                format!(
                    "{n} is out of range: {} to {}",
                    CONCURRENCY_RANGE.start(),
                    CONCURRENCY_RANGE.end()
                ),
            ));
        }
        Ok(())
    }

    /// How many batches may run at once.
    pub fn concurrency(&self) -> u32 {
        self.maximum_concurrency.unwrap_or(DEFAULT_CONCURRENCY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(queue: &str) -> SqsSource {
        SqsSource::new("m", "f", Queue::from_arn(queue).unwrap())
    }

    #[test]
    fn arns() {
        let queue = Queue::from_arn("arn:aws:sqs:eu-west-1:123456789012:orders.fifo").unwrap();
        assert_eq!(queue.name, "orders.fifo");
        assert_eq!(queue.region.as_deref(), Some("eu-west-1"));
        assert_eq!(queue.account.as_deref(), Some("123456789012"));
        assert!(queue.is_fifo());
        assert_eq!(
            queue.arn("us-east-1"),
            "arn:aws:sqs:eu-west-1:123456789012:orders.fifo"
        );
        for bad in [
            "orders",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1::q",
            "arn:aws:sqs:us-east-1:1:q:extra",
        ] {
            assert!(Queue::from_arn(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Queue::local("Jobs").arn("eu-central-1"),
            format!("arn:aws:sqs:eu-central-1:{}:Jobs", crate::ACCOUNT_ID)
        );
    }

    #[test]
    fn lambdas_limits() {
        let standard = "arn:aws:sqs:us-east-1:123456789012:q";
        let fifo = "arn:aws:sqs:us-east-1:123456789012:q.fifo";
        assert_eq!(source(standard).check(), Ok(()));
        let field = |s: SqsSource| s.check().unwrap_err().0;
        let with = |arn: &str, f: &dyn Fn(&mut SqsSource)| {
            let mut s = source(arn);
            f(&mut s);
            s
        };
        assert_eq!(field(with(standard, &|s| s.batch_size = 0)), "BatchSize");
        assert_eq!(
            field(with(standard, &|s| s.batch_size = 10_001)),
            "BatchSize"
        );
        assert_eq!(field(with(fifo, &|s| s.batch_size = 11)), "BatchSize");
        assert_eq!(
            field(with(standard, &|s| s.batch_size = 11)),
            "MaximumBatchingWindowInSeconds"
        );
        let big = with(standard, &|s| {
            s.batch_size = 10_000;
            s.batching_window = Duration::from_secs(1);
        });
        assert_eq!(big.check(), Ok(()));
        assert_eq!(
            field(with(standard, &|s| s.batching_window = Duration::from_secs(301))),
            "MaximumBatchingWindowInSeconds"
        );
        for bad in [1, 1001] {
            assert_eq!(
                field(with(standard, &|s| s.maximum_concurrency = Some(bad))),
                "MaximumConcurrency"
            );
        }
        assert_eq!(
            with(standard, &|s| s.maximum_concurrency = Some(2)).check(),
            Ok(())
        );
    }
}
