//! The expressions of AWS's documentation, and their next fire times.

use super::*;

fn utc(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// The next `n` fire times of `expression` after `after`, in `zone`.
fn fires(expression: &str, zone: &str, after: &str, n: usize) -> Vec<String> {
    let expression = Expression::parse(expression, true).unwrap();
    let zone = TimeZone::get(zone).unwrap();
    let started = utc(after);
    let mut at = started;
    let mut out = Vec::new();
    for _ in 0..n {
        match expression.next_after(at, started, &zone) {
            Some(next) => {
                out.push(next.to_string());
                at = next;
            }
            None => break,
        }
    }
    out
}

#[test]
fn eventbridge_documented_examples() {
    // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
    // 2026-01-01 is a Thursday.
    let cases: [(&str, &str, &[&str]); 8] = [
        // 10:00 AM (UTC+0) every day.
        (
            "cron(0 10 * * ? *)",
            "2026-01-01T00:00:00Z",
            &["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"],
        ),
        // 12:15 PM every day.
        (
            "cron(15 12 * * ? *)",
            "2026-01-01T12:15:00Z",
            &["2026-01-02T12:15:00Z"],
        ),
        // 6:00 PM Monday through Friday.
        (
            "cron(0 18 ? * MON-FRI *)",
            "2026-01-02T18:00:00Z",
            &["2026-01-05T18:00:00Z", "2026-01-06T18:00:00Z"],
        ),
        // 8:00 AM on the first day of the month.
        (
            "cron(0 8 1 * ? *)",
            "2026-01-01T08:00:00Z",
            &["2026-02-01T08:00:00Z", "2026-03-01T08:00:00Z"],
        ),
        // Every 15 minutes.
        (
            "cron(0/15 * * * ? *)",
            "2026-01-01T00:07:30Z",
            &["2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z"],
        ),
        // Every 10 minutes Monday through Friday.
        (
            "cron(0/10 * ? * MON-FRI *)",
            "2026-01-02T23:55:00Z",
            &["2026-01-05T00:00:00Z", "2026-01-05T00:10:00Z"],
        ),
        // Every 5 minutes Monday through Friday between 8:00 AM and 5:55 PM.
        (
            "cron(0/5 8-17 ? * MON-FRI *)",
            "2026-01-01T17:50:00Z",
            &["2026-01-01T17:55:00Z", "2026-01-02T08:00:00Z"],
        ),
        // Every 30 minutes Monday through Friday, from the evening to 2 AM (a wrapping range).
        (
            "cron(0/30 20-2 ? * MON-FRI *)",
            "2026-01-01T02:00:00Z",
            &["2026-01-01T02:30:00Z", "2026-01-01T20:00:00Z"],
        ),
    ];
    for (expression, after, expected) in cases {
        assert_eq!(
            fires(expression, "UTC", after, expected.len()),
            expected,
            "{expression}"
        );
    }
}

#[test]
fn special_characters() {
    let first = |expression: &str, after: &str| fires(expression, "UTC", after, 1);
    // L: the last day of the month (February of a leap year too).
    assert_eq!(
        first("cron(0 0 L * ? *)", "2026-02-01T00:00:00Z"),
        ["2026-02-28T00:00:00Z"]
    );
    assert_eq!(
        first("cron(0 0 L * ? *)", "2028-02-01T00:00:00Z"),
        ["2028-02-29T00:00:00Z"]
    );
    // LW: the last weekday (31 January 2026 is a Saturday).
    assert_eq!(
        first("cron(0 0 LW * ? *)", "2026-01-01T00:00:00Z"),
        ["2026-01-30T00:00:00Z"]
    );
    // 15W: the weekday nearest the 15th (15 February 2026 is a Sunday: Monday the 16th).
    assert_eq!(
        first("cron(0 0 15W 2 ? *)", "2026-01-01T00:00:00Z"),
        ["2026-02-16T00:00:00Z"]
    );
    // 1W on a Saturday stays in the month: Monday the 3rd (1 August 2026 is a Saturday).
    assert_eq!(
        first("cron(0 0 1W 8 ? *)", "2026-01-01T00:00:00Z"),
        ["2026-08-03T00:00:00Z"]
    );
    // 3#2: the second Tuesday, as the documentation's example reads.
    assert_eq!(
        first("cron(0 0 ? * 3#2 *)", "2026-01-01T00:00:00Z"),
        ["2026-01-13T00:00:00Z"]
    );
    // 6L: the last Friday; L alone: the last Saturday.
    assert_eq!(
        first("cron(0 0 ? * 6L *)", "2026-01-01T00:00:00Z"),
        ["2026-01-30T00:00:00Z"]
    );
    assert_eq!(
        first("cron(0 0 ? * L *)", "2026-01-01T00:00:00Z"),
        ["2026-01-31T00:00:00Z"]
    );
    // Names and numbers, lists and steps, the year field.
    assert_eq!(
        first(
            "cron(5,35 1/6 ? JAN,MAR 1 2030-2031)",
            "2026-01-01T00:00:00Z"
        ),
        ["2030-01-06T01:05:00Z"]
    );
    assert_eq!(
        fires("cron(0 0 1 1 ? 2027/2)", "UTC", "2026-01-01T00:00:00Z", 2),
        ["2027-01-01T00:00:00Z", "2029-01-01T00:00:00Z"]
    );
    // A year in the past: never again.
    assert!(first("cron(0 0 1 1 ? 2020)", "2026-01-01T00:00:00Z").is_empty());
    // The 31st of a 30-day month with W does not exist.
    assert_eq!(
        first("cron(0 0 31W 4,5 ? *)", "2026-01-01T00:00:00Z"),
        ["2026-05-29T00:00:00Z"]
    );
}

#[test]
fn rates_count_from_the_start() {
    assert_eq!(
        fires("rate(1 minute)", "UTC", "2026-01-01T00:00:10Z", 3),
        [
            "2026-01-01T00:01:10Z",
            "2026-01-01T00:02:10Z",
            "2026-01-01T00:03:10Z"
        ]
    );
    let expression = Expression::parse("rate(5 minutes)", false).unwrap();
    let start = utc("2026-01-01T00:00:00Z");
    // Late (the emulator was busy): the next period, not a burst of missed ones.
    assert_eq!(
        expression
            .next_after(utc("2026-01-01T00:12:00Z"), start, &TimeZone::UTC)
            .unwrap()
            .to_string(),
        "2026-01-01T00:15:00Z"
    );
    assert_eq!(
        Expression::parse("rate(2 days)", false).unwrap(),
        Expression::Rate(Duration::from_secs(2 * 86_400))
    );
    assert_eq!(
        Expression::parse("rate(1 hour)", false).unwrap(),
        Expression::Rate(Duration::from_secs(3600))
    );
    // So far ahead that it never comes: no overflow.
    let far = Expression::parse("rate(9999999999999 days)", false).unwrap();
    assert_eq!(far.next_after(start, start, &TimeZone::UTC), None);
}

#[test]
fn time_zones_and_daylight_saving_time() {
    // 9:00 in New York is 14:00 UTC in winter, 13:00 in summer.
    assert_eq!(
        fires(
            "cron(0 9 * * ? *)",
            "America/New_York",
            "2026-01-01T00:00:00Z",
            1
        ),
        ["2026-01-01T14:00:00Z"]
    );
    assert_eq!(
        fires(
            "cron(0 9 * * ? *)",
            "America/New_York",
            "2026-07-01T00:00:00Z",
            1
        ),
        ["2026-07-01T13:00:00Z"]
    );
    // 8 March 2026, 2:30 does not exist in New York: skipped.
    assert_eq!(
        fires(
            "cron(30 2 * * ? *)",
            "America/New_York",
            "2026-03-08T00:00:00Z",
            1
        ),
        ["2026-03-09T06:30:00Z"]
    );
    // 1 November 2026, 1:30 happens twice: it fires once, the first time.
    assert_eq!(
        fires(
            "cron(30 1 * * ? *)",
            "America/New_York",
            "2026-11-01T00:00:00Z",
            2
        ),
        ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
    // at(…) is a local time, once.
    assert_eq!(
        fires(
            "at(2026-05-01T10:00:00)",
            "Europe/Paris",
            "2026-01-01T00:00:00Z",
            2
        ),
        ["2026-05-01T08:00:00Z"]
    );
}

#[test]
fn bad_expressions_name_the_field() {
    let field = |text: &str| Expression::parse(text, false).unwrap_err().field;
    assert_eq!(field("rate(1 minutes)"), "rate");
    assert_eq!(field("rate(5 minute)"), "rate");
    assert_eq!(field("rate(0 minutes)"), "rate");
    assert_eq!(field("rate(5 seconds)"), "rate");
    assert_eq!(field("rate(five minutes)"), "rate");
    assert_eq!(field("cron(0 10 * * ?)"), "expression");
    assert_eq!(field("cron(0 10 * * * *)"), "day-of-month");
    assert_eq!(field("cron(0 10 ? * ? *)"), "day-of-week");
    assert_eq!(field("cron(60 10 * * ? *)"), "minutes");
    assert_eq!(field("cron(0 24 * * ? *)"), "hours");
    assert_eq!(field("cron(0 0 32 * ? *)"), "day-of-month");
    assert_eq!(field("cron(0 0 1 13 ? *)"), "month");
    assert_eq!(field("cron(0 0 1 FOO ? *)"), "month");
    assert_eq!(field("cron(0 0 ? * 8 *)"), "day-of-week");
    assert_eq!(field("cron(0 0 ? * 3#1,6#3 *)"), "day-of-week");
    assert_eq!(field("cron(0 0 ? * 3#6 *)"), "day-of-week");
    assert_eq!(field("cron(0 0 1 * ? 2200)"), "year");
    assert_eq!(field("cron(0/0 0 1 * ? *)"), "minutes");
    assert_eq!(field("every minute"), "expression");
    assert_eq!(field("at(2026-05-01T10:00:00)"), "expression");
    let message = Expression::parse("cron(0 24 * * ? *)", false)
        .unwrap_err()
        .to_string();
    assert_eq!(message, "hours field: `24` is not a value from 0 to 23");
    assert_eq!(
        Expression::parse("at(2026-05-01)", true).unwrap_err().field,
        "at"
    );
}
