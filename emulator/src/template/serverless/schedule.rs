//! `schedule` events of a Serverless Framework function: `- schedule: rate(10 minutes)`, or a
//! mapping with `rate` (one expression or a list), `enabled`, `input`, `name` and `method`
//! (`eventBus`, the default: an EventBridge rule; `scheduler`: an EventBridge Scheduler
//! schedule, which takes a `timezone`).
//! (<https://www.serverless.com/framework/docs/providers/aws/events/schedule>.)

use serde_yaml::Value;

use super::super::ConfigError;
use super::super::schedule::{expression_problem, input_json};
use super::super::yaml::{YPath, describe};
use super::Reader;
use crate::sources::schedule::{Schedule, Service};

impl Reader<'_> {
    /// The schedules of event `i` of `function` (one per expression of `rate`).
    pub(super) fn schedule_event(
        &self,
        owner: &str,
        function: &str,
        i: usize,
        body: &Value,
        path: &YPath,
    ) -> Result<Vec<Schedule>, ConfigError> {
        let what = format!("{owner}: schedule event");
        let hint = "write `- schedule: rate(10 minutes)` or `- schedule:` with rate: and \
                    optionally enabled:, input:, name:, method: scheduler and timezone:";
        let (rates, map) = match body {
            Value::Mapping(m) => {
                let rate_at = path.key("rate");
                let rates = match m.get("rate") {
                    Some(Value::Sequence(items)) => items
                        .iter()
                        .enumerate()
                        .map(|(k, item)| (item, rate_at.index(k)))
                        .collect(),
                    Some(one) => vec![(one, rate_at)],
                    None => {
                        return Err(self.src.invalid(path, format!("{what} has no rate"), hint));
                    }
                };
                (rates, Some(m))
            }
            other => (vec![(other, path.clone())], None),
        };
        let field = |key: &str| map.and_then(|m| m.get(key)).map(|v| (v, path.key(key)));
        let service = match field("method") {
            None => Service::Rule,
            Some((v, at)) => match self.text(v, &at, &format!("{what}: method"))?.as_deref() {
                None | Some("eventBus") => Service::Rule,
                Some("scheduler") => Service::Scheduler,
                Some(other) => {
                    return Err(self.src.invalid(
                        &at,
                        format!("{what}: method `{other}` is neither eventBus nor scheduler"),
                        hint,
                    ));
                }
            },
        };
        let zone = match field("timezone") {
            None => None,
            Some((v, at)) => {
                let zone = self.text(v, &at, &format!("{what}: timezone"))?;
                if zone.is_some() && service == Service::Rule {
                    return Err(self.src.invalid(
                        &at,
                        format!("{what}: an EventBridge rule runs in UTC"),
                        "add `method: scheduler` for a timezone",
                    ));
                }
                zone.map(|z| (z, at))
            }
        };
        let name = match field("name") {
            Some((v, at)) => self.text(v, &at, &format!("{what}: name"))?,
            None => None,
        };
        let enabled = match field("enabled") {
            None | Some((Value::Null, _)) => true,
            Some((Value::Bool(enabled), _)) => *enabled,
            Some((other, at)) => {
                return Err(self.src.invalid(
                    &at,
                    format!("{what}: enabled is {}, not true or false", describe(other)),
                    hint,
                ));
            }
        };
        let input = match field("input") {
            None => None,
            Some((v, at)) => self.check(&at, &what, input_json(v))?,
        };
        let mut schedules = Vec::new();
        let several = rates.len() > 1;
        for (k, (rate, at)) in rates.into_iter().enumerate() {
            let Some(expression) = self.text(rate, &at, &what)? else {
                return Err(self
                    .src
                    .invalid(&at, format!("{what}: rate is empty"), hint));
            };
            let base = name
                .clone()
                .unwrap_or_else(|| format!("{function}-schedule-{}", i + 1));
            let rule_name = if several {
                format!("{base}-{}", k + 1)
            } else {
                base
            };
            let zone_name = zone.as_ref().map(|(z, _)| z.as_str());
            let mut schedule = Schedule::new(service, rule_name, function, &expression, zone_name)
                .map_err(|error| {
                    let at = match (error.field, &zone) {
                        ("time zone", Some((_, zone_at))) => zone_at,
                        _ => &at,
                    };
                    self.src.error(at, {
                        let problem = expression_problem(&expression, &error);
                        super::super::Problem {
                            message: format!("{what}: {}", problem.message),
                            ..problem
                        }
                    })
                })?;
            schedule.input = input.clone();
            schedule.enabled = enabled;
            schedules.push(schedule);
        }
        Ok(schedules)
    }
}
