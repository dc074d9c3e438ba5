//! `sqs` events of a Serverless Framework function: `- sqs: <queue ARN>`, or a mapping with
//! `arn` (an ARN, or `Fn::GetAtt: [MyQueue, Arn]` of a queue under `resources.Resources`),
//! `batchSize`, `maximumBatchingWindow`, `functionResponseType: ReportBatchItemFailures`,
//! `enabled` and `maximumConcurrency`
//! (<https://www.serverless.com/framework/docs/providers/aws/events/sqs>). `filterPatterns` is
//! not read.

use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::super::sqs::{LIMITS_HINT, QUEUE_HINT, template_queue};
use super::super::yaml::{YPath, describe};
use super::super::{ConfigError, Problem};
use super::Reader;
use crate::sources::sqs::{Queue, SqsSource};

impl Reader<'_> {
    /// The mapping of `sqs` event `i` of `function`.
    pub(super) fn sqs_event(
        &self,
        owner: &str,
        function: &str,
        i: usize,
        body: &Value,
        path: &YPath,
    ) -> Result<SqsSource, ConfigError> {
        let what = format!("{owner}: sqs event");
        let (arn, map) = match body {
            Value::Mapping(m) => match m.get("arn") {
                Some(arn) => (arn, Some(m)),
                None => {
                    return Err(self.src.invalid(
                        path,
                        format!("{what} has no arn"),
                        "write `- sqs: arn:aws:sqs:…` or `- sqs:` with arn: and optionally \
                         batchSize:, maximumBatchingWindow:, functionResponseType:, enabled:, \
                         maximumConcurrency:",
                    ));
                }
            },
            other => (other, None),
        };
        let arn_at = if map.is_some() {
            path.key("arn")
        } else {
            path.clone()
        };
        let queue = self.sqs_queue(arn, &arn_at, &what)?;
        let mut source = SqsSource::new(format!("{function}-sqs-{i}"), function, queue);
        let field = |key: &str| map.and_then(|m| m.get(key)).map(|v| (v, path.key(key)));
        let number = |key: &str| -> Result<Option<u32>, ConfigError> {
            let Some((v, at)) = field(key) else {
                return Ok(None);
            };
            match self.integer(v, &at, &format!("{what}: {key}"))? {
                None => Ok(None),
                Some(n) => u32::try_from(n).map(Some).map_err(|_| {
                    self.src.invalid(
                        &at,
                        format!("{what}: {key} {n} is out of range"),
                        "write a positive whole number",
                    )
                }),
            }
        };
        if let Some(n) = number("batchSize")? {
            source.batch_size = n;
        }
        if let Some(n) = number("maximumBatchingWindow")? {
            source.batching_window = Duration::from_secs(n.into());
        }
        source.maximum_concurrency = number("maximumConcurrency")?;
        if let Some((v, at)) = field("enabled") {
            source.enabled = match v {
                Value::Bool(b) => *b,
                other => {
                    return Err(self.src.invalid(
                        &at,
                        format!("{what}: enabled is {}, not true or false", describe(other)),
                        "write enabled: false",
                    ));
                }
            };
        }
        if let Some((v, at)) = field("functionResponseType") {
            match self
                .text(v, &at, &format!("{what}: functionResponseType"))?
                .as_deref()
            {
                None => {}
                Some("ReportBatchItemFailures") => source.report_batch_item_failures = true,
                Some(other) => {
                    return Err(self.src.invalid(
                        &at,
                        format!(
                            "{what}: functionResponseType `{other}` is not ReportBatchItemFailures"
                        ),
                        "write functionResponseType: ReportBatchItemFailures",
                    ));
                }
            }
        }
        source.check().map_err(|(field, message)| {
            let key = match field {
                "BatchSize" => "batchSize",
                "MaximumBatchingWindowInSeconds" => "maximumBatchingWindow",
                _ => "maximumConcurrency",
            };
            let at = if map.is_some_and(|m| m.contains_key(key)) {
                path.key(key)
            } else {
                path.clone()
            };
            self.src.error(
                &at,
                Problem::invalid(format!("{what}: {key}: {message}"), LIMITS_HINT),
            )
        })?;
        Ok(source)
    }

    /// `arn`: an ARN, or `Fn::GetAtt: [Queue, Arn]` / `!GetAtt Queue.Arn` of a queue of
    /// `resources.Resources`.
    fn sqs_queue(&self, value: &Value, at: &YPath, what: &str) -> Result<Queue, ConfigError> {
        let referenced = match value {
            Value::Tagged(tagged) if tagged.tag == "GetAtt" => match &tagged.value {
                Value::String(text) => text.strip_suffix(".Arn"),
                _ => None,
            },
            Value::Mapping(m) => match m.get("Fn::GetAtt") {
                Some(Value::Sequence(items)) => match items.as_slice() {
                    [Value::String(id), Value::String(attribute)] if attribute == "Arn" => {
                        Some(id.as_str())
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        let resources = (self.root.get("resources"))
            .and_then(|r| r.get("Resources"))
            .and_then(Value::as_mapping);
        let empty = Mapping::new();
        if let Some(queue) =
            referenced.and_then(|id| template_queue(resources.unwrap_or(&empty), id))
        {
            return Ok(queue);
        }
        match self.text(value, at, &format!("{what}: arn"))? {
            Some(arn) => Queue::from_arn(&arn).map_err(|message| {
                self.src
                    .invalid(at, format!("{what}: {message}"), QUEUE_HINT)
            }),
            None => Err(self
                .src
                .invalid(at, format!("{what}: arn is empty"), QUEUE_HINT)),
        }
    }
}
