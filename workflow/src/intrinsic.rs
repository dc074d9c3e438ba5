//! Intrinsic functions: `States.Format('Hello {}', $.name)` and the rest, in the values of
//! `….$` fields. Arguments are quoted strings (`\'`, `\{`, `\}`, `\\` escapes), numbers,
//! booleans, `null`, paths and nested calls.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html>

use crate::error::{INTRINSIC_FAILURE, StatesError};
use crate::path::Path;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// The most items `States.ArrayRange` may produce.
const MAX_RANGE: i64 = 1000;
/// The longest input `States.Base64Encode`/`Decode` and `States.Hash` take.
const MAX_DATA: usize = 10_000;

/// A parsed intrinsic call.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    name: String,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A quoted string, kept raw (escapes intact) for `States.Format`'s placeholders.
    Text(String),
    Literal(Value),
    Path(Path),
    Call(Intrinsic),
}

/// Functions and the number of arguments each takes (`min..=max`).
const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

impl Intrinsic {
    /// Whether a `….$` value is an intrinsic call rather than a path.
    pub fn looks_like(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    /// Parses a call, checking the function exists and its number of arguments.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parser = Parser { text, pos: 0 };
        let call = parser.call()?;
        parser.skip_spaces();
        if parser.pos != text.len() {
            return Err(format!(
                "unexpected '{}' after the call",
                &text[parser.pos..]
            ));
        }
        Ok(call)
    }

    /// Evaluates the call over the state's input and the context object.
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, StatesError> {
        let fail =
            |why: String| StatesError::new(INTRINSIC_FAILURE, format!("{}: {why}", self.name));
        let args = self
            .args
            .iter()
            .map(|arg| match arg {
                Arg::Text(raw) => Ok(Value::String(unescape(raw))),
                Arg::Literal(v) => Ok(v.clone()),
                Arg::Path(p) => p.select(input, context).map_err(|e| fail(e.to_string())),
                Arg::Call(call) => call.eval(input, context),
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.apply(&args).map_err(fail)
    }

    fn apply(&self, args: &[Value]) -> Result<Value, String> {
        let arg = |i: usize| {
            args.get(i)
                .ok_or_else(|| format!("argument {} is missing", i + 1))
        };
        let text = |i: usize| {
            arg(i)?
                .as_str()
                .ok_or_else(|| format!("argument {} must be a string", i + 1))
        };
        let array = |i: usize| {
            arg(i)?
                .as_array()
                .ok_or_else(|| format!("argument {} must be an array", i + 1))
        };
        let int = |i: usize| {
            let v = arg(i)?;
            v.as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .ok_or_else(|| format!("argument {} must be an integer", i + 1))
        };
        let bounded = |i: usize| {
            let s = text(i)?;
            if s.chars().count() > MAX_DATA {
                return Err(format!("the input is over {MAX_DATA} characters"));
            }
            Ok(s)
        };
        Ok(match self.name.as_str() {
            "States.Format" => {
                let Some(Arg::Text(template)) = self.args.first() else {
                    return Err("the template must be a quoted string".into());
                };
                Value::String(format(template, &args[1..])?)
            }
            "States.StringToJson" => {
                serde_json::from_str(text(0)?).map_err(|e| format!("not JSON: {e}"))?
            }
            "States.JsonToString" => Value::String(arg(0)?.to_string()),
            "States.Array" => Value::Array(args.to_vec()),
            "States.ArrayPartition" => {
                let size = usize::try_from(int(1)?)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("the chunk size must be positive")?;
                Value::Array(
                    array(0)?
                        .chunks(size)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                )
            }
            "States.ArrayContains" => Value::Bool(array(0)?.contains(arg(1)?)),
            "States.ArrayRange" => {
                let (start, end, step) = (int(0)?, int(1)?, int(2)?);
                if step == 0 {
                    return Err("the step must not be 0".into());
                }
                let count = (end - start) / step + 1;
                if count > MAX_RANGE {
                    return Err(format!("the range has more than {MAX_RANGE} items"));
                }
                Value::Array(
                    (0..count.max(0))
                        .map(|i| Value::from(start + i * step))
                        .collect(),
                )
            }
            "States.ArrayGetItem" => {
                let at = usize::try_from(int(1)?).map_err(|_| "the index must not be negative")?;
                array(0)?
                    .get(at)
                    .cloned()
                    .ok_or("the index is out of bounds")?
            }
            "States.ArrayLength" => Value::from(array(0)?.len()),
            "States.ArrayUnique" => {
                let mut seen: Vec<Value> = Vec::new();
                for item in array(0)? {
                    if !seen.contains(item) {
                        seen.push(item.clone());
                    }
                }
                Value::Array(seen)
            }
            "States.Base64Encode" => Value::String(STANDARD.encode(bounded(0)?)),
            "States.Base64Decode" => {
                let bytes = STANDARD
                    .decode(bounded(0)?)
                    .map_err(|e| format!("not base64: {e}"))?;
                Value::String(
                    String::from_utf8(bytes).map_err(|_| "the decoded data is not UTF-8")?,
                )
            }
            "States.Hash" => Value::String(hash(bounded(0)?, text(1)?)?),
            "States.JsonMerge" => {
                if arg(2)? != &Value::Bool(false) {
                    return Err(
                        "only shallow merging is supported: the third argument must be false"
                            .into(),
                    );
                }
                let (Some(a), Some(b)) = (arg(0)?.as_object(), arg(1)?.as_object()) else {
                    return Err("both arguments must be objects".into());
                };
                let mut merged: Map<String, Value> = a.clone();
                merged.extend(b.clone());
                Value::Object(merged)
            }
            "States.MathRandom" => {
                let (start, end) = (int(0)?, int(1)?);
                if start >= end {
                    return Err("the start must be below the end".into());
                }
                let mut rng = match args.get(2) {
                    Some(_) => fastrand::Rng::with_seed(int(2)? as u64),
                    None => fastrand::Rng::new(),
                };
                Value::from(rng.i64(start..end))
            }
            "States.MathAdd" => match (arg(0)?.as_i64(), arg(1)?.as_i64()) {
                (Some(a), Some(b)) => Value::from(a.checked_add(b).ok_or("the sum overflows")?),
                _ => Value::from(int(0)?.checked_add(int(1)?).ok_or("the sum overflows")?),
            },
            "States.StringSplit" => {
                let delimiters = text(1)?;
                let parts = text(0)?
                    .split(|c| delimiters.contains(c))
                    .filter(|s| !s.is_empty());
                Value::Array(parts.map(|s| Value::String(s.to_owned())).collect())
            }
            "States.UUID" => Value::String(uuid::Uuid::new_v4().to_string()),
            other => return Err(format!("{other} is not an intrinsic function")),
        })
    }
}

/// Fills `{}` placeholders of a raw template in order; `\{`, `\}` are literal braces.
fn format(template: &str, values: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut values = values.iter();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '{' => {
                if chars.next() != Some('}') {
                    return Err(
                        "a '{' must be followed by '}' (escape a literal one as \\{)".into(),
                    );
                }
                match values.next() {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        out.push_str(&v.to_string())
                    }
                    Some(_) => {
                        return Err(
                            "only strings, numbers, booleans and null can be formatted".into()
                        );
                    }
                    None => return Err("there are more placeholders than arguments".into()),
                }
            }
            c => out.push(c),
        }
    }
    if values.next().is_some() {
        return Err("there are more arguments than placeholders".into());
    }
    Ok(out)
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    out
}

fn hash(data: &str, algorithm: &str) -> Result<String, String> {
    use sha2::Digest as _;
    let bytes = data.as_bytes();
    let digest: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        other => {
            return Err(format!(
                "'{other}' is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            ));
        }
    };
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Parser<'t> {
    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn skip_spaces(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.text.len() - trimmed.len();
    }

    fn call(&mut self) -> Result<Intrinsic, String> {
        self.skip_spaces();
        let name: String = self
            .rest()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
            .collect();
        self.pos += name.len();
        let Some(&(_, min, max)) = FUNCTIONS.iter().find(|(known, _, _)| *known == name) else {
            return Err(format!("'{name}' is not an intrinsic function"));
        };
        self.skip_spaces();
        if !self.rest().starts_with('(') {
            return Err(format!("'(' is missing after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_spaces();
        if self.rest().starts_with(')') {
            self.pos += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.skip_spaces();
                match self.rest().chars().next() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(format!("',' or ')' expected in {name}")),
                }
            }
        }
        if args.len() < min || args.len() > max {
            return Err(format!("{name} does not take {} arguments", args.len()));
        }
        Ok(Intrinsic { name, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.skip_spaces();
        let rest = self.rest();
        if rest.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        if let Some(body) = rest.strip_prefix('\'') {
            let mut escaped = false;
            let end = body
                .char_indices()
                .find(|&(_, c)| {
                    let close = c == '\'' && !escaped;
                    escaped = c == '\\' && !escaped;
                    close
                })
                .map(|(i, _)| i)
                .ok_or("an unterminated string")?;
            self.pos += end + 2;
            return Ok(Arg::Text(body[..end].to_owned()));
        }
        // A path or a literal ends at the first ',' or ')' outside brackets and quotes.
        let (mut depth, mut quote) = (0usize, None);
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '\'' | '"') => quote = Some(c),
                    (None, '[' | '(') => depth += 1,
                    (None, ']') => depth = depth.saturating_sub(1),
                    (None, ')') if depth > 0 => depth -= 1,
                    (None, ',' | ')') => return true,
                    _ => {}
                }
                false
            })
            .map_or(rest.len(), |(i, _)| i);
        let token = rest[..end].trim();
        self.pos += end;
        if token.starts_with('$') {
            return Path::parse(token).map(Arg::Path).map_err(|e| e.to_string());
        }
        match serde_json::from_str::<Value>(token) {
            Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(Arg::Literal(v)),
            _ => Err(format!(
                "'{token}' is not an argument (a quoted string, number, boolean, null, path or call)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(call: &str, input: Value) -> Value {
        Intrinsic::parse(call)
            .unwrap()
            .eval(&input, &Value::Null)
            .unwrap()
    }

    fn fails(call: &str, input: Value) -> StatesError {
        Intrinsic::parse(call)
            .unwrap()
            .eval(&input, &Value::Null)
            .unwrap_err()
    }

    // Each example below is the one the intrinsic functions page documents.

    #[test]
    fn format() {
        assert_eq!(
            eval(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            ),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            eval(
                "States.Format('{} \\{literal\\} {} it\\'s', 1, true)",
                json!({})
            ),
            json!("1 {literal} true it's")
        );
        assert_eq!(
            fails("States.Format('{} {}', 'one')", json!({})).error,
            INTRINSIC_FAILURE
        );
    }

    #[test]
    fn json_strings() {
        assert_eq!(
            eval(
                "States.StringToJson($.escapedJsonString)",
                json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
            ),
            json!({"foo": "bar"})
        );
        assert_eq!(
            eval(
                "States.JsonToString($.unescapedJson)",
                json!({"unescapedJson": {"foo": "bar"}})
            ),
            json!("{\"foo\":\"bar\"}")
        );
    }

    #[test]
    fn arrays() {
        assert_eq!(
            eval(
                "States.Array('Foo', 2020, $.someJson, null)",
                json!({"someJson": {"random": "abcdefg"}})
            ),
            json!(["Foo", 2020, {"random": "abcdefg"}, null])
        );
        let nine = json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5, "lookingFor": 5});
        assert_eq!(
            eval("States.ArrayPartition($.inputArray,4)", nine.clone()),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            eval(
                "States.ArrayContains($.inputArray, $.lookingFor)",
                nine.clone()
            ),
            json!(true)
        );
        assert_eq!(
            eval("States.ArrayRange(1, 9, 2)", json!({})),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            eval("States.ArrayGetItem($.inputArray, $.index)", nine.clone()),
            json!(6)
        );
        assert_eq!(eval("States.ArrayLength($.inputArray)", nine), json!(9));
        assert_eq!(
            eval(
                "States.ArrayUnique($.inputArray)",
                json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]})
            ),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            fails("States.ArrayRange(1, 5000, 1)", json!({})).error,
            INTRINSIC_FAILURE
        );
        assert_eq!(
            fails("States.ArrayGetItem($.a, 3)", json!({"a": [1]})).error,
            INTRINSIC_FAILURE
        );
    }

    #[test]
    fn encoding_and_hashing() {
        assert_eq!(
            eval(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            ),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            eval(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGF0YSB0byBlbmNvZGU="})
            ),
            json!("Data to encode")
        );
        let data = json!({"Data": "input data", "Algorithm": "SHA-1"});
        assert_eq!(
            eval("States.Hash($.Data, $.Algorithm)", data),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            eval("States.Hash('abc', 'MD5')", json!({})),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            eval("States.Hash('abc', 'SHA-256')", json!({})),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            fails("States.Hash('abc', 'CRC32')", json!({})).error,
            INTRINSIC_FAILURE
        );
    }

    #[test]
    fn json_merge() {
        let input = json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}});
        assert_eq!(
            eval("States.JsonMerge($.json1, $.json2, false)", input.clone()),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})
        );
        assert_eq!(
            fails("States.JsonMerge($.json1, $.json2, true)", input).error,
            INTRINSIC_FAILURE
        );
    }

    #[test]
    fn math() {
        for _ in 0..20 {
            let n = eval(
                "States.MathRandom($.start, $.end)",
                json!({"start": 1, "end": 999}),
            )
            .as_i64()
            .unwrap();
            assert!((1..999).contains(&n));
        }
        let seeded = "States.MathRandom(1, 999, 42)";
        assert_eq!(eval(seeded, json!({})), eval(seeded, json!({})));
        assert_eq!(
            eval(
                "States.MathAdd($.value1, $.step)",
                json!({"value1": 111, "step": -1})
            ),
            json!(110)
        );
    }

    #[test]
    fn strings_and_uuid() {
        assert_eq!(
            eval(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "1,2,3,4,5", "splitter": ","})
            ),
            json!(["1", "2", "3", "4", "5"])
        );
        assert_eq!(
            eval(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
            ),
            json!(["This", "is", "a", "test", "string"])
        );
        let id = eval("States.UUID()", json!({}));
        let id = uuid::Uuid::parse_str(id.as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn nested_calls_and_context() {
        let call =
            Intrinsic::parse("States.ArrayLength(States.StringSplit($$.Execution.Name, '-'))")
                .unwrap();
        let context = json!({"Execution": {"Name": "a-b-c"}});
        assert_eq!(call.eval(&json!({}), &context).unwrap(), json!(3));
    }

    #[test]
    fn bad_calls_are_refused_at_parse() {
        for bad in [
            "States.Nope()",
            "States.UUID(1)",
            "States.Format(",
            "States.Array('a' 'b')",
            "States.Array(foo)",
            "States.Array(1) x",
        ] {
            assert!(Intrinsic::parse(bad).is_err(), "{bad}");
        }
    }
}
