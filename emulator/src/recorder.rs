//! The dashboard's memory: a bounded ring of recent invocations (event, answer, log tail,
//! REPORT), a live feed of them, and the counters behind the dashboard's charts and
//! `GET /_lambkin/metrics`.
//!
//! Every invocation a function runs passes [`Recorder::record`] once it ends
//! ([`Function::invoke`](crate::pool::Function::invoke)); the hot path only clones reference
//! counted bodies (cut to [`RecorderLimits::body_bytes`]), takes one lock to push the record
//! and update counters, and sends it to the live feed's subscribers, if any.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::clock::epoch_ms;
use crate::config::FunctionConfig;
use crate::instance::{Invocation, InvokeResult, Outcome, Refused};
use crate::sync::lock;

/// How much the recorder keeps (see [`Options::recorder`](crate::Options::recorder)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderLimits {
    /// The most invocations kept (default 500); older ones are forgotten first. 0 keeps none.
    pub invocations: usize,
    /// The most bytes of events, answers and logs kept over all of them (default 32 MiB).
    pub bytes: usize,
    /// The most bytes kept of one event or one answer (default 64 KiB); the rest is cut, with
    /// a note. An invocation whose event was cut cannot be replayed.
    pub body_bytes: usize,
}

impl Default for RecorderLimits {
    fn default() -> Self {
        RecorderLimits {
            invocations: 500,
            bytes: 32 << 20,
            body_bytes: 64 << 10,
        }
    }
}

/// How many invocations a live-feed subscriber may fall behind before it skips some.
const FEED_BUFFER: usize = 256;

/// How many seconds of invocation and error counts the charts get.
const SECONDS_KEPT: usize = 60;

/// How many recent durations per function the percentiles are taken over.
const DURATIONS_KEPT: usize = 256;

/// How many instances' memory the recorder remembers (the most recently seen).
const INSTANCES_KEPT: usize = 64;

/// The upper bounds of the duration histogram, in seconds (Prometheus's default buckets).
const DURATION_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// The function answered.
    Success,
    /// The function (or the emulator on its behalf: timeout, crash) returned an error.
    Error,
    /// It was not run: over a concurrency limit or no instance became free.
    Throttled,
    /// It was not run: the emulator is stopping or failed.
    Refused,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Throttled => "throttled",
            Status::Refused => "refused",
        }
    }
}

/// A body as kept: at most [`RecorderLimits::body_bytes`] of it, and its real length.
#[derive(Debug, Clone)]
struct Kept {
    bytes: Bytes,
    len: usize,
}

impl Kept {
    fn new(body: &Bytes, cap: usize) -> Kept {
        Kept {
            bytes: body.slice(..body.len().min(cap)),
            len: body.len(),
        }
    }

    fn truncated(&self) -> bool {
        self.bytes.len() < self.len
    }

    fn json(&self) -> Value {
        let mut value = json!({
            "body": String::from_utf8_lossy(&self.bytes),
            "bytes": self.len,
        });
        if self.truncated() {
            value["note"] = Value::from(format!(
                "truncated: the first {} of {} bytes are kept",
                self.bytes.len(),
                self.len
            ));
        }
        value
    }
}

/// One recorded invocation.
#[derive(Debug)]
pub(crate) struct Record {
    /// The recorder's number for it, increasing (the dashboard's id).
    pub(crate) seq: u64,
    /// The function's name and the version that ran it.
    pub(crate) function: String,
    pub(crate) version: String,
    pub(crate) request_id: String,
    /// When it was asked for, in milliseconds since the Unix epoch.
    time_ms: u64,
    trigger: String,
    pub(crate) status: Status,
    /// The `errorType` of an error answer.
    error_type: Option<String>,
    /// The process id of the instance that ran it.
    instance: Option<u32>,
    /// REPORT's numbers (none when no instance ran it).
    report: Option<crate::telemetry::ReportMetrics>,
    event: Kept,
    response: Option<Kept>,
    log: String,
    /// The HTTP request behind it (API Gateway, function URL), when its body is within
    /// [`RecorderLimits::body_bytes`]: a replay goes through the same route.
    http: Option<crate::instance::HttpRequest>,
}

impl Record {
    /// The bytes it holds (what counts against [`RecorderLimits::bytes`]).
    fn size(&self) -> usize {
        self.event.bytes.len()
            + self.response.as_ref().map_or(0, |r| r.bytes.len())
            + self.log.len()
            + self
                .http
                .as_ref()
                .map_or(0, crate::instance::HttpRequest::size)
    }

    /// What the invocation list shows.
    pub(crate) fn summary(&self) -> Value {
        let report = self.report.as_ref();
        json!({
            "id": self.seq,
            "requestId": self.request_id,
            "time": self.time_ms,
            "function": self.function,
            "version": self.version,
            "trigger": self.trigger,
            "status": self.status.as_str(),
            "errorType": self.error_type,
            "instance": self.instance,
            "coldStart": report.is_some_and(|r| r.init_duration_ms.is_some()),
            "initDurationMs": report.and_then(|r| r.init_duration_ms),
            "durationMs": report.map(|r| r.duration_ms),
            "billedDurationMs": report.map(|r| r.billed_duration_ms),
            "memorySizeMb": report.map(|r| r.memory_size_mb),
            "maxMemoryUsedMb": report.map(|r| r.max_memory_used_mb),
        })
    }

    /// Everything kept of it: the summary, event, answer and log lines (REPORT included).
    pub(crate) fn detail(&self) -> Value {
        let mut detail = self.summary();
        detail["event"] = self.event.json();
        detail["response"] = self.response.as_ref().map_or(Value::Null, Kept::json);
        detail["log"] = Value::from(self.log.as_str());
        detail["replayable"] = Value::from(self.replay().is_some() || self.http.is_some());
        detail
    }

    /// The HTTP request to replay it through its route, if it came through one and was kept.
    pub(crate) fn http_request(&self) -> Option<&crate::instance::HttpRequest> {
        self.http.as_ref()
    }

    /// The whole event, if it was kept whole.
    pub(crate) fn replay(&self) -> Option<Bytes> {
        (!self.event.truncated()).then(|| self.event.bytes.clone())
    }
}

/// The counters of one function (all its versions).
#[derive(Debug, Default)]
struct FunctionCounters {
    by_status: [u64; 4],
    cold_starts: u64,
    /// Invocations that ran, per duration bucket (the last: over every bound).
    buckets: [u64; DURATION_BUCKETS.len() + 1],
    duration_sum_s: f64,
    recent: VecDeque<f64>,
}

/// The memory an instance used at its last invocation.
#[derive(Debug)]
struct InstanceMemory {
    function: String,
    max_memory_used_mb: u64,
    memory_size_mb: u32,
    /// The record that saw it last (the oldest are forgotten first).
    seen: u64,
}

#[derive(Debug, Default)]
struct State {
    records: VecDeque<Arc<Record>>,
    bytes: usize,
    next_seq: u64,
    functions: BTreeMap<String, FunctionCounters>,
    /// (second since the epoch, invocations, errors), oldest first.
    seconds: VecDeque<(u64, u64, u64)>,
    instances: BTreeMap<u32, InstanceMemory>,
}

/// Recent invocations and the emulator's counters; one per emulator.
#[derive(Debug)]
pub(crate) struct Recorder {
    limits: RecorderLimits,
    state: Mutex<State>,
    feed: broadcast::Sender<Arc<Record>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new(RecorderLimits::default())
    }
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl Recorder {
    /// A recorder keeping what `limits` allow.
    pub(crate) fn new(limits: RecorderLimits) -> Recorder {
        Recorder {
            limits,
            state: Mutex::default(),
            feed: broadcast::channel(FEED_BUFFER).0,
        }
    }

    /// Records `invocation` of `config`'s function, asked for at `asked`, ended with `result`.
    pub(crate) fn record(
        &self,
        config: &FunctionConfig,
        invocation: &Invocation,
        asked: SystemTime,
        result: &Result<InvokeResult, Refused>,
    ) {
        let cap = self.limits.body_bytes;
        let (status, response, error_type, log, report) = match result {
            Ok(result) => {
                let (status, body) = match &result.outcome {
                    Outcome::Success(body) => (Status::Success, body),
                    Outcome::Unhandled(body) => (Status::Error, body),
                };
                let error_type = (status == Status::Error)
                    .then(|| serde_json::from_slice::<Value>(body).ok())
                    .flatten()
                    .and_then(|v| v["errorType"].as_str().map(str::to_owned));
                let log = result.log_tail.clone();
                (
                    status,
                    Some(Kept::new(body, cap)),
                    error_type,
                    log,
                    result.report.as_ref(),
                )
            }
            Err(Refused::Throttled(_) | Refused::NoInstance) => {
                (Status::Throttled, None, None, String::new(), None)
            }
            Err(Refused::ShuttingDown | Refused::Internal) => {
                (Status::Refused, None, None, String::new(), None)
            }
        };
        let mut record = Record {
            seq: 0,
            function: config.name.clone(),
            version: config.version.clone(),
            request_id: invocation.request_id.clone(),
            time_ms: epoch_ms(asked),
            trigger: invocation.trigger.to_string(),
            status,
            error_type,
            instance: report.and_then(|r| r.instance),
            report: report.map(|r| r.metrics.clone()),
            event: Kept::new(&invocation.payload, cap),
            response,
            log,
            http: invocation
                .trigger
                .http_request()
                .filter(|http| http.request.body().len() <= cap)
                .cloned(),
        };
        let record = {
            let mut state = lock(&self.state);
            state.next_seq += 1;
            record.seq = state.next_seq;
            state.count(&record, now().as_secs());
            let record = Arc::new(record);
            state.keep(record.clone(), &self.limits);
            record
        };
        if self.feed.receiver_count() > 0 {
            // No subscriber left between the check and the send is no error worth handling.
            let _ = self.feed.send(record);
        }
    }

    /// Every invocation recorded from now on, as it ends. A subscriber that falls more than
    /// [`FEED_BUFFER`] behind skips the oldest (and is told how many it missed).
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.feed.subscribe()
    }

    /// The recent invocations, oldest first.
    pub(crate) fn recent(&self) -> Vec<Arc<Record>> {
        lock(&self.state).records.iter().cloned().collect()
    }

    /// The recorded invocation numbered `seq`, if it is still kept.
    pub(crate) fn get(&self, seq: u64) -> Option<Arc<Record>> {
        let state = lock(&self.state);
        let first = state.records.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        state.records.get(index).cloned()
    }

    /// What the charts draw: invocations and errors per second over the last minute, duration
    /// percentiles per function, memory per instance.
    pub(crate) fn charts(&self) -> Value {
        let state = lock(&self.state);
        let now = now().as_secs();
        let from = now.saturating_sub(SECONDS_KEPT as u64 - 1);
        let per_second: Vec<Value> = (from..=now)
            .map(|second| {
                let (invocations, errors) = state
                    .seconds
                    .iter()
                    .find(|(s, _, _)| *s == second)
                    .map_or((0, 0), |(_, i, e)| (*i, *e));
                json!({ "time": second * 1000, "invocations": invocations, "errors": errors })
            })
            .collect();
        let durations: BTreeMap<&str, Value> = state
            .functions
            .iter()
            .map(|(name, counters)| {
                let mut sorted: Vec<f64> = counters.recent.iter().copied().collect();
                sorted.sort_by(f64::total_cmp);
                let percentile = |p: f64| {
                    let rank = (p * sorted.len() as f64).ceil() as usize;
                    sorted.get(rank.saturating_sub(1)).copied()
                };
                let value = json!({
                    "count": sorted.len(),
                    "p50": percentile(0.5),
                    "p90": percentile(0.9),
                    "p99": percentile(0.99),
                });
                (name.as_str(), value)
            })
            .collect();
        let instances: Vec<Value> = state
            .instances
            .iter()
            .map(|(pid, memory)| {
                json!({
                    "instance": pid,
                    "function": memory.function,
                    "maxMemoryUsedMb": memory.max_memory_used_mb,
                    "memorySizeMb": memory.memory_size_mb,
                })
            })
            .collect();
        json!({
            "perSecond": per_second,
            "durationMs": durations,
            "instances": instances,
        })
    }

    /// The counters in Prometheus's text exposition format
    /// (<https://prometheus.io/docs/instrumenting/exposition_formats/>).
    pub(crate) fn write_metrics(&self, out: &mut String) {
        let state = lock(&self.state);
        header(
            out,
            "lambkin_invocations_total",
            "counter",
            "Invocations that ended, by function and status.",
        );
        for (name, counters) in &state.functions {
            for status in [
                Status::Success,
                Status::Error,
                Status::Throttled,
                Status::Refused,
            ] {
                let count = counters.by_status[status as usize];
                let _ = writeln!(
                    out,
                    "lambkin_invocations_total{{function=\"{}\",status=\"{}\"}} {count}",
                    escape(name),
                    status.as_str()
                );
            }
        }
        header(
            out,
            "lambkin_cold_starts_total",
            "counter",
            "Invocations that waited for an instance's init.",
        );
        for (name, counters) in &state.functions {
            let _ = writeln!(
                out,
                "lambkin_cold_starts_total{{function=\"{}\"}} {}",
                escape(name),
                counters.cold_starts
            );
        }
        header(
            out,
            "lambkin_duration_seconds",
            "histogram",
            "REPORT's Duration of invocations that ran.",
        );
        for (name, counters) in &state.functions {
            let name = escape(name);
            let mut cumulative = 0;
            for (i, count) in counters.buckets.iter().enumerate() {
                cumulative += count;
                let le = DURATION_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_owned(), f64::to_string);
                let _ = writeln!(
                    out,
                    "lambkin_duration_seconds_bucket{{function=\"{name}\",le=\"{le}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "lambkin_duration_seconds_sum{{function=\"{name}\"}} {}\nlambkin_duration_seconds_count{{function=\"{name}\"}} {cumulative}",
                counters.duration_sum_s
            );
        }
        header(
            out,
            "lambkin_instance_max_memory_used_bytes",
            "gauge",
            "REPORT's Max Memory Used of each instance's last invocation.",
        );
        for (pid, memory) in &state.instances {
            let _ = writeln!(
                out,
                "lambkin_instance_max_memory_used_bytes{{function=\"{}\",instance=\"{pid}\"}} {}",
                escape(&memory.function),
                memory.max_memory_used_mb << 20
            );
        }
        header(
            out,
            "lambkin_recorded_invocations",
            "gauge",
            "Invocations the dashboard keeps.",
        );
        let _ = writeln!(out, "lambkin_recorded_invocations {}", state.records.len());
        header(
            out,
            "lambkin_recorded_bytes",
            "gauge",
            "Bytes of events, answers and logs the dashboard keeps.",
        );
        let _ = writeln!(out, "lambkin_recorded_bytes {}", state.bytes);
    }
}

impl State {
    /// Counts `record`, which ended at `second` (since the epoch).
    fn count(&mut self, record: &Record, second: u64) {
        let counters = self.functions.entry(record.function.clone()).or_default();
        counters.by_status[record.status as usize] += 1;
        if let Some(report) = &record.report {
            if report.init_duration_ms.is_some() {
                counters.cold_starts += 1;
            }
            let seconds = report.duration_ms / 1000.0;
            let bucket = DURATION_BUCKETS
                .iter()
                .position(|bound| seconds <= *bound)
                .unwrap_or(DURATION_BUCKETS.len());
            counters.buckets[bucket] += 1;
            counters.duration_sum_s += seconds;
            if counters.recent.len() == DURATIONS_KEPT {
                counters.recent.pop_front();
            }
            counters.recent.push_back(report.duration_ms);
            if let Some(pid) = record.instance {
                self.instances.insert(
                    pid,
                    InstanceMemory {
                        function: record.function.clone(),
                        max_memory_used_mb: report.max_memory_used_mb,
                        memory_size_mb: report.memory_size_mb,
                        seen: record.seq,
                    },
                );
                if self.instances.len() > INSTANCES_KEPT {
                    let oldest = self.instances.iter().min_by_key(|(_, m)| m.seen);
                    if let Some(oldest) = oldest.map(|(pid, _)| *pid) {
                        self.instances.remove(&oldest);
                    }
                }
            }
        }
        let error = u64::from(record.status != Status::Success);
        match self.seconds.back_mut() {
            Some((last, invocations, errors)) if *last == second => {
                *invocations += 1;
                *errors += error;
            }
            _ => self.seconds.push_back((second, 1, error)),
        }
        while self
            .seconds
            .front()
            .is_some_and(|(s, _, _)| s + (SECONDS_KEPT as u64) <= second)
        {
            self.seconds.pop_front();
        }
    }

    /// Keeps `record`, forgetting the oldest until the limits hold.
    fn keep(&mut self, record: Arc<Record>, limits: &RecorderLimits) {
        self.bytes += record.size();
        self.records.push_back(record);
        while self.records.len() > limits.invocations
            || (self.bytes > limits.bytes && !self.records.is_empty())
        {
            if let Some(old) = self.records.pop_front() {
                self.bytes -= old.size();
            }
        }
    }
}

/// A metric's `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format writes it: `\`, `"` and newlines escaped.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::{RunReport, Trigger};
    use crate::telemetry::ReportMetrics;

    fn invocation(payload: &str) -> Invocation {
        Invocation {
            request_id: "r".to_owned(),
            payload: Bytes::from(payload.to_owned()),
            trace_id: String::new(),
            client_context: None,
            cognito_identity: None,
            stream: None,
            trigger: Trigger::Invoke {
                asynchronous: false,
            },
        }
    }

    fn answered(body: &str, duration_ms: f64, init: Option<f64>) -> Result<InvokeResult, Refused> {
        Ok(InvokeResult {
            outcome: Outcome::Success(Bytes::from(body.to_owned())),
            log_tail: "REPORT RequestId: r\n".to_owned(),
            report: Some(RunReport {
                instance: Some(7),
                metrics: ReportMetrics {
                    duration_ms,
                    billed_duration_ms: 1,
                    memory_size_mb: 128,
                    max_memory_used_mb: 20,
                    init_duration_ms: init,
                },
            }),
        })
    }

    #[test]
    fn the_ring_keeps_the_newest_within_its_count_and_bytes() {
        let limits = RecorderLimits {
            invocations: 3,
            bytes: 100,
            body_bytes: 10,
        };
        let recorder = Recorder::new(limits);
        let config = FunctionConfig::new("f", "/bin/true");
        for _ in 0..5 {
            recorder.record(
                &config,
                &invocation("{}"),
                SystemTime::now(),
                &answered("ok", 1.0, None),
            );
        }
        let seqs: Vec<u64> = recorder.recent().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert!(recorder.get(2).is_none());
        assert_eq!(recorder.get(4).map(|r| r.seq), Some(4));

        // Each of these holds 10 + 10 + 20 bytes: two fit in 100.
        let big = "x".repeat(50);
        for _ in 0..3 {
            recorder.record(
                &config,
                &invocation(&big),
                SystemTime::now(),
                &answered(&big, 1.0, None),
            );
        }
        assert_eq!(recorder.recent().len(), 2);
        assert!(lock(&recorder.state).bytes <= 100);
        let detail = recorder.get(8).map(|r| r.detail()).unwrap();
        assert_eq!(detail["event"]["body"], "x".repeat(10));
        assert_eq!(detail["event"]["bytes"], 50);
        assert!(
            detail["event"]["note"]
                .as_str()
                .unwrap()
                .contains("truncated")
        );
        assert_eq!(detail["replayable"], false);
        assert!(recorder.get(8).unwrap().replay().is_none());
    }

    #[test]
    fn nothing_is_kept_with_a_zero_count_but_everything_is_counted() {
        let recorder = Recorder::new(RecorderLimits {
            invocations: 0,
            ..RecorderLimits::default()
        });
        let config = FunctionConfig::new("f", "/bin/true");
        recorder.record(
            &config,
            &invocation("{}"),
            SystemTime::now(),
            &answered("ok", 3.0, Some(9.0)),
        );
        recorder.record(
            &config,
            &invocation("{}"),
            SystemTime::now(),
            &Err(Refused::NoInstance),
        );
        assert!(recorder.recent().is_empty());
        let mut text = String::new();
        recorder.write_metrics(&mut text);
        assert!(text.contains("lambkin_invocations_total{function=\"f\",status=\"success\"} 1"));
        assert!(text.contains("lambkin_invocations_total{function=\"f\",status=\"throttled\"} 1"));
        assert!(text.contains("lambkin_cold_starts_total{function=\"f\"} 1"));
        assert!(text.contains("lambkin_duration_seconds_bucket{function=\"f\",le=\"0.005\"} 1"));
        let charts = recorder.charts();
        assert_eq!(charts["durationMs"]["f"]["p50"], 3.0);
        assert_eq!(charts["instances"][0]["maxMemoryUsedMb"], 20);
        let last = &charts["perSecond"][SECONDS_KEPT - 1];
        assert_eq!(
            (last["invocations"].as_u64(), last["errors"].as_u64()),
            (Some(2), Some(1))
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let recorder = Recorder::default();
        let config = FunctionConfig::new("f", "/bin/true");
        for ms in 1..=100 {
            recorder.record(
                &config,
                &invocation("{}"),
                SystemTime::now(),
                &answered("ok", f64::from(ms), None),
            );
        }
        let charts = recorder.charts();
        let f = &charts["durationMs"]["f"];
        assert_eq!(
            (f["p50"].as_f64(), f["p90"].as_f64(), f["p99"].as_f64()),
            (Some(50.0), Some(90.0), Some(99.0))
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
