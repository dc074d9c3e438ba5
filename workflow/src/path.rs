//! JSONPath as Step Functions uses it: `$` (the state's input) or `$$` (the context object),
//! then `.name`, `['name']`, `[index]`, `[*]`, `[a,b]`, `[start:end:step]`, `..name` and
//! filters `[?(@.price < 10 && @.tag == 'x')]`.
//!
//! A *definite* path (names and indices only) selects one value, or fails when nothing is
//! there; any other path selects a list of matches (possibly empty). *Reference paths*
//! (`ResultPath`, a Choice rule's `Variable`, `ItemsPath`) must be definite.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html>

use serde_json::{Map, Value};
use std::fmt;

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    context: bool,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(Selector),
    Descendant(Selector),
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Union(Vec<Selector>),
    Slice(Option<i64>, Option<i64>, i64),
    Filter(Box<Filter>),
}

/// A filter expression; `@` paths are names and indices from the current element.
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(Vec<Selector>),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why a path could not be read or applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathError {
    /// The text is not a JSONPath (or not a reference path where one is required).
    #[error("{0}")]
    Syntax(String),
    /// A definite path found nothing.
    #[error("Invalid path '{0}' : No results for path: {0}")]
    NoMatch(String),
    /// A reference path could not place a value (a non-object on the way).
    #[error("Unable to apply ResultPath \"{0}\" to input")]
    CannotSet(String),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// `$`: the whole input.
    pub fn root() -> Self {
        Self {
            text: "$".into(),
            context: false,
            segments: Vec::new(),
        }
    }

    /// Parses any JSONPath.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        Parser::new(text)
            .path()
            .map_err(|why| PathError::Syntax(format!("'{text}' is not a valid JSONPath: {why}")))
    }

    /// Parses a reference path: a definite path over the input (`ResultPath`, `Variable`).
    pub fn reference(text: &str) -> Result<Self, PathError> {
        let path = Self::parse(text)?;
        if path.context || !path.is_definite() {
            return Err(PathError::Syntax(format!(
                "'{text}' is not a valid reference path (only names and indices from '$')"
            )));
        }
        Ok(path)
    }

    /// Whether the path reads the context object (`$$`).
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// Whether the path selects at most one value (names and non-negative indices only).
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Child(Selector::Name(_) | Selector::Index(0..))))
    }

    /// The value a path selects: `input` for `$…`, `context` for `$$…`. A definite path that
    /// finds nothing is an error; any other path yields the array of its matches.
    pub fn select(&self, input: &Value, context: &Value) -> Result<Value, PathError> {
        let root = if self.context { context } else { input };
        let found = self.matches(root);
        if self.is_definite() {
            found
                .first()
                .map(|v| (*v).clone())
                .ok_or_else(|| PathError::NoMatch(self.text.clone()))
        } else {
            Ok(Value::Array(found.into_iter().cloned().collect()))
        }
    }

    /// Whether a definite path finds a value (Choice's `IsPresent`).
    pub fn find<'v>(&self, input: &'v Value, context: &'v Value) -> Option<&'v Value> {
        let root = if self.context { context } else { input };
        self.matches(root).into_iter().next()
    }

    fn matches<'v>(&self, root: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![root];
        for segment in &self.segments {
            let mut next = Vec::new();
            for value in current {
                match segment {
                    Segment::Child(sel) => sel.apply(value, &mut next),
                    Segment::Descendant(sel) => descend(value, sel, &mut next),
                }
            }
            current = next;
        }
        current
    }

    /// Places `value` at this reference path inside `target` (`ResultPath`): `$` replaces the
    /// whole target, missing objects on the way are created.
    pub fn set(&self, target: Value, value: Value) -> Result<Value, PathError> {
        let Some((last, parents)) = self.segments.split_last() else {
            return Ok(value);
        };
        let mut target = target;
        let mut slot = &mut target;
        let fail = || PathError::CannotSet(self.text.clone());
        for segment in parents {
            slot = match segment {
                Segment::Child(Selector::Name(name)) => match slot {
                    Value::Object(map) => map
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Map::new())),
                    _ => return Err(fail()),
                },
                Segment::Child(Selector::Index(i)) => slot
                    .get_mut(usize::try_from(*i).map_err(|_| fail())?)
                    .ok_or_else(fail)?,
                _ => return Err(fail()),
            };
        }
        match (last, slot) {
            (Segment::Child(Selector::Name(name)), Value::Object(map)) => {
                map.insert(name.clone(), value);
            }
            (Segment::Child(Selector::Index(i)), Value::Array(items)) => {
                *items
                    .get_mut(usize::try_from(*i).map_err(|_| fail())?)
                    .ok_or_else(fail)? = value;
            }
            _ => return Err(fail()),
        }
        Ok(target)
    }
}

impl Selector {
    fn apply<'v>(&self, value: &'v Value, out: &mut Vec<&'v Value>) {
        match (self, value) {
            (Selector::Name(name), Value::Object(map)) => out.extend(map.get(name)),
            (Selector::Index(i), Value::Array(items)) => out.extend(index(items, *i)),
            (Selector::Wildcard, Value::Object(map)) => out.extend(map.values()),
            (Selector::Wildcard, Value::Array(items)) => out.extend(items),
            (Selector::Union(all), _) => all.iter().for_each(|s| s.apply(value, out)),
            (Selector::Slice(start, end, step), Value::Array(items)) => {
                slice(items, *start, *end, *step, out)
            }
            (Selector::Filter(filter), Value::Array(items)) => {
                out.extend(items.iter().filter(|item| filter.holds(item)));
            }
            (Selector::Filter(filter), Value::Object(map)) => {
                out.extend(map.values().filter(|item| filter.holds(item)));
            }
            _ => {}
        }
    }
}

fn index(items: &[Value], i: i64) -> Option<&Value> {
    let len = i64::try_from(items.len()).ok()?;
    let at = if i < 0 { len + i } else { i };
    usize::try_from(at).ok().and_then(|at| items.get(at))
}

fn slice<'v>(
    items: &'v [Value],
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
    out: &mut Vec<&'v Value>,
) {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let clamp = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    if step > 0 {
        let (mut i, end) = (clamp(start.unwrap_or(0)), clamp(end.unwrap_or(len)));
        while i < end {
            out.extend(index(items, i));
            i += step;
        }
    } else if step < 0 {
        let mut i = start.map_or(len - 1, |s| clamp(s).min(len - 1));
        let end = end.map_or(-1, clamp);
        while i > end {
            out.extend(index(items, i));
            i += step;
        }
    }
}

fn descend<'v>(value: &'v Value, sel: &Selector, out: &mut Vec<&'v Value>) {
    sel.apply(value, out);
    match value {
        Value::Object(map) => map.values().for_each(|v| descend(v, sel, out)),
        Value::Array(items) => items.iter().for_each(|v| descend(v, sel, out)),
        _ => {}
    }
}

impl Filter {
    fn holds(&self, item: &Value) -> bool {
        match self {
            Filter::Or(a, b) => a.holds(item) || b.holds(item),
            Filter::And(a, b) => a.holds(item) && b.holds(item),
            Filter::Not(f) => !f.holds(item),
            Filter::Exists(op) => op
                .eval(item)
                .is_some_and(|v| !matches!(v, Value::Bool(false))),
            Filter::Compare(a, op, b) => match (a.eval(item), b.eval(item)) {
                (Some(a), Some(b)) => compare(a, *op, b),
                _ => false,
            },
        }
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    use std::cmp::Ordering;
    let order = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ if a == b => Some(Ordering::Equal),
        _ => None,
    };
    match op {
        CmpOp::Eq => order == Some(Ordering::Equal),
        CmpOp::Ne => order != Some(Ordering::Equal),
        CmpOp::Lt => order == Some(Ordering::Less),
        CmpOp::Le => matches!(order, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order, Some(Ordering::Greater | Ordering::Equal)),
    }
}

impl Operand {
    fn eval<'v>(&'v self, item: &'v Value) -> Option<&'v Value> {
        match self {
            Operand::Literal(v) => Some(v),
            Operand::Current(steps) => steps.iter().try_fold(item, |v, step| {
                let mut out = Vec::new();
                step.apply(v, &mut out);
                out.into_iter().next()
            }),
        }
    }
}

/// A recursive-descent parser over the path's characters.
struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

type Parsed<T> = Result<T, String>;

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Self {
        Self { text, pos: 0 }
    }

    fn rest(&self) -> &'t str {
        &self.text[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, token: &str) -> bool {
        let found = self.rest().starts_with(token);
        if found {
            self.pos += token.len();
        }
        found
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, token: &str) -> Parsed<()> {
        self.skip_spaces();
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("expected '{token}' at offset {}", self.pos))
        }
    }

    fn path(mut self) -> Parsed<Path> {
        if !self.eat("$") {
            return Err("a path starts with '$'".into());
        }
        let context = self.eat("$");
        let mut segments = Vec::new();
        while self.peek().is_some() {
            segments.push(self.segment()?);
        }
        Ok(Path {
            text: self.text.to_owned(),
            context,
            segments,
        })
    }

    fn segment(&mut self) -> Parsed<Segment> {
        if self.eat("..") {
            let sel = if self.peek() == Some('[') {
                self.bracket()?
            } else {
                self.dotted()?
            };
            Ok(Segment::Descendant(sel))
        } else if self.eat(".") {
            Ok(Segment::Child(self.dotted()?))
        } else if self.peek() == Some('[') {
            Ok(Segment::Child(self.bracket()?))
        } else {
            Err(format!(
                "unexpected '{}' at offset {}",
                self.rest(),
                self.pos
            ))
        }
    }

    fn dotted(&mut self) -> Parsed<Selector> {
        if self.eat("*") {
            return Ok(Selector::Wildcard);
        }
        let name: String = self
            .rest()
            .chars()
            .take_while(|c| !".[]()'\",".contains(*c) && !c.is_whitespace())
            .collect();
        if name.is_empty() {
            return Err(format!("a name is missing at offset {}", self.pos));
        }
        self.pos += name.len();
        Ok(Selector::Name(name))
    }

    fn bracket(&mut self) -> Parsed<Selector> {
        self.expect("[")?;
        self.skip_spaces();
        let sel = if self.eat("*") {
            Selector::Wildcard
        } else if self.eat("?") {
            self.expect("(")?;
            let filter = self.or()?;
            self.expect(")")?;
            Selector::Filter(Box::new(filter))
        } else {
            let mut all = vec![self.member()?];
            loop {
                self.skip_spaces();
                if !self.eat(",") {
                    break;
                }
                self.skip_spaces();
                all.push(self.member()?);
            }
            if all.len() == 1 {
                all.remove(0)
            } else {
                Selector::Union(all)
            }
        };
        self.expect("]")?;
        Ok(sel)
    }

    /// A quoted name, an index or a slice.
    fn member(&mut self) -> Parsed<Selector> {
        if matches!(self.peek(), Some('\'' | '"')) {
            return Ok(Selector::Name(self.quoted()?));
        }
        let start = self.int()?;
        self.skip_spaces();
        if !self.eat(":") {
            return start
                .map(Selector::Index)
                .ok_or_else(|| format!("an index is missing at offset {}", self.pos));
        }
        let end = self.int()?;
        let step = if self.eat(":") {
            self.int()?.unwrap_or(1)
        } else {
            1
        };
        Ok(Selector::Slice(start, end, step))
    }

    fn int(&mut self) -> Parsed<Option<i64>> {
        self.skip_spaces();
        let digits: String = self
            .rest()
            .char_indices()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
            .map(|(_, c)| c)
            .collect();
        if digits.is_empty() {
            return Ok(None);
        }
        self.pos += digits.len();
        digits
            .parse()
            .map(Some)
            .map_err(|_| format!("'{digits}' is not an index"))
    }

    fn quoted(&mut self) -> Parsed<String> {
        let quote = self.peek().unwrap_or('\'');
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().chars();
        loop {
            match chars.next() {
                None => return Err("an unterminated string".into()),
                Some('\\') => match chars.next() {
                    Some(c) => {
                        out.push(c);
                        self.pos += 1 + c.len_utf8();
                    }
                    None => return Err("an unterminated string".into()),
                },
                Some(c) if c == quote => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn or(&mut self) -> Parsed<Filter> {
        let mut left = self.and()?;
        loop {
            self.skip_spaces();
            if !self.eat("||") {
                return Ok(left);
            }
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
    }

    fn and(&mut self) -> Parsed<Filter> {
        let mut left = self.unary()?;
        loop {
            self.skip_spaces();
            if !self.eat("&&") {
                return Ok(left);
            }
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Parsed<Filter> {
        self.skip_spaces();
        if self.eat("!") && !self.rest().starts_with('=') {
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            self.expect(")")?;
            return Ok(inner);
        }
        let left = self.operand()?;
        self.skip_spaces();
        let op = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ]
        .into_iter()
        .find(|(token, _)| self.eat(token));
        match op {
            Some((_, op)) => Ok(Filter::Compare(left, op, self.operand()?)),
            None => Ok(Filter::Exists(left)),
        }
    }

    fn operand(&mut self) -> Parsed<Operand> {
        self.skip_spaces();
        if self.eat("@") {
            let mut steps = Vec::new();
            loop {
                if self.eat(".") {
                    steps.push(self.dotted()?);
                } else if self.peek() == Some('[') {
                    self.pos += 1;
                    self.skip_spaces();
                    steps.push(self.member()?);
                    self.expect("]")?;
                } else {
                    return Ok(Operand::Current(steps));
                }
            }
        }
        if matches!(self.peek(), Some('\'' | '"')) {
            return Ok(Operand::Literal(Value::String(self.quoted()?)));
        }
        let token: String = self
            .rest()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-+.".contains(*c))
            .collect();
        self.pos += token.len();
        match serde_json::from_str::<Value>(&token) {
            Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(Operand::Literal(v)),
            _ => Err(format!("'{token}' is not a value a filter can compare")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn get(path: &str, input: &Value) -> Value {
        Path::parse(path)
            .unwrap()
            .select(input, &Value::Null)
            .unwrap()
    }

    /// The store example of the developer guide's paths page.
    fn store() -> Value {
        json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true},
               "items": [{"name": "x", "price": 5}, {"name": "y", "price": 15}, {"name": "z", "price": 25, "tag": "new"}]})
    }

    #[test]
    fn names_and_indices() {
        let input = store();
        assert_eq!(get("$.foo", &input), json!(123));
        assert_eq!(get("$.bar", &input), json!(["a", "b", "c"]));
        assert_eq!(get("$.car.cdr", &input), json!(true));
        assert_eq!(get("$.bar[1]", &input), json!("b"));
        assert_eq!(get("$['car']['cdr']", &input), json!(true));
        assert_eq!(get("$", &input), input);
    }

    #[test]
    fn indefinite_paths_give_arrays() {
        let input = store();
        assert_eq!(get("$.bar[*]", &input), json!(["a", "b", "c"]));
        assert_eq!(get("$.bar[0,2]", &input), json!(["a", "c"]));
        assert_eq!(get("$.bar[1:]", &input), json!(["b", "c"]));
        assert_eq!(get("$.bar[-1]", &input), json!(["c"]));
        assert_eq!(get("$.bar[::-1]", &input), json!(["c", "b", "a"]));
        assert_eq!(get("$..price", &input), json!([5, 15, 25]));
        assert_eq!(get("$.items[*].name", &input), json!(["x", "y", "z"]));
        assert_eq!(get("$..nothing", &input), json!([]));
    }

    #[test]
    fn filters() {
        let input = store();
        assert_eq!(
            get("$.items[?(@.price > 10)].name", &input),
            json!(["y", "z"])
        );
        assert_eq!(
            get("$.items[?(@.price >= 5 && @.price < 20)].name", &input),
            json!(["x", "y"])
        );
        assert_eq!(get("$.items[?(@.tag)].name", &input), json!(["z"]));
        assert_eq!(
            get("$.items[?(@.name == 'x' || @.name == \"z\")].price", &input),
            json!([5, 25])
        );
        assert_eq!(
            get("$.items[?(!(@.price != 15))].name", &input),
            json!(["y"])
        );
    }

    #[test]
    fn a_definite_path_that_finds_nothing_fails() {
        let err = Path::parse("$.missing")
            .unwrap()
            .select(&store(), &Value::Null)
            .unwrap_err();
        assert_eq!(err, PathError::NoMatch("$.missing".into()));
    }

    #[test]
    fn context_paths_read_the_context() {
        let path = Path::parse("$$.Execution.Id").unwrap();
        assert!(path.is_context());
        let ctx = json!({"Execution": {"Id": "arn:x"}});
        assert_eq!(path.select(&json!({}), &ctx).unwrap(), json!("arn:x"));
    }

    #[test]
    fn bad_paths_are_refused() {
        for bad in ["foo", "$.", "$[", "$.a[?(@.b ~ 1)]", "$['a", "$.a b"] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
        assert!(Path::reference("$.a[*]").is_err());
        assert!(Path::reference("$$.Execution").is_err());
        assert!(Path::reference("$.a[0].b").is_ok());
    }

    #[test]
    fn reference_paths_place_values() {
        let set = |path: &str, target: Value| Path::reference(path).unwrap().set(target, json!(9));
        assert_eq!(set("$", json!({"a": 1})).unwrap(), json!(9));
        assert_eq!(
            set("$.b", json!({"a": 1})).unwrap(),
            json!({"a": 1, "b": 9})
        );
        assert_eq!(
            set("$.x.y", json!({"a": 1})).unwrap(),
            json!({"a": 1, "x": {"y": 9}})
        );
        assert_eq!(
            set("$.a[1]", json!({"a": [0, 0]})).unwrap(),
            json!({"a": [0, 9]})
        );
        assert_eq!(
            set("$.a.b", json!({"a": "text"})),
            Err(PathError::CannotSet("$.a.b".into()))
        );
        assert!(set("$.a", json!("not an object")).is_err());
    }
}
