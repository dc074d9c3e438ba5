//! A batch of messages as the function gets it, and which of them the function's answer says
//! failed.

use std::collections::{HashMap, HashSet};

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::Message;
use serde_json::Value;

/// The event of `messages` from the queue `arn` in `region`, as Lambda sends it
/// (<https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#example-standard-queue-message-event>).
pub(super) fn event(messages: &[Message], arn: &str, region: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|message| {
            let mut record = SqsMessage::default();
            record.message_id = message.message_id().map(str::to_owned);
            record.receipt_handle = message.receipt_handle().map(str::to_owned);
            record.body = message.body().map(str::to_owned);
            record.md5_of_body = message.md5_of_body().map(str::to_owned);
            record.md5_of_message_attributes =
                message.md5_of_message_attributes().map(str::to_owned);
            record.attributes = (message.attributes().into_iter().flatten())
                .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                .collect();
            record.message_attributes = (message.message_attributes().into_iter().flatten())
                .map(|(name, value)| {
                    let mut attribute = SqsMessageAttribute::default();
                    attribute.string_value = value.string_value().map(str::to_owned);
                    attribute.binary_value = value.binary_value().map(|b| base64_data(b.as_ref()));
                    attribute.string_list_values = value.string_list_values().to_vec();
                    attribute.binary_list_values = (value.binary_list_values().iter())
                        .map(|b| base64_data(b.as_ref()))
                        .collect();
                    attribute.data_type = Some(value.data_type().to_owned());
                    (name.clone(), attribute)
                })
                .collect::<HashMap<_, _>>();
            record.event_source_arn = Some(arn.to_owned());
            record.event_source = Some("aws:sqs".to_owned());
            record.aws_region = Some(region.to_owned());
            record
        })
        .collect();
    event
}

/// Bytes as the event's base64 fields hold them (the type cannot be built directly).
fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    data
}

/// What a function's answer says about its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Every message succeeded: all are deleted.
    AllSucceeded,
    /// These message ids failed; the others are deleted.
    Failed(HashSet<String>),
    /// The whole batch failed (a function error, an invalid answer): nothing is deleted.
    AllFailed(String),
}

/// Reads the `batchItemFailures` of `answer` for a batch of `ids`, by Lambda's rules
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting>):
/// an empty or null answer or list is a complete success; an answer that is not JSON, an
/// `itemIdentifier` that is missing, null, empty or not a message of the batch is a complete
/// failure.
pub(super) fn batch_item_failures(answer: &[u8], ids: &HashSet<&str>) -> Verdict {
    if answer.iter().all(u8::is_ascii_whitespace) {
        return Verdict::AllSucceeded;
    }
    let invalid =
        |why: &str| Verdict::AllFailed(format!("invalid batchItemFailures answer: {why}"));
    let answer: Value = match serde_json::from_slice(answer) {
        Ok(answer) => answer,
        Err(error) => return invalid(&format!("not JSON ({error})")),
    };
    let failures = match &answer {
        Value::Null => return Verdict::AllSucceeded,
        Value::Object(fields) => match fields.get("batchItemFailures") {
            None | Some(Value::Null) => return Verdict::AllSucceeded,
            Some(Value::Array(failures)) => failures,
            Some(_) => return invalid("batchItemFailures is not a list"),
        },
        _ => return invalid("not an object"),
    };
    let mut failed = HashSet::new();
    for failure in failures {
        match failure.get("itemIdentifier") {
            Some(Value::String(id)) if ids.contains(id.as_str()) => {
                failed.insert(id.clone());
            }
            Some(Value::String(id)) if id.is_empty() => return invalid("an empty itemIdentifier"),
            Some(Value::String(id)) => {
                return invalid(&format!(
                    "itemIdentifier `{id}` is not a message of the batch"
                ));
            }
            Some(Value::Null) | None => return invalid("an item without itemIdentifier"),
            Some(_) => return invalid("an itemIdentifier that is not a string"),
        }
    }
    if failed.is_empty() {
        Verdict::AllSucceeded
    } else {
        Verdict::Failed(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName};

    fn verdict(answer: &str) -> Verdict {
        batch_item_failures(answer.as_bytes(), &HashSet::from(["a", "b", "c"]))
    }

    #[test]
    fn complete_successes() {
        for answer in [
            "",
            "  ",
            "null",
            "{}",
            r#"{"batchItemFailures": null}"#,
            r#"{"batchItemFailures": []}"#,
        ] {
            assert_eq!(verdict(answer), Verdict::AllSucceeded, "{answer}");
        }
    }

    #[test]
    fn partial_failures() {
        assert_eq!(
            verdict(r#"{"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}"#),
            Verdict::Failed(HashSet::from(["b".to_owned(), "c".to_owned()]))
        );
    }

    #[test]
    fn complete_failures() {
        for answer in [
            "{not json",
            r#""ok""#,
            r#"{"batchItemFailures": {"itemIdentifier": "a"}}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": ""}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": null}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifer": "a"}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": "z"}]}"#,
            r#"{"batchItemFailures": [{"itemIdentifier": 1}]}"#,
        ] {
            assert!(
                matches!(verdict(answer), Verdict::AllFailed(_)),
                "{answer}: {:?}",
                verdict(answer)
            );
        }
    }

    #[test]
    fn the_event_as_lambda_sends_it() {
        let message = Message::builder()
            .message_id("id-1")
            .receipt_handle("rh")
            .body("hello")
            .md5_of_body("5d41402abc4b2a76b9719d911017c592")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "1")
            .attributes(MessageSystemAttributeName::MessageGroupId, "g")
            .message_attributes(
                "colour",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("blue")
                    .build()
                    .unwrap(),
            )
            .build();
        let arn = "arn:aws:sqs:eu-west-1:123456789012:q.fifo";
        let json = serde_json::to_value(event(&[message], arn, "eu-west-1")).unwrap();
        let record = &json["Records"][0];
        assert_eq!(record["messageId"], "id-1");
        assert_eq!(record["receiptHandle"], "rh");
        assert_eq!(record["body"], "hello");
        assert_eq!(record["md5OfBody"], "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
        assert_eq!(record["attributes"]["MessageGroupId"], "g");
        assert_eq!(record["messageAttributes"]["colour"]["stringValue"], "blue");
        assert_eq!(record["messageAttributes"]["colour"]["dataType"], "String");
        assert_eq!(record["eventSource"], "aws:sqs");
        assert_eq!(record["eventSourceARN"], arn);
        assert_eq!(record["awsRegion"], "eu-west-1");
        // And it reads back as the type functions use.
        let back: SqsEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back.records.len(), 1);
    }
}
