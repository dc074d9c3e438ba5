//! The lines Lambda writes around each invocation in the function's log — START, END and
//! REPORT — and the numbers REPORT shows.

use std::fmt::Write;
use std::time::Duration;

use crate::telemetry::ReportMetrics;
use crate::telemetry::schema::ms;

/// `START RequestId: … Version: …`.
pub(super) fn start_line(id: &str, version: &str) -> String {
    format!("START RequestId: {id} Version: {version}")
}

/// `END RequestId: …`.
pub(super) fn end_line(id: &str) -> String {
    format!("END RequestId: {id}")
}

/// What REPORT shows of one invocation.
#[derive(Debug)]
pub(super) struct Report<'a> {
    pub(super) id: &'a str,
    /// From the runtime taking the event to its end (zero if it never took it).
    pub(super) duration: Duration,
    /// The init this invocation waited for (cold start only).
    pub(super) init: Option<Duration>,
    pub(super) memory_mb: u32,
    pub(super) peak_kb: u64,
    /// `\tStatus: …` for endings the emulator decided.
    pub(super) status: Option<String>,
}

impl Report<'_> {
    /// The REPORT line.
    pub(super) fn line(&self) -> String {
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB",
            self.id,
            self.duration.as_secs_f64() * 1000.0,
            billed_ms(self.duration, self.init),
            self.memory_mb,
            self.peak_kb.div_ceil(1024),
        );
        if let Some(init) = self.init {
            let _ = write!(
                line,
                "\tInit Duration: {:.2} ms",
                init.as_secs_f64() * 1000.0
            );
        }
        if let Some(status) = &self.status {
            line.push_str(status);
        }
        line
    }
}

impl Report<'_> {
    /// REPORT's numbers, as `platform.report`'s metrics.
    pub(super) fn metrics(&self) -> ReportMetrics {
        ReportMetrics {
            duration_ms: ms(self.duration),
            billed_duration_ms: billed_ms(self.duration, self.init),
            memory_size_mb: self.memory_mb,
            max_memory_used_mb: self.peak_kb.div_ceil(1024),
            init_duration_ms: self.init.map(ms),
        }
    }
}

/// REPORT's Billed Duration in whole milliseconds (at least 1): the invocation's duration plus,
/// on a cold start, the init it waited for. Lambda has always billed the init phase of custom
/// runtimes (`provided.*`, which is what the emulator runs), and bills it for every
/// configuration since 1 August 2025
/// (<https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/>).
fn billed_ms(duration: Duration, init: Option<Duration>) -> u64 {
    let billed = duration + init.unwrap_or_default();
    let ms = billed.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn billed_duration_includes_init() {
        let ms = Duration::from_millis;
        assert_eq!(billed_ms(Duration::from_micros(10_200), None), 11);
        assert_eq!(billed_ms(ms(5), Some(Duration::from_micros(300_500))), 306);
        assert_eq!(billed_ms(Duration::ZERO, None), 1);
    }

    #[test]
    fn report_lines_are_lambdas() {
        let report = Report {
            id: "abc",
            duration: Duration::from_micros(1_500),
            init: Some(Duration::from_millis(20)),
            memory_mb: 128,
            peak_kb: 1025,
            status: Some("\tStatus: timeout".to_owned()),
        };
        assert_eq!(
            report.line(),
            "REPORT RequestId: abc\tDuration: 1.50 ms\tBilled Duration: 22 ms\tMemory Size: 128 MB\tMax Memory Used: 2 MB\tInit Duration: 20.00 ms\tStatus: timeout"
        );
        assert_eq!(
            start_line("abc", "$LATEST"),
            "START RequestId: abc Version: $LATEST"
        );
        assert_eq!(end_line("abc"), "END RequestId: abc");
    }
}
