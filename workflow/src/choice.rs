//! Choice rules: comparisons (`StringEquals`, `NumericLessThanPath`, `TimestampEquals`, …),
//! type tests (`IsPresent`, `IsNull`, …) and `And`/`Or`/`Not`.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html>

use crate::error::StatesError;
use crate::path::Path;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A Choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Every rule holds.
    And(Vec<Rule>),
    /// Some rule holds.
    Or(Vec<Rule>),
    /// The rule does not hold.
    Not(Box<Rule>),
    /// A comparison or type test of the value at `variable`.
    Test {
        /// The reference path of the value tested.
        variable: Path,
        /// What is tested.
        op: Op,
        /// What it is compared with: a literal, or a path for the `…Path` operators.
        operand: Operand,
    },
}

/// A comparison's right-hand side.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// The literal of `StringEquals: "x"` (or `IsNull: true`).
    Value(Value),
    /// The path of `StringEqualsPath: "$.y"`.
    Path(Path),
}

/// Kinds of value a comparison reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `String…`.
    String,
    /// `Numeric…`.
    Numeric,
    /// `Boolean…`.
    Boolean,
    /// `Timestamp…`.
    Timestamp,
}

/// A rule's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<Kind>Equals`, `<Kind>LessThan`, … : the ordering that makes it hold.
    Compare(Kind, Cmp),
    /// `StringMatches` with `*` wildcards.
    Matches,
    /// `IsNull`, `IsPresent`, `IsNumeric`, `IsString`, `IsBoolean`, `IsTimestamp`.
    Is(Is),
}

/// A comparison's relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `…Equals`.
    Eq,
    /// `…LessThan`.
    Lt,
    /// `…GreaterThan`.
    Gt,
    /// `…LessThanEquals`.
    Le,
    /// `…GreaterThanEquals`.
    Ge,
}

/// A type test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Is {
    /// `IsNull`.
    Null,
    /// `IsPresent`.
    Present,
    /// `IsNumeric`.
    Numeric,
    /// `IsString`.
    String,
    /// `IsBoolean`.
    Boolean,
    /// `IsTimestamp`.
    Timestamp,
}

const KINDS: [(&str, Kind); 4] = [
    ("String", Kind::String),
    ("Numeric", Kind::Numeric),
    ("Boolean", Kind::Boolean),
    ("Timestamp", Kind::Timestamp),
];
const CMPS: [(&str, Cmp); 5] = [
    ("Equals", Cmp::Eq),
    ("LessThanEquals", Cmp::Le),
    ("GreaterThanEquals", Cmp::Ge),
    ("LessThan", Cmp::Lt),
    ("GreaterThan", Cmp::Gt),
];
const TESTS: [(&str, Is); 6] = [
    ("IsNull", Is::Null),
    ("IsPresent", Is::Present),
    ("IsNumeric", Is::Numeric),
    ("IsString", Is::String),
    ("IsBoolean", Is::Boolean),
    ("IsTimestamp", Is::Timestamp),
];

/// Reads an operator's name: (operator, whether its operand is a path).
fn operator(name: &str) -> Option<(Op, bool)> {
    if name == "StringMatches" {
        return Some((Op::Matches, false));
    }
    if let Some((_, is)) = TESTS.iter().find(|(n, _)| *n == name) {
        return Some((Op::Is(*is), false));
    }
    let (name, by_path) = name
        .strip_suffix("Path")
        .map_or((name, false), |n| (n, true));
    let (kind, rest) = KINDS
        .iter()
        .find_map(|(k, kind)| name.strip_prefix(k).map(|rest| (*kind, rest)))?;
    let (_, cmp) = CMPS.iter().find(|(c, _)| *c == rest)?;
    if kind == Kind::Boolean && *cmp != Cmp::Eq {
        return None;
    }
    Some((Op::Compare(kind, *cmp), by_path))
}

impl Rule {
    /// Parses a rule (without its `Next`, which the caller reads); errors name the field.
    pub fn parse(map: &Map<String, Value>) -> Result<Self, (String, String)> {
        let nested = |key: &str, value: &Value| -> Result<Vec<Rule>, (String, String)> {
            let items = value.as_array().filter(|a| !a.is_empty()).ok_or((
                format!("/{key}"),
                format!("'{key}' takes a non-empty array of rules"),
            ))?;
            items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let obj = item
                        .as_object()
                        .ok_or((format!("/{key}/{i}"), "a rule is an object".to_owned()))?;
                    if obj.contains_key("Next") {
                        return Err((
                            format!("/{key}/{i}/Next"),
                            "a nested rule cannot have 'Next'".to_owned(),
                        ));
                    }
                    Rule::parse(obj).map_err(|(loc, why)| (format!("/{key}/{i}{loc}"), why))
                })
                .collect()
        };
        let keys: Vec<&String> = map
            .keys()
            .filter(|k| !matches!(k.as_str(), "Next" | "Comment" | "Variable"))
            .collect();
        let [key] = keys.as_slice() else {
            return Err((
                String::new(),
                "a rule has exactly one operator (or And/Or/Not)".into(),
            ));
        };
        let value = &map[key.as_str()];
        match key.as_str() {
            "And" => return Ok(Rule::And(nested("And", value)?)),
            "Or" => return Ok(Rule::Or(nested("Or", value)?)),
            "Not" => {
                let rule = nested("Not", &Value::Array(vec![value.clone()]))?;
                return Ok(Rule::Not(Box::new(
                    rule.into_iter()
                        .next()
                        .ok_or((String::new(), "empty Not".to_owned()))?,
                )));
            }
            _ => {}
        }
        let at_key = |why: String| (format!("/{key}"), why);
        let (op, by_path) =
            operator(key).ok_or_else(|| at_key(format!("'{key}' is not a comparison operator")))?;
        let variable = map.get("Variable").and_then(Value::as_str).ok_or((
            "/Variable".to_owned(),
            "a comparison needs a 'Variable' path".to_owned(),
        ))?;
        let variable =
            Path::parse(variable).map_err(|e| ("/Variable".to_owned(), e.to_string()))?;
        let operand = if by_path {
            let text = value
                .as_str()
                .ok_or_else(|| at_key("takes a path".into()))?;
            Operand::Path(Path::parse(text).map_err(|e| at_key(e.to_string()))?)
        } else {
            let fits = match op {
                Op::Is(_) => value.is_boolean(),
                Op::Matches | Op::Compare(Kind::String | Kind::Timestamp, _) => value.is_string(),
                Op::Compare(Kind::Numeric, _) => value.is_number(),
                Op::Compare(Kind::Boolean, _) => value.is_boolean(),
            };
            if !fits {
                return Err(at_key(format!(
                    "'{value}' is not the kind of value '{key}' compares"
                )));
            }
            if matches!(op, Op::Compare(Kind::Timestamp, _))
                && value.as_str().and_then(timestamp).is_none()
            {
                return Err(at_key(format!("{value} is not an RFC 3339 timestamp")));
            }
            Operand::Value(value.clone())
        };
        Ok(Rule::Test {
            variable,
            op,
            operand,
        })
    }

    /// Whether the rule holds. A comparison whose `Variable` (or operand path) is absent is a
    /// `States.Runtime` error, as on AWS; `IsPresent` is the way to test for absence.
    pub fn holds(&self, input: &Value, context: &Value) -> Result<bool, StatesError> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.holds(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.holds(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.holds(input, context)?),
            Rule::Test {
                variable,
                op,
                operand,
            } => {
                let value = variable.find(input, context);
                let expected = match operand {
                    Operand::Value(v) => v,
                    Operand::Path(p) => p.find(input, context).ok_or_else(|| absent(p))?,
                };
                if let Op::Is(is) = op {
                    return Ok(test(*is, value) == (expected == &Value::Bool(true)));
                }
                let value = value.ok_or_else(|| absent(variable))?;
                Ok(match op {
                    Op::Matches => {
                        matches!((value, expected), (Value::String(s), Value::String(p)) if glob(p, s))
                    }
                    Op::Compare(kind, cmp) => {
                        order(*kind, value, expected).is_some_and(|o| cmp.accepts(o))
                    }
                    Op::Is(_) => false,
                })
            }
        }
    }
}

fn absent(path: &Path) -> StatesError {
    StatesError::runtime(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}

impl Cmp {
    fn accepts(self, order: Ordering) -> bool {
        match self {
            Cmp::Eq => order.is_eq(),
            Cmp::Lt => order.is_lt(),
            Cmp::Gt => order.is_gt(),
            Cmp::Le => order.is_le(),
            Cmp::Ge => order.is_ge(),
        }
    }
}

fn test(is: Is, value: Option<&Value>) -> bool {
    match (is, value) {
        (Is::Present, v) => v.is_some(),
        (_, None) => false,
        (Is::Null, Some(v)) => v.is_null(),
        (Is::Numeric, Some(v)) => v.is_number(),
        (Is::String, Some(v)) => v.is_string(),
        (Is::Boolean, Some(v)) => v.is_boolean(),
        (Is::Timestamp, Some(v)) => v.as_str().and_then(timestamp).is_some(),
    }
}

/// Compares two values of one kind; a value of another type makes the rule not hold.
fn order(kind: Kind, a: &Value, b: &Value) -> Option<Ordering> {
    match kind {
        Kind::String => Some(a.as_str()?.cmp(b.as_str()?)),
        Kind::Numeric => a.as_f64()?.partial_cmp(&b.as_f64()?),
        Kind::Boolean => (a.as_bool()? == b.as_bool()?)
            .then_some(Ordering::Equal)
            .or(Some(Ordering::Less)),
        Kind::Timestamp => Some(timestamp(a.as_str()?)?.cmp(&timestamp(b.as_str()?)?)),
    }
}

/// An RFC 3339 timestamp (AWS also requires the uppercase `T` and `Z`).
pub(crate) fn timestamp(text: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
fn glob(pattern: &str, text: &str) -> bool {
    #[derive(PartialEq)]
    enum Token {
        Any,
        Char(char),
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            '*' => Token::Any,
            c => Token::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Iterative wildcard matching with one backtrack point.
    let (mut t, mut p, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < tokens.len() && tokens[p] == Token::Char(text[t]) {
            t += 1;
            p += 1;
        } else if p < tokens.len() && tokens[p] == Token::Any {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    tokens[p..].iter().all(|tok| *tok == Token::Any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(rule: Value, input: Value) -> Result<bool, StatesError> {
        Rule::parse(rule.as_object().unwrap())
            .unwrap()
            .holds(&input, &Value::Null)
    }

    #[test]
    fn comparisons() {
        let input =
            json!({"s": "b", "n": 5, "t": "2001-01-01T12:00:00Z", "flag": true, "other": 7});
        assert!(
            holds(
                json!({"Variable": "$.s", "StringEquals": "b"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable": "$.s", "StringGreaterThan": "a"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable": "$.s", "StringLessThanEquals": "b"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable": "$.n", "NumericGreaterThanEquals": 5}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            !holds(
                json!({"Variable": "$.n", "NumericLessThan": 5}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable": "$.n", "NumericLessThanPath": "$.other"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable": "$.flag", "BooleanEquals": true}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable": "$.t", "TimestampLessThan": "2001-01-01T12:00:01Z"}),
                input.clone()
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable": "$.t", "TimestampEquals": "2001-01-01T13:00:00+01:00"}),
                input.clone()
            )
            .unwrap()
        );
        // A value of another type does not match.
        assert!(!holds(json!({"Variable": "$.s", "NumericEquals": 1}), input).unwrap());
    }

    #[test]
    fn type_tests_and_absence() {
        let input = json!({"a": null, "n": 1.5, "t": "2016-03-14T01:59:00Z"});
        assert!(holds(json!({"Variable": "$.a", "IsNull": true}), input.clone()).unwrap());
        assert!(holds(json!({"Variable": "$.a", "IsPresent": true}), input.clone()).unwrap());
        assert!(
            holds(
                json!({"Variable": "$.zz", "IsPresent": false}),
                input.clone()
            )
            .unwrap()
        );
        assert!(holds(json!({"Variable": "$.n", "IsNumeric": true}), input.clone()).unwrap());
        assert!(
            holds(
                json!({"Variable": "$.t", "IsTimestamp": true}),
                input.clone()
            )
            .unwrap()
        );
        assert!(holds(json!({"Variable": "$.n", "IsString": false}), input.clone()).unwrap());
        let err = holds(json!({"Variable": "$.zz", "StringEquals": "x"}), input).unwrap_err();
        assert_eq!(err.error, crate::error::RUNTIME);
    }

    #[test]
    fn boolean_logic() {
        // The developer guide's Choice example: a value in [20, 30), not "foo".
        let rule = json!({"And": [
            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
            {"Variable": "$.value", "NumericLessThan": 30},
            {"Not": {"Variable": "$.type", "StringEquals": "foo"}}
        ]});
        assert!(holds(rule.clone(), json!({"value": 25, "type": "bar"})).unwrap());
        assert!(!holds(rule.clone(), json!({"value": 25, "type": "foo"})).unwrap());
        assert!(!holds(rule, json!({"value": 30, "type": "bar"})).unwrap());
        let or = json!({"Or": [{"Variable": "$.a", "IsPresent": true}, {"Variable": "$.b", "IsPresent": true}]});
        assert!(holds(or, json!({"b": 1})).unwrap());
    }

    #[test]
    fn string_matches() {
        let m = |pattern: &str, text: &str| {
            holds(
                json!({"Variable": "$.s", "StringMatches": pattern}),
                json!({"s": text}),
            )
            .unwrap()
        };
        assert!(m("log-*.txt", "log-2024.txt"));
        assert!(!m("log-*.txt", "log-2024.csv"));
        assert!(m("*", ""));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("literal\\*", "literal*"));
        assert!(!m("literal\\*", "literalX"));
    }

    #[test]
    fn bad_rules_name_the_field() {
        let err = |rule: Value| Rule::parse(rule.as_object().unwrap()).unwrap_err().0;
        assert_eq!(
            err(json!({"Variable": "$.a", "StringEquals": 1})),
            "/StringEquals"
        );
        assert_eq!(
            err(json!({"Variable": "$.a", "NumberEquals": 1})),
            "/NumberEquals"
        );
        assert_eq!(
            err(json!({"Variable": "a", "StringEquals": "x"})),
            "/Variable"
        );
        assert_eq!(
            err(json!({"And": [{"Variable": "$.a", "IsNull": true, "Next": "X"}]})),
            "/And/0/Next"
        );
        assert_eq!(
            err(json!({"Variable": "$.a", "TimestampEquals": "yesterday"})),
            "/TimestampEquals"
        );
        assert_eq!(
            err(json!({"Variable": "$.a", "BooleanLessThan": true})),
            "/BooleanLessThan"
        );
    }
}
