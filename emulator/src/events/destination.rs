//! Where an event's outcome goes: the invocation record Lambda sends to an `OnSuccess` or
//! `OnFailure` destination, and which destinations are local functions.
//!
//! AWS: <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>.
//! A dead-letter queue gets the event alone, without a record
//! (<https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq>).

use std::time::SystemTime;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::registry::FunctionKey;

/// Why a record is sent: `requestContext.condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Condition {
    Success,
    RetriesExhausted,
    EventAgeExceeded,
}

impl Condition {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Condition::Success => "Success",
            Condition::RetriesExhausted => "RetriesExhausted",
            Condition::EventAgeExceeded => "EventAgeExceeded",
        }
    }
}

/// What a record says about one event.
#[derive(Debug)]
pub(super) struct Outcome<'a> {
    /// The function's ARN with its version (`…:function:name:$LATEST`).
    pub(super) function_arn: String,
    /// The version that ran.
    pub(super) version: &'a str,
    pub(super) request_id: &'a str,
    pub(super) condition: Condition,
    /// Attempts that ran.
    pub(super) attempts: u32,
    pub(super) request: &'a Bytes,
    /// The last attempt's answer: the response, or the error for a failure; `None` when no
    /// attempt ran (an event too old before its first).
    pub(super) response: Option<&'a Bytes>,
}

impl Outcome<'_> {
    /// The invocation record, in AWS's schema.
    pub(super) fn record(&self, now: SystemTime) -> Value {
        let mut record = json!({
            "version": "1.0",
            "timestamp": rfc3339(now),
            "requestContext": {
                "requestId": self.request_id,
                "functionArn": self.function_arn,
                "condition": self.condition.as_str(),
                "approximateInvokeCount": self.attempts,
            },
            "requestPayload": payload(self.request),
        });
        if let Some(response) = self.response {
            let mut context = json!({ "statusCode": 200, "executedVersion": self.version });
            if self.condition != Condition::Success {
                // Lambda reports every error a Rust runtime posts as `Unhandled`.
                context["functionError"] = json!("Unhandled");
            }
            record["responseContext"] = context;
            record["responsePayload"] = payload(response);
        }
        record
    }
}

/// A payload as JSON (as Lambda embeds it); text that is not JSON as a string.
fn payload(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// The function a destination ARN names, if it names a Lambda function
/// (`arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`); `None` for an
/// SQS queue, SNS topic, EventBridge bus, S3 bucket or anything else.
pub(super) fn function(arn: &str) -> Option<FunctionKey> {
    let mut parts = arn.splitn(7, ':');
    let (Some("arn"), Some(_partition), Some("lambda"), Some(_region), Some(_account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let (Some("function"), Some(rest)) = (parts.next(), parts.next()) else {
        return None;
    };
    let (name, qualifier) = match rest.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (rest, None),
    };
    (!name.is_empty()).then(|| FunctionKey::new(name, qualifier))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn records_follow_aws_schema() {
        let request = Bytes::from_static(br#"{"order": 7}"#);
        let error = Bytes::from_static(br#"{"errorType":"E","errorMessage":"m"}"#);
        let failed = Outcome {
            function_arn: "arn:aws:lambda:us-east-1:012345678912:function:f:$LATEST".to_owned(),
            version: "$LATEST",
            request_id: "r-1",
            condition: Condition::RetriesExhausted,
            attempts: 3,
            request: &request,
            response: Some(&error),
        };
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(
            failed.record(at),
            json!({
                "version": "1.0",
                "timestamp": "2023-11-14T22:13:20.123Z",
                "requestContext": {
                    "requestId": "r-1",
                    "functionArn": "arn:aws:lambda:us-east-1:012345678912:function:f:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 3
                },
                "requestPayload": {"order": 7},
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled"
                },
                "responsePayload": {"errorType": "E", "errorMessage": "m"}
            })
        );
        let text = Bytes::from_static(b"plain");
        let succeeded = Outcome {
            condition: Condition::Success,
            attempts: 1,
            response: Some(&text),
            ..failed
        };
        let record = succeeded.record(at);
        assert_eq!(
            record["responseContext"],
            json!({"statusCode": 200, "executedVersion": "$LATEST"})
        );
        assert_eq!(record["responsePayload"], "plain");
        let expired = Outcome {
            condition: Condition::EventAgeExceeded,
            attempts: 0,
            response: None,
            ..succeeded
        };
        let record = expired.record(at);
        assert_eq!(record["requestContext"]["condition"], "EventAgeExceeded");
        assert!(record.get("responseContext").is_none());
        assert!(record.get("responsePayload").is_none());
    }

    #[test]
    fn only_lambda_arns_name_functions() {
        assert_eq!(
            function("arn:aws:lambda:us-east-1:012345678912:function:sink"),
            Some(FunctionKey::latest("sink"))
        );
        assert_eq!(
            function("arn:aws:lambda:eu-west-1:1:function:sink:3"),
            Some(FunctionKey::new("sink", Some("3")))
        );
        for other in [
            "arn:aws:sqs:us-east-1:012345678912:queue",
            "arn:aws:sns:us-east-1:012345678912:topic",
            "arn:aws:events:us-east-1:012345678912:event-bus/default",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-east-1:012345678912:layer:x",
            "sink",
        ] {
            assert_eq!(function(other), None, "{other}");
        }
    }
}
