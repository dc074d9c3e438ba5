//! What the SAM and serverless.yml readers share about SQS events: a queue of the template
//! (an `AWS::SQS::Queue` resource) as the poller knows it, and the hint of Lambda's limits.

use serde_yaml::{Mapping, Value};

use crate::sources::sqs::Queue;

/// Where Lambda's limits of an event source mapping are written.
pub(crate) const LIMITS_HINT: &str = "see Lambda's limits: https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html";

/// The hint for a `Queue` / `arn` that is not a queue.
pub(crate) const QUEUE_HINT: &str = "write the queue's ARN (arn:aws:sqs:REGION:ACCOUNT:NAME), or \
     refer to an AWS::SQS::Queue of the template (!GetAtt MyQueue.Arn)";

/// The queue that resource `id` of `resources` is, if it is an `AWS::SQS::Queue`: known by its
/// `QueueName`, else its logical id (with `.fifo` for a `FifoQueue`), in the emulator's region
/// and account.
pub(crate) fn template_queue(resources: &Mapping, id: &str) -> Option<Queue> {
    let resource = resources.get(id)?;
    if resource.get("Type").and_then(Value::as_str) != Some("AWS::SQS::Queue") {
        return None;
    }
    let field = |key: &str| resource.get("Properties").and_then(|p| p.get(key));
    let mut name = match field("QueueName") {
        Some(Value::String(name)) => name.clone(),
        _ => id.to_owned(),
    };
    let fifo = match field("FifoQueue") {
        Some(Value::Bool(fifo)) => *fifo,
        Some(Value::String(fifo)) => fifo.eq_ignore_ascii_case("true"),
        _ => false,
    };
    if fifo && !name.ends_with(".fifo") {
        name.push_str(".fifo");
    }
    Some(Queue::local(name))
}
