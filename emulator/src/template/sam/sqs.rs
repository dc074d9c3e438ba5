//! `SQS` events of a SAM function: an event source mapping from a queue
//! (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-sqs.html>).
//!
//! Read: `Queue` (an ARN, or `!GetAtt Queue.Arn` of an `AWS::SQS::Queue` of the template, known
//! locally by its `QueueName` or else its logical id), `BatchSize`,
//! `MaximumBatchingWindowInSeconds`, `FunctionResponseTypes`, `Enabled` and
//! `ScalingConfig.MaximumConcurrency`. `FilterCriteria`, `KmsKeyArn` and `MetricsConfig` are
//! not read.

use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::super::sqs::{LIMITS_HINT, QUEUE_HINT, template_queue};
use super::super::yaml::{YPath, describe};
use super::super::{ConfigError, Problem};
use super::function::referenced_resource;
use super::{Sam, optional_mapping};
use crate::sources::sqs::{Queue, SqsSource};

impl Sam<'_> {
    /// An `SQS` event of function `id`.
    pub(super) fn sqs_event(
        &self,
        id: &str,
        name: &str,
        event: &Mapping,
        path: &YPath,
    ) -> Result<SqsSource, ConfigError> {
        let what = format!("function `{id}`: event `{name}`");
        let props_path = path.key("Properties");
        let empty = Mapping::new();
        let props = optional_mapping(&self.src, event, path, "Properties")?.unwrap_or(&empty);
        let Some(queue_value) = props.get("Queue") else {
            return Err(self.src.invalid(
                &props_path,
                format!("{what} has no Queue"),
                "add Queue: with the queue's ARN or !GetAtt MyQueue.Arn",
            ));
        };
        let queue_at = props_path.key("Queue");
        let queue = self.queue(queue_value, &queue_at, &what)?;
        let mut source = SqsSource::new(format!("{id}{name}"), id, queue);
        let mut fields: Vec<(&'static str, YPath)> = vec![("Queue", queue_at)];
        let number = |key: &'static str, fields: &mut Vec<(&'static str, YPath)>| {
            let Some(v) = props.get(key) else {
                return Ok(None);
            };
            let at = props_path.key(key);
            let n = self.integer(v, &at, &format!("{what}: {key}"))?;
            fields.push((key, at.clone()));
            n.map(|n| {
                u32::try_from(n).map_err(|_| {
                    self.src.invalid(
                        &at,
                        format!("{what}: {key} {n} is out of range"),
                        "write a positive whole number",
                    )
                })
            })
            .transpose()
        };
        if let Some(n) = number("BatchSize", &mut fields)? {
            source.batch_size = n;
        }
        if let Some(n) = number("MaximumBatchingWindowInSeconds", &mut fields)? {
            source.batching_window = Duration::from_secs(n.into());
        }
        if let Some(v) = props.get("Enabled") {
            source.enabled = self.boolean(v, &props_path.key("Enabled"), &what)?;
        }
        if let Some(v) = props.get("FunctionResponseTypes") {
            let at = props_path.key("FunctionResponseTypes");
            source.report_batch_item_failures = self.response_types(v, &at, &what)?;
        }
        if let Some(scaling) = optional_mapping(&self.src, props, &props_path, "ScalingConfig")?
            && let Some(v) = scaling.get("MaximumConcurrency")
        {
            let at = props_path.key("ScalingConfig").key("MaximumConcurrency");
            let n = self.integer(v, &at, &format!("{what}: MaximumConcurrency"))?;
            source.maximum_concurrency = n.map(|n| u32::try_from(n).unwrap_or(0));
            fields.push(("MaximumConcurrency", at));
        }
        source.check().map_err(|(field, message)| {
            let at = fields
                .iter()
                .find(|(key, _)| *key == field)
                .map_or(&props_path, |(_, at)| at);
            self.at(
                at,
                id,
                &format!("event `{name}`: {field}"),
                Problem::invalid(message, LIMITS_HINT),
            )
        })?;
        Ok(source)
    }

    /// `Queue`: an ARN, or a queue of the template.
    fn queue(&self, value: &Value, at: &YPath, what: &str) -> Result<Queue, ConfigError> {
        if let Some(queue) =
            referenced_resource(value).and_then(|id| template_queue(self.resources, id))
        {
            return Ok(queue);
        }
        let hint = QUEUE_HINT;
        match self.string(value, at, &format!("{what}: Queue"))? {
            Some(arn) => Queue::from_arn(&arn)
                .map_err(|message| self.src.invalid(at, format!("{what}: {message}"), hint)),
            None => Err(self
                .src
                .invalid(at, format!("{what}: Queue is empty"), hint)),
        }
    }

    /// `FunctionResponseTypes`: empty, or `[ReportBatchItemFailures]`.
    fn response_types(&self, value: &Value, at: &YPath, what: &str) -> Result<bool, ConfigError> {
        let hint = "write FunctionResponseTypes: [ReportBatchItemFailures]";
        let Value::Sequence(items) = value else {
            return Err(self.src.invalid(
                at,
                format!(
                    "{what}: FunctionResponseTypes is {}, not a list",
                    describe(value)
                ),
                hint,
            ));
        };
        let mut report = false;
        for (i, item) in items.iter().enumerate() {
            match self.string(item, &at.index(i), what)?.as_deref() {
                Some("ReportBatchItemFailures") => report = true,
                other => {
                    return Err(self.src.invalid(
                        &at.index(i),
                        format!(
                            "{what}: FunctionResponseTypes: `{}` is not ReportBatchItemFailures",
                            other.unwrap_or_default()
                        ),
                        hint,
                    ));
                }
            }
        }
        Ok(report)
    }
}
