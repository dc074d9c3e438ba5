//! What subscribers receive: the records of the Telemetry API and of the older Logs API, as AWS
//! documents them, and the events the instance emits that they are written from.
//!
//! Telemetry API: <https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html>.
//! Logs API (`2020-08-15`, and `2021-03-18` with `platform.runtimeDone`):
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html#runtimes-logs-api-msg>.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::clock::rfc3339;

/// The API a subscription came through, which decides the schema its records follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `PUT /2022-07-01/telemetry`.
    Telemetry,
    /// `PUT /2020-08-15/logs`; `runtime_done` with schema `2021-03-18`.
    Logs { runtime_done: bool },
}

/// The three streams a subscription chooses from (`types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stream {
    /// Events of the platform: init, invocations, extensions, subscriptions.
    Platform,
    /// What the function writes to stdout and stderr.
    Function,
    /// What extensions write.
    Extension,
}

impl Stream {
    /// The stream named `name` in a subscription's `types`.
    pub(crate) fn parse(name: &str) -> Option<Stream> {
        match name {
            "platform" => Some(Stream::Platform),
            "function" => Some(Stream::Function),
            "extension" => Some(Stream::Extension),
            _ => None,
        }
    }
}

/// How an init or invocation ended (`status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Success,
    /// The function returned an error.
    Failure,
    /// The runtime or the platform failed (crash, out of memory, oversized answer).
    Error,
    Timeout,
}

/// One event in an instance's life, before it is written for a subscription's API.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// The instance's init started.
    InitStart {
        function_name: String,
        function_version: String,
    },
    /// The runtime finished its init (its first `/next`), or failed it.
    InitDone {
        status: Status,
        error_type: Option<String>,
        duration: Duration,
    },
    /// An invocation was handed to the runtime.
    Start { request_id: String, version: String },
    /// The runtime answered (or failed to).
    RuntimeDone {
        request_id: String,
        status: Status,
        error_type: Option<String>,
        duration: Duration,
        produced_bytes: Option<u64>,
    },
    /// The invocation's REPORT.
    Report {
        request_id: String,
        status: Status,
        error_type: Option<String>,
        metrics: ReportMetrics,
    },
    /// An extension registered (`state` `Ready`), or exited since.
    Extension {
        name: String,
        state: &'static str,
        events: Vec<&'static str>,
    },
    /// An extension subscribed through `api`.
    Subscribed {
        api: Api,
        name: String,
        types: Vec<Stream>,
    },
    /// Records were dropped before the subscriber acknowledged them.
    LogsDropped {
        reason: String,
        records: u64,
        bytes: u64,
    },
    /// A line of the function's or an extension's output; `object` is the line parsed, when
    /// the function logs JSON and the line is an object (the Telemetry API delivers it as one).
    Log {
        stream: Stream,
        text: String,
        object: Option<serde_json::Value>,
    },
}

/// A `function` or `extension` record: text, or the object a function logging JSON wrote.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum LogRecord<'a> {
    Text(&'a str),
    Json(&'a serde_json::Value),
}

/// `platform.report`'s metrics.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportMetrics {
    pub(crate) duration_ms: f64,
    pub(crate) billed_duration_ms: u64,
    #[serde(rename = "memorySizeMB")]
    pub(crate) memory_size_mb: u32,
    #[serde(rename = "maxMemoryUsedMB")]
    pub(crate) max_memory_used_mb: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) init_duration_ms: Option<f64>,
}

/// One record as delivered: `{"time": …, "type": …, "record": …}`.
#[derive(Debug, Serialize)]
pub(crate) struct Delivered<'a> {
    time: String,
    #[serde(flatten)]
    record: Record<'a>,
}

/// The `type` and `record` of a delivered record.
#[derive(Debug, Serialize)]
#[serde(tag = "type", content = "record")]
enum Record<'a> {
    #[serde(rename = "platform.initStart", rename_all = "camelCase")]
    InitStart {
        initialization_type: &'static str,
        phase: &'static str,
        function_name: &'a str,
        function_version: &'a str,
    },
    #[serde(rename = "platform.initRuntimeDone", rename_all = "camelCase")]
    InitRuntimeDone {
        initialization_type: &'static str,
        phase: &'static str,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_type: Option<&'a str>,
    },
    #[serde(rename = "platform.initReport", rename_all = "camelCase")]
    InitReport {
        initialization_type: &'static str,
        phase: &'static str,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_type: Option<&'a str>,
        metrics: DurationMetric,
    },
    #[serde(rename = "platform.start", rename_all = "camelCase")]
    Start {
        request_id: &'a str,
        version: &'a str,
    },
    #[serde(rename = "platform.runtimeDone", rename_all = "camelCase")]
    RuntimeDone {
        request_id: &'a str,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        metrics: Option<RuntimeDoneMetrics>,
    },
    /// Logs API only.
    #[serde(rename = "platform.end", rename_all = "camelCase")]
    End { request_id: &'a str },
    #[serde(rename = "platform.report", rename_all = "camelCase")]
    Report {
        request_id: &'a str,
        /// Not in the Logs API's report.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<Status>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_type: Option<&'a str>,
        metrics: &'a ReportMetrics,
    },
    #[serde(rename = "platform.extension")]
    Extension {
        name: &'a str,
        state: &'static str,
        events: &'a [&'static str],
    },
    #[serde(rename = "platform.telemetrySubscription")]
    TelemetrySubscription {
        name: &'a str,
        state: &'static str,
        types: &'a [Stream],
    },
    #[serde(rename = "platform.logsSubscription")]
    LogsSubscription {
        name: &'a str,
        state: &'static str,
        types: &'a [Stream],
    },
    #[serde(rename = "platform.logsDropped", rename_all = "camelCase")]
    LogsDropped {
        reason: &'a str,
        dropped_records: u64,
        dropped_bytes: u64,
    },
    #[serde(rename = "function")]
    Function(LogRecord<'a>),
    #[serde(rename = "extension")]
    ExtensionLog(LogRecord<'a>),
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DurationMetric {
    duration_ms: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeDoneMetrics {
    duration_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    produced_bytes: Option<u64>,
}

/// Milliseconds, as the schema's `durationMs` fields carry them.
pub(crate) fn ms(duration: Duration) -> f64 {
    // Two decimals, as REPORT shows them.
    (duration.as_secs_f64() * 100_000.0).round() / 100.0
}

/// Every instance is started on demand.
const ON_DEMAND: &str = "on-demand";

impl Event {
    /// The stream this event belongs to.
    pub(crate) fn stream(&self) -> Stream {
        match self {
            Event::Log { stream, .. } => *stream,
            _ => Stream::Platform,
        }
    }

    /// The records this event is for a subscriber of `api`, at `time`: none if that API has
    /// no such record, two for an init's end (`platform.initRuntimeDone` and
    /// `platform.initReport`) and for a Logs API `2021-03-18` runtime's end
    /// (`platform.runtimeDone` and `platform.end`).
    pub(crate) fn records(&self, api: Api, time: SystemTime) -> Vec<Delivered<'_>> {
        let telemetry = api == Api::Telemetry;
        let records = match self {
            Event::InitStart {
                function_name,
                function_version,
            } if telemetry => vec![Record::InitStart {
                initialization_type: ON_DEMAND,
                phase: "init",
                function_name,
                function_version,
            }],
            Event::InitDone {
                status,
                error_type,
                duration,
            } if telemetry => vec![
                Record::InitRuntimeDone {
                    initialization_type: ON_DEMAND,
                    phase: "init",
                    status: *status,
                    error_type: error_type.as_deref(),
                },
                Record::InitReport {
                    initialization_type: ON_DEMAND,
                    phase: "init",
                    status: *status,
                    error_type: error_type.as_deref(),
                    metrics: DurationMetric {
                        duration_ms: ms(*duration),
                    },
                },
            ],
            Event::InitStart { .. } | Event::InitDone { .. } => Vec::new(),
            Event::Start {
                request_id,
                version,
            } => vec![Record::Start {
                request_id,
                version,
            }],
            Event::RuntimeDone {
                request_id,
                status,
                error_type,
                duration,
                produced_bytes,
            } => match api {
                Api::Telemetry => vec![Record::RuntimeDone {
                    request_id,
                    status: *status,
                    error_type: error_type.as_deref(),
                    metrics: Some(RuntimeDoneMetrics {
                        duration_ms: ms(*duration),
                        produced_bytes: *produced_bytes,
                    }),
                }],
                Api::Logs { runtime_done } => {
                    let done = runtime_done.then_some(Record::RuntimeDone {
                        request_id,
                        status: *status,
                        error_type: None,
                        metrics: None,
                    });
                    done.into_iter()
                        .chain([Record::End { request_id }])
                        .collect()
                }
            },
            Event::Report {
                request_id,
                status,
                error_type,
                metrics,
            } => vec![Record::Report {
                request_id,
                status: telemetry.then_some(*status),
                error_type: error_type.as_deref().filter(|_| telemetry),
                metrics,
            }],
            Event::Extension {
                name,
                state,
                events,
            } => vec![Record::Extension {
                name,
                state,
                events,
            }],
            Event::Subscribed {
                api: subscribed,
                name,
                types,
            } if *subscribed == api => vec![if telemetry {
                Record::TelemetrySubscription {
                    name,
                    state: "Subscribed",
                    types,
                }
            } else {
                Record::LogsSubscription {
                    name,
                    state: "Subscribed",
                    types,
                }
            }],
            Event::Subscribed { .. } => Vec::new(),
            Event::LogsDropped {
                reason,
                records,
                bytes,
            } => vec![Record::LogsDropped {
                reason,
                dropped_records: *records,
                dropped_bytes: *bytes,
            }],
            Event::Log {
                stream,
                text,
                object,
            } => {
                // The Logs API's records are text.
                let line = match object {
                    Some(object) if telemetry => LogRecord::Json(object),
                    _ => LogRecord::Text(text),
                };
                vec![match stream {
                    Stream::Extension => Record::ExtensionLog(line),
                    _ => Record::Function(line),
                }]
            }
        };
        let time = rfc3339(time);
        records
            .into_iter()
            .map(|record| Delivered {
                time: time.clone(),
                record,
            })
            .collect()
    }
}
