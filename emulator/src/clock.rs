//! Wall-clock formatting without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 before it).
pub(crate) fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `(year, month, day, seconds of day, milliseconds)` in UTC.
fn civil(t: SystemTime) -> (i64, u32, u32, u64, u64) {
    let ms = epoch_ms(t);
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, secs % 86_400, ms % 1000)
}

/// RFC 3339 with milliseconds, as Lambda writes timestamps: `2024-05-01T12:00:00.000Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    timestamp(t, "Z")
}

/// The form of Lambda's `LastModified`: `2024-05-01T12:00:00.000+0000`.
#[cfg(feature = "manage")]
pub(crate) fn last_modified(t: SystemTime) -> String {
    timestamp(t, "+0000")
}

fn timestamp(t: SystemTime, zone: &str) -> String {
    let (y, mo, d, s, ms) = civil(t);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}{zone}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `2024/05/01`, the date prefix of Lambda's log stream names.
pub(crate) fn date_path(t: SystemTime) -> String {
    let (y, mo, d, _, _) = civil(t);
    format!("{y:04}/{mo:02}/{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats() {
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789); // 2024-02-29 12:34:56.789
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.789Z");
        assert_eq!(date_path(t), "2024/02/29");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        #[cfg(feature = "manage")]
        assert_eq!(last_modified(t), "2024-02-29T12:34:56.789+0000");
    }
}
