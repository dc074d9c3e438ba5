//! AWS's schedule expressions: `rate(…)`, six-field `cron(…)` and the Scheduler's one-time
//! `at(…)`, parsed and evaluated (the next fire time after an instant, in a time zone).
//!
//! The dialect is AWS's own, not Unix cron's: minutes, hours, day of month, month, day of week
//! (1–7 = SUN–SAT) and year (1970–2199); one of the two day fields is `?`; `L` (last day of the
//! month, or `nL`: the last weekday `n` of it), `W` (`15W`: the weekday nearest the 15th, `LW`:
//! the last weekday) and `#` (`6#3`: the third Friday, alone in its field). References:
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html>,
//! <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html>.
//!
//! Daylight saving time is applied as the Scheduler applies it: a time that does not exist (the
//! hour skipped in spring) does not fire; a time that happens twice (the hour repeated in autumn)
//! fires once, the first time.

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::{self, Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A parsed schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expression {
    /// `rate(5 minutes)`: every so often, from when the schedule starts.
    Rate(Duration),
    /// `cron(0 10 * * ? *)`.
    Cron(Box<Cron>),
    /// `at(2026-05-01T10:00:00)`: once, at that local time (EventBridge Scheduler only).
    At(DateTime),
}

/// Why an expression is not one: the field at fault (`minutes`, `day-of-week`, … or the whole
/// `expression`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpressionError {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ExpressionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} field: {}", self.field, self.message)
    }
}

impl std::error::Error for ExpressionError {}

fn error(field: &'static str, message: impl Into<String>) -> ExpressionError {
    ExpressionError {
        field,
        message: message.into(),
    }
}

impl Expression {
    /// Parses `rate(…)`, `cron(…)` or (with `allow_at`: Scheduler schedules) `at(…)`.
    pub fn parse(text: &str, allow_at: bool) -> Result<Expression, ExpressionError> {
        let text = text.trim();
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(')'))
        };
        if let Some(rate) = inner("rate(") {
            return parse_rate(rate).map(Expression::Rate);
        }
        if let Some(cron) = inner("cron(") {
            return Cron::parse(cron).map(|c| Expression::Cron(Box::new(c)));
        }
        if let Some(at) = inner("at(") {
            if !allow_at {
                return Err(error(
                    "expression",
                    "at(…) is for EventBridge Scheduler schedules (ScheduleV2), not rules",
                ));
            }
            return at
                .trim()
                .parse::<DateTime>()
                .ok()
                .filter(|dt| dt.subsec_nanosecond() == 0 && at.trim().len() == 19)
                .map(Expression::At)
                .ok_or_else(|| error("at", format!("`{at}` is not yyyy-mm-ddThh:mm:ss")));
        }
        Err(error(
            "expression",
            format!(
                "`{text}` is neither rate(value unit) nor cron(minutes hours day-of-month month day-of-week year){}",
                if allow_at {
                    " nor at(yyyy-mm-ddThh:mm:ss)"
                } else {
                    ""
                }
            ),
        ))
    }

    /// The first fire time strictly after `after`, with `started` the instant the schedule
    /// started (rates count from it) and `zone` the zone cron and at expressions are read in.
    /// `None`: it never fires again.
    pub fn next_after(
        &self,
        after: Timestamp,
        started: Timestamp,
        zone: &TimeZone,
    ) -> Option<Timestamp> {
        match self {
            Expression::Rate(period) => {
                let period = i64::try_from(period.as_millis()).ok()?.max(1);
                let elapsed = after.as_millisecond() - started.as_millisecond();
                let periods = elapsed.div_euclid(period) + 1;
                let next = periods
                    .checked_mul(period)
                    .and_then(|ms| ms.checked_add(started.as_millisecond()))?;
                Timestamp::from_millisecond(next).ok()
            }
            Expression::Cron(cron) => cron.next_after(after, zone),
            Expression::At(at) => zone
                .to_ambiguous_timestamp(*at)
                .compatible()
                .ok()
                .filter(|t| *t > after),
        }
    }
}

/// `value unit`: a positive number, and `minute`/`hour`/`day` (singular for 1, plural otherwise,
/// as AWS requires).
fn parse_rate(text: &str) -> Result<Duration, ExpressionError> {
    let mut parts = text.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(error(
            "rate",
            format!("`{text}` is not `value unit` (e.g. rate(5 minutes))"),
        ));
    };
    let value: u64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| error("rate", format!("`{value}` is not a positive whole number")))?;
    let (singular, seconds) = match unit.trim_end_matches('s') {
        "minute" => ("minute", 60),
        "hour" => ("hour", 3600),
        "day" => ("day", 86_400),
        _ => {
            return Err(error(
                "rate",
                format!("unit `{unit}` is not minute(s), hour(s) or day(s)"),
            ));
        }
    };
    let plural = unit.ends_with('s');
    if (value == 1) == plural {
        let right = if value == 1 {
            singular.to_owned()
        } else {
            format!("{singular}s")
        };
        return Err(error(
            "rate",
            format!("`{value} {unit}`: write `{value} {right}` (singular for 1, plural otherwise)"),
        ));
    }
    value
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| error("rate", format!("`{value}` is too large")))
}

/// A set of a field's values: at most 256 from `min` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bits {
    min: u16,
    words: [u64; 4],
}

impl Bits {
    fn new(min: u16) -> Bits {
        Bits { min, words: [0; 4] }
    }

    fn insert(&mut self, n: u16) {
        let i = n.wrapping_sub(self.min);
        if let Some(word) = self.words.get_mut(usize::from(i / 64)) {
            *word |= 1 << (i % 64);
        }
    }

    /// Whether `n` is in the set (numbers outside the field's range are not).
    fn contains(&self, n: impl TryInto<u16>) -> bool {
        let Some(i) = n.try_into().ok().and_then(|n| n.checked_sub(self.min)) else {
            return false;
        };
        self.words
            .get(usize::from(i / 64))
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }
}

/// The range and names of a field.
struct FieldKind {
    name: &'static str,
    min: u16,
    max: u16,
    /// Names of the values from `min` on (`JAN`…, `SUN`…).
    names: &'static [&'static str],
}

const MINUTES: FieldKind = FieldKind {
    name: "minutes",
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: FieldKind = FieldKind {
    name: "hours",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: FieldKind = FieldKind {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: FieldKind = FieldKind {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
};
const DAY_OF_WEEK: FieldKind = FieldKind {
    name: "day-of-week",
    min: 1,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
};
const YEAR: FieldKind = FieldKind {
    name: "year",
    min: 1970,
    max: 2199,
    names: &[],
};

impl FieldKind {
    fn value(&self, text: &str) -> Result<u16, ExpressionError> {
        let upper = text.to_ascii_uppercase();
        if let Some(i) = self.names.iter().position(|n| *n == upper) {
            return Ok(self.min + u16::try_from(i).unwrap_or(0));
        }
        match text.parse::<u16>() {
            Ok(n) if (self.min..=self.max).contains(&n) => Ok(n),
            _ => Err(error(
                self.name,
                format!(
                    "`{text}` is not a value from {} to {}{}",
                    self.min,
                    self.max,
                    match self.names {
                        [] => String::new(),
                        names => format!(" (or {}–{})", names[0], names[names.len() - 1]),
                    }
                ),
            )),
        }
    }

    /// A list of values, ranges (`a-b`) and steps (`*/n`, `a/n`, `a-b/n`), or `*`.
    fn parse(&self, text: &str) -> Result<Bits, ExpressionError> {
        let mut bits = Bits::new(self.min);
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => {
                    let step = step.parse::<u16>().ok().filter(|s| *s > 0).ok_or_else(|| {
                        error(self.name, format!("`{step}` in `{item}` is not a step"))
                    })?;
                    (range, Some(step))
                }
                None => (item, None),
            };
            let (from, to) = match range.split_once('-') {
                _ if range == "*" => (self.min, self.max),
                Some((a, b)) => (self.value(a)?, self.value(b)?),
                // `5/10`: from 5 to the end, every 10.
                None if step.is_some() => (self.value(range)?, self.max),
                None => {
                    let n = self.value(range)?;
                    (n, n)
                }
            };
            // A range may wrap around (`20-2` hours: 20:00 to 02:59), as in AWS's examples.
            let span = self.max - self.min + 1;
            let length = (to + span - from) % span;
            let mut i = 0;
            while i <= length {
                bits.insert(self.min + (from - self.min + i) % span);
                i += step.unwrap_or(1);
            }
        }
        Ok(bits)
    }
}

/// The day-of-month field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MonthDays {
    /// `?`: the day-of-week field decides.
    Any,
    Days(Bits),
    /// `L`.
    Last,
    /// `LW`.
    LastWeekday,
    /// `15W`.
    NearestWeekday(i8),
}

/// The day-of-week field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum WeekDays {
    /// `?`: the day-of-month field decides.
    Any,
    /// Days 1 (Sunday) to 7 (Saturday).
    Days(Bits),
    /// `6L`: the last Friday of the month (`L` alone: the last Saturday).
    Last(i8),
    /// `6#3`: the third Friday.
    Nth(i8, i8),
}

/// A six-field cron expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Bits,
    hours: Bits,
    month_days: MonthDays,
    months: Bits,
    week_days: WeekDays,
    years: Bits,
}

impl Cron {
    /// The six fields between `cron(` and `)`.
    fn parse(text: &str) -> Result<Cron, ExpressionError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return Err(error(
                "expression",
                format!(
                    "cron(…) has six fields (minutes hours day-of-month month day-of-week year), not {}: `{text}`",
                    fields.len()
                ),
            ));
        };
        if (dom == "?") == (dow == "?") {
            return Err(error(
                if dom == "?" {
                    "day-of-week"
                } else {
                    "day-of-month"
                },
                "exactly one of day-of-month and day-of-week must be `?` (e.g. cron(0 10 * * ? *) or cron(0 18 ? * MON-FRI *))",
            ));
        }
        Ok(Cron {
            minutes: MINUTES.parse(minutes)?,
            hours: HOURS.parse(hours)?,
            month_days: parse_month_days(dom)?,
            months: MONTH.parse(month)?,
            week_days: parse_week_days(dow)?,
            years: YEAR.parse(year)?,
        })
    }

    fn matches_day(&self, date: Date) -> bool {
        let (day, last) = (date.day(), date.days_in_month());
        let weekday = date.weekday().to_sunday_one_offset();
        match (&self.month_days, &self.week_days) {
            (MonthDays::Days(days), _) => days.contains(day),
            (MonthDays::Last, _) => day == last,
            (MonthDays::LastWeekday, _) => day == last_weekday(date),
            (MonthDays::NearestWeekday(n), _) => day == nearest_weekday(date, *n),
            (MonthDays::Any, WeekDays::Days(days)) => days.contains(weekday),
            (MonthDays::Any, WeekDays::Last(d)) => weekday == *d && day + 7 > last,
            (MonthDays::Any, WeekDays::Nth(d, n)) => weekday == *d && (day - 1) / 7 + 1 == *n,
            (MonthDays::Any, WeekDays::Any) => false,
        }
    }

    /// The first matching minute strictly after `after`, read in `zone`.
    fn next_after(&self, after: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let local = zone.to_datetime(after);
        // The next whole minute after `after`.
        let mut t = local
            .date()
            .at(local.hour(), local.minute(), 0, 0)
            .checked_add(jiff::Span::new().minutes(1))
            .ok()?;
        loop {
            if i32::from(t.year()) > i32::from(YEAR.max) {
                return None;
            }
            if !self.years.contains(t.year()) {
                t = civil::date(t.year().checked_add(1)?, 1, 1).at(0, 0, 0, 0);
                continue;
            }
            if !self.months.contains(t.month()) {
                t = next_month(t.date())?.at(0, 0, 0, 0);
                continue;
            }
            if !self.matches_day(t.date()) {
                t = t.date().tomorrow().ok()?.at(0, 0, 0, 0);
                continue;
            }
            if !self.hours.contains(t.hour()) {
                t = t
                    .date()
                    .at(t.hour(), 0, 0, 0)
                    .checked_add(jiff::Span::new().hours(1))
                    .ok()?;
                continue;
            }
            if !self.minutes.contains(t.minute()) {
                t = t.checked_add(jiff::Span::new().minutes(1)).ok()?;
                continue;
            }
            let ambiguous = zone.to_ambiguous_timestamp(t);
            // A skipped local time does not fire; a repeated one fires the first time.
            let gap = matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. });
            if !gap
                && let Ok(at) = ambiguous.earlier()
                && at > after
            {
                return Some(at);
            }
            t = t.checked_add(jiff::Span::new().minutes(1)).ok()?;
        }
    }
}

fn next_month(date: Date) -> Option<Date> {
    date.first_of_month()
        .checked_add(jiff::Span::new().months(1))
        .ok()
}

/// The last Monday–Friday of `date`'s month.
fn last_weekday(date: Date) -> i8 {
    let last = date.last_of_month();
    match last.weekday().to_sunday_one_offset() {
        1 => last.day() - 2,
        7 => last.day() - 1,
        _ => last.day(),
    }
}

/// The Monday–Friday nearest the `n`th of `date`'s month, not leaving the month.
fn nearest_weekday(date: Date, n: i8) -> i8 {
    let last = date.days_in_month();
    if n > last {
        // `31W` in a 30-day month: no such day.
        return 0;
    }
    let target = civil::date(date.year(), date.month(), n);
    match target.weekday().to_sunday_one_offset() {
        // Saturday: Friday, unless that is in the month before.
        7 if n == 1 => 3,
        7 => n - 1,
        // Sunday: Monday, unless that is in the month after.
        1 if n == last => n - 2,
        1 => n + 1,
        _ => n,
    }
}

fn parse_month_days(text: &str) -> Result<MonthDays, ExpressionError> {
    let field = DAY_OF_MONTH.name;
    match text.to_ascii_uppercase().as_str() {
        "?" => Ok(MonthDays::Any),
        "L" => Ok(MonthDays::Last),
        "LW" => Ok(MonthDays::LastWeekday),
        upper if upper.ends_with('W') => {
            let day = DAY_OF_MONTH.value(&upper[..upper.len() - 1])?;
            Ok(MonthDays::NearestWeekday(i8::try_from(day).unwrap_or(1)))
        }
        upper if upper.contains('L') || upper.contains('W') || upper.contains('#') => Err(error(
            field,
            format!("`{text}`: L, LW and nW stand alone in the field (# is for day-of-week)"),
        )),
        _ => DAY_OF_MONTH.parse(text).map(MonthDays::Days),
    }
}

fn parse_week_days(text: &str) -> Result<WeekDays, ExpressionError> {
    let field = DAY_OF_WEEK.name;
    let upper = text.to_ascii_uppercase();
    let day = |t: &str| DAY_OF_WEEK.value(t).map(|d| i8::try_from(d).unwrap_or(1));
    if upper == "?" {
        return Ok(WeekDays::Any);
    }
    if upper == "L" {
        return Ok(WeekDays::Last(7));
    }
    if let Some((d, n)) = upper.split_once('#') {
        if d.contains(',') || n.contains(',') {
            return Err(error(
                field,
                format!("`{text}`: an expression with # names one day only (e.g. 3#2)"),
            ));
        }
        let n = n
            .parse::<i8>()
            .ok()
            .filter(|n| (1..=5).contains(n))
            .ok_or_else(|| error(field, format!("`{text}`: the number after # is 1 to 5")))?;
        return Ok(WeekDays::Nth(day(d)?, n));
    }
    if let Some(d) = upper.strip_suffix('L')
        && !d.contains([',', '-', '/'])
    {
        return Ok(WeekDays::Last(day(d)?));
    }
    if upper.contains(['L', 'W']) && !DAY_OF_WEEK.names.iter().any(|n| upper.contains(n)) {
        return Err(error(
            field,
            format!("`{text}`: L stands alone or after one day (6L); W is for day-of-month"),
        ));
    }
    DAY_OF_WEEK.parse(text).map(WeekDays::Days)
}

#[cfg(test)]
mod tests;
