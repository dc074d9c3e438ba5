//! `lambkin event` and `lambkin invoke`: sample events as AWS services send them, and a small
//! Invoke API client.
//!
//! Each sample goes through its `aws_lambda_events` type (deserialized, then serialized back),
//! so what is printed is exactly what a handler taking that type receives. HTTP samples are
//! made by the API Gateway mapping itself, from a `GET /hello?name=world` request.

use std::net::SocketAddr;

use base64::Engine;
use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

use aws_lambda_events::event as ev;

use crate::apigw::{self, EventOptions, PayloadFormat, Route, RouteTable};

/// The kinds of sample event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// API Gateway REST API (payload 1.0).
    ApigwV1,
    /// API Gateway HTTP API (payload 2.0).
    ApigwV2,
    /// Application Load Balancer.
    Alb,
    /// Lambda function URL.
    FunctionUrl,
    /// SQS messages.
    Sqs,
    /// SNS notification.
    Sns,
    /// S3 object created.
    S3,
    /// EventBridge event.
    Eventbridge,
    /// EventBridge scheduled event.
    Schedule,
    /// DynamoDB stream records.
    Dynamodb,
    /// Kinesis stream records.
    Kinesis,
    /// CloudWatch Logs subscription.
    CloudwatchLogs,
}

/// A sample event of `kind`.
pub fn event(kind: Kind) -> Value {
    match kind {
        Kind::ApigwV1 => http(PayloadFormat::Rest),
        Kind::ApigwV2 => http(PayloadFormat::Http),
        Kind::Alb => http(PayloadFormat::Alb),
        Kind::FunctionUrl => http(PayloadFormat::FunctionUrl),
        Kind::Sqs => sqs(),
        Kind::Sns => sns(),
        Kind::S3 => s3(),
        Kind::Eventbridge => eventbridge(),
        Kind::Schedule => schedule(),
        Kind::Dynamodb => dynamodb(),
        Kind::Kinesis => kinesis(),
        Kind::CloudwatchLogs => cloudwatch_logs(),
    }
}

/// When the sample events happen.
const TIME: &str = "2026-01-01T12:00:00Z";
/// The region in the samples' ARNs.
const REGION: &str = "us-east-1";
/// The account in the samples' ARNs: the emulator's.
const ACCOUNT: &str = crate::ACCOUNT_ID;

/// SQS messages.
fn sqs() -> Value {
    typed::<ev::sqs::SqsEvent>(json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": "{\"order\": 42}",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767268800000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1767268800001"
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:orders"),
        "awsRegion": REGION
    }]}))
}

/// An SNS notification.
fn sns() -> Value {
    typed::<ev::sns::SnsEvent>(json!({"Records": [{
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:orders:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"),
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": TIME,
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "Message": "Hello from SNS!",
            "MessageAttributes": {},
            "Type": "Notification",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "TopicArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:orders"),
            "Subject": "example"
        }
    }]}))
}

/// An S3 object created.
fn s3() -> Value {
    typed::<ev::s3::S3Event>(json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": TIME,
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "EXAMPLE123456789", "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "uploads",
            "bucket": {"name": "example-bucket", "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": "arn:aws:s3:::example-bucket"},
            "object": {"key": "uploads/photo.jpg", "size": 1024, "eTag": "0123456789abcdef0123456789abcdef", "sequencer": "0A1B2C3D4E5F678901"}
        }
    }]}))
}

/// An EventBridge event.
fn eventbridge() -> Value {
    typed::<ev::eventbridge::EventBridgeEvent>(json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "OrderPlaced",
        "source": "com.example.orders",
        "account": ACCOUNT,
        "time": TIME,
        "region": REGION,
        "resources": [],
        "detail": {"orderId": 42, "total": 19.99}
    }))
}

/// An EventBridge scheduled event.
fn schedule() -> Value {
    typed::<ev::cloudwatch_events::CloudWatchEvent>(json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": TIME,
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/every-hour")],
        "detail": {}
    }))
}

/// DynamoDB stream records.
fn dynamodb() -> Value {
    typed::<ev::dynamodb::Event>(json!({"Records": [{
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": 1767268800,
            "Keys": {"Id": {"N": "101"}},
            "NewImage": {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
            "SequenceNumber": "4421584500000000017450439091",
            "SizeBytes": 26,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/2026-01-01T00:00:00.000")
    }]}))
}

/// Kinesis stream records.
fn kinesis() -> Value {
    typed::<ev::kinesis::KinesisEvent>(json!({"Records": [{
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "1",
            "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
            "data": base64::engine::general_purpose::STANDARD.encode("Hello, this is a test."),
            "approximateArrivalTimestamp": 1767268800.0
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": format!("arn:aws:iam::{ACCOUNT}:role/lambda-role"),
        "awsRegion": REGION,
        "eventSourceARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks")
    }]}))
}

/// A CloudWatch Logs subscription's delivery.
fn cloudwatch_logs() -> Value {
    typed::<ev::cloudwatch_logs::LogsEvent>(json!({"awslogs": {"data": logs_data()}}))
}

/// The value through its type: exactly the JSON a handler taking `T` gets.
fn typed<T: Serialize + DeserializeOwned>(value: Value) -> Value {
    // From text, not from the `Value`: some types borrow their strings while deserializing.
    serde_json::from_str::<T>(&value.to_string())
        .and_then(serde_json::to_value)
        .unwrap_or_else(|e| json!({ "error": format!("sample does not fit {}: {e}", std::any::type_name::<T>()) }))
}

/// CloudWatch Logs sends its records gzipped and base64-encoded.
fn logs_data() -> String {
    use std::io::Write;
    let records = json!({
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": "/aws/lambda/hello",
        "logStream": "2026/01/01/[$LATEST]0123456789abcdef",
        "subscriptionFilters": ["errors"],
        "logEvents": [{"id": "37000000000000000000000000000000000000000000000000000000", "timestamp": 1767268800000_u64, "message": "ERROR something failed"}]
    });
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(records.to_string().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap_or_default())
}

/// An HTTP event of `format` for `GET /hello?name=world`, from the API Gateway mapping.
fn http(format: PayloadFormat) -> Value {
    let request = http::Request::get("/hello?name=world")
        .header("accept", "application/json")
        .header("user-agent", "curl/8.5.0")
        .header("host", "127.0.0.1:9000")
        .body(Bytes::new());
    let table =
        Route::parse("GET /hello", "hello", format).and_then(|route| RouteTable::new(vec![route]));
    let (Ok(request), Ok(table)) = (request, table) else {
        return Value::Null;
    };
    let Some(matched) = table.find(request.method(), request.uri().path()) else {
        return Value::Null;
    };
    let peer = SocketAddr::from(([127, 0, 0, 1], 50000));
    apigw::to_event(&request, peer, &matched, &EventOptions::default())
        .map_or(Value::Null, |m| m.event)
}

/// What the Invoke API answered.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// `X-Amz-Function-Error`, when the function failed.
    pub function_error: Option<String>,
    /// The decoded `X-Amz-Log-Result`, when logs were asked for.
    pub logs: Option<String>,
    /// The response body.
    pub body: String,
}

/// Invokes `function` on the emulator at `addr` (HTTP/1.1 over loopback).
pub async fn invoke(
    addr: SocketAddr,
    function: &str,
    payload: Vec<u8>,
    logs: bool,
) -> std::io::Result<Answer> {
    use http_body_util::{BodyExt, Full};
    let mut request = http::Request::post(format!("/2015-03-31/functions/{function}/invocations"))
        .header(http::header::HOST, addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/json");
    if logs {
        request = request.header("x-amz-log-type", "Tail");
    }
    let request = request.body(Full::new(Bytes::from(payload))).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{function}` cannot be part of a URL"),
        )
    })?;
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    // Ends once the response is read and `sender` dropped.
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    let (head, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let header = |name: &str| {
        head.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let logs = match header("x-amz-log-result") {
        Some(encoded) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "the emulator sent an X-Amz-Log-Result that is not base64",
                    )
                })?;
            Some(String::from_utf8_lossy(&decoded).into_owned())
        }
        None => None,
    };
    Ok(Answer {
        status: head.status.as_u16(),
        function_error: header("x-amz-function-error"),
        logs,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_sample_fits_its_type() {
        for kind in Kind::value_variants() {
            let event = event(*kind);
            assert!(
                event.is_object() && event.get("error").is_none(),
                "{kind:?}: {event}"
            );
        }
        assert_eq!(event(Kind::ApigwV2)["rawPath"], "/hello");
        assert_eq!(
            event(Kind::ApigwV1)["queryStringParameters"]["name"],
            "world"
        );
        assert_eq!(event(Kind::Sqs)["Records"][0]["eventSource"], "aws:sqs");
        assert_eq!(event(Kind::Schedule)["detail-type"], "Scheduled Event");
    }

    /// One connection's request, answered with `response` (raw HTTP/1.1).
    async fn answer_once(response: &'static str) -> (SocketAddr, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buf = [0; 4096];
            // The whole request: its head and the 7-byte payload the tests send.
            while !request.ends_with(b"\r\n\r\n{\"a\":1}") {
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "{}", String::from_utf8_lossy(&request));
                request.extend_from_slice(&buf[..n]);
            }
            stream.write_all(response.as_bytes()).await.unwrap();
            stream.shutdown().await.unwrap();
            String::from_utf8(request).unwrap()
        });
        (addr, served)
    }

    #[tokio::test]
    async fn invoke_reads_plain_and_chunked_answers() {
        let (addr, served) = answer_once(
            "HTTP/1.1 200 OK\r\nX-Amz-Function-Error: Unhandled\r\nX-Amz-Log-Result: aGk=\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
        )
        .await;
        let answer = invoke(addr, "hello", b"{\"a\":1}".to_vec(), true)
            .await
            .unwrap();
        assert_eq!((answer.status, answer.body.as_str()), (200, "{\"a\":1}"));
        assert_eq!(answer.function_error.as_deref(), Some("Unhandled"));
        assert_eq!(answer.logs.as_deref(), Some("hi"));
        let request = served.await.unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("post /2015-03-31/functions/hello/invocations http/1.1\r\n")
                && request.contains("x-amz-log-type: tail\r\n")
                && request.contains("content-length: 7\r\n"),
            "{request}"
        );

        let (addr, _) = answer_once(
            "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .await;
        let answer = invoke(addr, "f", b"{\"a\":1}".to_vec(), false)
            .await
            .unwrap();
        assert_eq!((answer.status, answer.body.as_str()), (404, "abcde"));
        assert_eq!((answer.function_error, answer.logs), (None, None));

        let (addr, _) = answer_once("garbage\r\n\r\n").await;
        assert!(
            invoke(addr, "f", b"{\"a\":1}".to_vec(), false)
                .await
                .is_err()
        );
    }
}
