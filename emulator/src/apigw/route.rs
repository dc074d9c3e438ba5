//! The route table: which function, in which payload format, answers a method and a path.
//!
//! Routes are written as API Gateway writes route keys: `GET /users/{id}`, `ANY /files/{proxy+}`,
//! or `$default`. Matching follows API Gateway's priority: a route whose path has no variables
//! beats one with `{param}` segments, which beats one ending in a greedy `{proxy+}`; for the same
//! path a specific method beats `ANY`; `$default` only catches what nothing else matched.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::time::Duration;

use http::Method;

/// What a route key or a route table got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The key is empty or is not `METHOD /path` nor `$default`.
    #[error(
        "route `{key}`: expected `METHOD /path` (for example `GET /users/{{id}}`) or `$default`"
    )]
    Malformed {
        /// The route key as given.
        key: String,
    },
    /// The method is not a valid HTTP method token nor `ANY`.
    #[error("route `{key}`: `{method}` is not an HTTP method (use GET, POST, …, or ANY)")]
    BadMethod {
        /// The route key as given.
        key: String,
        /// The offending method.
        method: String,
    },
    /// The path does not start with `/`.
    #[error("route `{key}`: the path must start with `/`")]
    PathNotAbsolute {
        /// The route key as given.
        key: String,
    },
    /// A segment is empty (`//`), or a trailing `/` follows a non-root path.
    #[error("route `{key}`: empty path segment")]
    EmptySegment {
        /// The route key as given.
        key: String,
    },
    /// A `{…}` segment is malformed: an empty or invalid name, braces not around the whole segment.
    #[error(
        "route `{key}`: bad path variable `{segment}` (a variable is a whole segment like `{{id}}` or `{{proxy+}}`)"
    )]
    BadVariable {
        /// The route key as given.
        key: String,
        /// The offending segment.
        segment: String,
    },
    /// A greedy `{name+}` variable is not the last segment.
    #[error("route `{key}`: a greedy variable `{{name+}}` must be the last path segment")]
    GreedyNotLast {
        /// The route key as given.
        key: String,
    },
    /// The same variable name appears twice in one path.
    #[error("route `{key}`: path variable `{name}` appears twice")]
    DuplicateVariable {
        /// The route key as given.
        key: String,
        /// The repeated name.
        name: String,
    },
    /// Two routes of one table have the same method and path.
    #[error("route `{key}` is defined twice (functions `{first}` and `{second}`)")]
    Duplicate {
        /// The normalised route key.
        key: String,
        /// The function of the first definition.
        first: String,
        /// The function of the second definition.
        second: String,
    },
    /// A function name cannot be used in a default `/{function}/{proxy+}` route.
    #[error("function name `{name}` cannot be a path segment")]
    BadFunctionName {
        /// The function name.
        name: String,
    },
}

/// The event shape a route's function receives, and how its result is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// API Gateway REST API, Lambda proxy integration (payload format 1.0).
    Rest,
    /// API Gateway HTTP API (payload format 2.0).
    Http,
    /// API Gateway HTTP API with `PayloadFormatVersion: "1.0"`: the REST shape with HTTP API
    /// traits (`version: "1.0"`, stage `$default`, lowercase header names, decoded path).
    HttpV1,
    /// A Lambda function URL (the 2.0 shape, function URL context).
    FunctionUrl,
    /// An Application Load Balancer target group (multi-value headers off).
    Alb,
}

/// A REST API's default (and, without a quota increase, longest) integration timeout: 29 s.
pub const REST_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// An HTTP API's default and longest integration timeout: 30 s.
pub const HTTP_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// One segment of a route path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// One route: a method (or `ANY`) and a path template, or `$default`, and its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    key: String,
    method: Option<Method>,
    path: Option<String>,
    segments: Vec<Segment>,
    function: String,
    format: PayloadFormat,
    /// The integration timeout set on the route; `None` takes the format's default.
    integration_timeout: Option<Duration>,
    /// The `binaryMediaTypes` of the REST API the route belongs to.
    binary_media_types: Vec<String>,
}

/// Characters API Gateway accepts in a path variable name (alphanumerics, `_`, `-`, `.`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Route {
    /// The route key of the catch-all route.
    pub const DEFAULT_KEY: &'static str = "$default";

    /// Parses a route key (`GET /users/{id}`, `ANY /files/{proxy+}`, `$default`; the method is
    /// case-insensitive, runs of spaces are allowed) for `function` in `format`.
    pub fn parse(
        key: &str,
        function: impl Into<String>,
        format: PayloadFormat,
    ) -> Result<Self, RouteError> {
        let function = function.into();
        let trimmed = key.trim();
        if trimmed == Self::DEFAULT_KEY {
            return Ok(Self {
                key: Self::DEFAULT_KEY.to_owned(),
                method: None,
                path: None,
                segments: Vec::new(),
                function,
                format,
                integration_timeout: None,
                binary_media_types: Vec::new(),
            });
        }
        let malformed = || RouteError::Malformed {
            key: key.to_owned(),
        };
        let mut parts = trimmed.split_whitespace();
        let (Some(method), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        Self::new(method, path, function, format).map_err(|e| match e {
            // Report errors against the key as the user wrote it.
            RouteError::Malformed { .. } => malformed(),
            other => other,
        })
    }

    /// The routes of `function` when it has none of its own beside functions that have some:
    /// `ANY /{function}` and `ANY /{function}/{proxy+}`.
    pub fn defaults_for(function: &str, format: PayloadFormat) -> Result<[Route; 2], RouteError> {
        let bad = || RouteError::BadFunctionName {
            name: function.to_owned(),
        };
        if function.is_empty() || function.contains(['/', '{', '}', '?', '#', '%']) {
            return Err(bad());
        }
        let route = |path: String| Route::new("ANY", &path, function, format).map_err(|_| bad());
        Ok([
            route(format!("/{function}"))?,
            route(format!("/{function}/{{proxy+}}"))?,
        ])
    }

    /// Builds a route from a method (`GET`, `any`, `ANY`, …) and a path template (`/users/{id}`).
    pub fn new(
        method: &str,
        path: &str,
        function: impl Into<String>,
        format: PayloadFormat,
    ) -> Result<Self, RouteError> {
        let shown = format!("{method} {path}");
        let method = if method.eq_ignore_ascii_case("ANY") || method == "*" {
            None
        } else {
            let upper = method.to_ascii_uppercase();
            match Method::from_bytes(upper.as_bytes()) {
                Ok(m) if !upper.is_empty() => Some(m),
                _ => {
                    return Err(RouteError::BadMethod {
                        key: shown,
                        method: method.to_owned(),
                    });
                }
            }
        };
        let segments = parse_path(path, &shown)?;
        let key = format!("{} {path}", method.as_ref().map_or("ANY", |m| m.as_str()));
        Ok(Self {
            key,
            method,
            path: Some(path.to_owned()),
            segments,
            function: function.into(),
            format,
            integration_timeout: None,
            binary_media_types: Vec::new(),
        })
    }

    /// The route key as API Gateway reports it in `routeKey`: `GET /users/{id}` or `$default`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The route's method; `None` for `ANY` and `$default`.
    pub fn method(&self) -> Option<&Method> {
        self.method.as_ref()
    }

    /// The path template (`/users/{id}`); `None` for `$default`.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Whether this is the `$default` route.
    pub fn is_default(&self) -> bool {
        self.path.is_none()
    }

    /// The function this route invokes.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The payload format of the events this route sends.
    pub fn format(&self) -> PayloadFormat {
        self.format
    }

    /// Sets the integration timeout (SAM `TimeoutInMillis`): how long API Gateway waits for the
    /// function before answering on its own.
    pub fn with_integration_timeout(mut self, timeout: Duration) -> Self {
        self.integration_timeout = Some(timeout);
        self
    }

    /// How long API Gateway waits for the function: the route's own setting, else the default
    /// of its API type. `None` for function URLs and ALBs, which wait as long as the function
    /// runs.
    ///
    /// The defaults are the longest AWS allows: 29 s for REST APIs, 30 s for HTTP APIs
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>, and
    /// `TimeoutInMillis` of `AWS::ApiGateway::Method` Integration / `AWS::ApiGatewayV2::Integration`).
    pub fn integration_timeout(&self) -> Option<Duration> {
        let default = match self.format {
            PayloadFormat::Rest => Some(REST_INTEGRATION_TIMEOUT),
            PayloadFormat::Http | PayloadFormat::HttpV1 => Some(HTTP_INTEGRATION_TIMEOUT),
            PayloadFormat::FunctionUrl | PayloadFormat::Alb => None,
        };
        default.map(|d| self.integration_timeout.unwrap_or(d))
    }

    /// Sets the `binaryMediaTypes` of the route's REST API (`image/png`, `image/*`, `*/*`).
    pub fn with_binary_media_types(mut self, types: Vec<String>) -> Self {
        self.binary_media_types = types;
        self
    }

    /// The `binaryMediaTypes` of the route's REST API (empty for other formats).
    pub fn binary_media_types(&self) -> &[String] {
        &self.binary_media_types
    }

    /// Matches a raw (still percent-encoded) request path; the parameters are decoded.
    fn match_path(&self, path: &str) -> Option<HashMap<String, String>> {
        let mut params = HashMap::new();
        let rest = path.strip_prefix('/')?;
        let mut segs: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        // A trailing slash is not a segment of its own (`/users/` matches `/users`).
        if segs.last() == Some(&"") {
            segs.pop();
        }
        let mut i = 0;
        for seg in &self.segments {
            match seg {
                Segment::Literal(lit) => {
                    let got = segs.get(i)?;
                    if percent_decode(got) != *lit {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let got = segs.get(i)?;
                    if got.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(got));
                }
                Segment::Greedy(name) => {
                    let tail = segs.get(i..)?;
                    if tail.is_empty() || tail.iter().all(|s| s.is_empty()) {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(&tail.join("/")));
                    return Some(params);
                }
            }
            i += 1;
        }
        (i == segs.len()).then_some(params)
    }

    /// Specificity rank of the path template: smaller is more specific.
    fn rank(&self) -> (u8, Vec<u8>) {
        let class = if self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Greedy(_)))
        {
            2
        } else if self.segments.iter().any(|s| matches!(s, Segment::Param(_))) {
            1
        } else {
            0
        };
        let per_segment = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Literal(_) => 0,
                Segment::Param(_) => 1,
                Segment::Greedy(_) => 2,
            })
            .collect();
        (class, per_segment)
    }
}

/// Parses and validates a path template.
fn parse_path(path: &str, shown: &str) -> Result<Vec<Segment>, RouteError> {
    let key = || shown.to_owned();
    let Some(rest) = path.strip_prefix('/') else {
        return Err(RouteError::PathNotAbsolute { key: key() });
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<&str> = rest.split('/').collect();
    let mut segments = Vec::with_capacity(raw.len());
    let mut names: Vec<&str> = Vec::new();
    for (idx, seg) in raw.iter().enumerate() {
        if seg.is_empty() {
            return Err(RouteError::EmptySegment { key: key() });
        }
        let bad = || RouteError::BadVariable {
            key: key(),
            segment: (*seg).to_owned(),
        };
        if let Some(inner) = seg.strip_prefix('{') {
            let inner = inner.strip_suffix('}').ok_or_else(bad)?;
            let (name, greedy) = match inner.strip_suffix('+') {
                Some(n) => (n, true),
                None => (inner, false),
            };
            if !valid_name(name) {
                return Err(bad());
            }
            if names.contains(&name) {
                return Err(RouteError::DuplicateVariable {
                    key: key(),
                    name: name.to_owned(),
                });
            }
            names.push(name);
            if greedy {
                if idx + 1 != raw.len() {
                    return Err(RouteError::GreedyNotLast { key: key() });
                }
                segments.push(Segment::Greedy(name.to_owned()));
            } else {
                segments.push(Segment::Param(name.to_owned()));
            }
        } else if seg.contains('{') || seg.contains('}') {
            return Err(bad());
        } else {
            segments.push(Segment::Literal((*seg).to_owned()));
        }
    }
    Ok(segments)
}

/// Decodes `%XX` escapes (invalid escapes stay as they are; invalid UTF-8 becomes U+FFFD).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    if !bytes.contains(&b'%') {
        return s.to_owned();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(hi), Some(lo)) = (hi, lo) {
                // Two hex digits make at most 0xFF.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A route that matched a request, with the request's path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The matched route.
    pub route: Route,
    /// Path parameters by variable name, percent-decoded as API Gateway decodes them.
    pub path_parameters: HashMap<String, String>,
}

impl RouteMatch {
    /// The `resource` / `resourcePath` of payload 1.0 events: the matched path template. For
    /// `$default` this is `$default` on HTTP APIs, and on REST APIs (which have no `$default`
    /// route) `/{proxy+}` (`/` for the root), their equivalent catch-all.
    pub fn resource(&self) -> String {
        match self.route.path() {
            Some(p) => p.to_owned(),
            None if self.route.format() != PayloadFormat::Rest => Route::DEFAULT_KEY.to_owned(),
            None if self.path_parameters.contains_key("proxy") => "/{proxy+}".to_owned(),
            None => "/".to_owned(),
        }
    }
}

/// The routes of the API Gateway front, matched as API Gateway matches them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of `routes`; two routes with the same method and path are an error.
    pub fn new(routes: Vec<Route>) -> Result<Self, RouteError> {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for r in &routes {
            // Variable names do not make two paths different: `/a/{x}` and `/a/{y}` collide.
            let shape = format!(
                "{} {}",
                r.method().map_or("ANY", |m| m.as_str()),
                r.segments
                    .iter()
                    .map(|s| match s {
                        Segment::Literal(l) => l.as_str(),
                        Segment::Param(_) => "{}",
                        Segment::Greedy(_) => "{+}",
                    })
                    .collect::<Vec<_>>()
                    .join("/")
            );
            let shape = if r.is_default() {
                Route::DEFAULT_KEY.to_owned()
            } else {
                shape
            };
            if let Some(first) = seen.insert(shape, r.function()) {
                return Err(RouteError::Duplicate {
                    key: r.key().to_owned(),
                    first: first.to_owned(),
                    second: r.function().to_owned(),
                });
            }
        }
        Ok(Self { routes })
    }

    /// The table used when no routes are configured: one function gets every path (`$default`);
    /// several get `ANY /{function}` and `ANY /{function}/{proxy+}` each.
    pub fn default_for(functions: &[(String, PayloadFormat)]) -> Result<Self, RouteError> {
        match functions {
            [] => Ok(Self::default()),
            [(name, format)] => Self::new(vec![Route::parse(
                Route::DEFAULT_KEY,
                name.clone(),
                *format,
            )?]),
            many => {
                let mut routes = Vec::with_capacity(many.len() * 2);
                for (name, format) in many {
                    routes.extend(Route::defaults_for(name, *format)?);
                }
                Self::new(routes)
            }
        }
    }

    /// The routes, in the order given.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route for `method` and the raw (percent-encoded, query-less) `path`, or `None` when
    /// nothing matches (API Gateway answers 404 for HTTP APIs, 403 for REST APIs).
    pub fn find(&self, method: &Method, path: &str) -> Option<RouteMatch> {
        let mut best: Option<(&Route, HashMap<String, String>)> = None;
        for route in &self.routes {
            if route.is_default() {
                continue;
            }
            if route.method().is_some_and(|m| m != method) {
                continue;
            }
            let Some(params) = route.match_path(path) else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((current, _)) => compare(route, current) == Ordering::Less,
            };
            if better {
                best = Some((route, params));
            }
        }
        if let Some((route, path_parameters)) = best {
            return Some(RouteMatch {
                route: route.clone(),
                path_parameters,
            });
        }
        let default = self.routes.iter().find(|r| r.is_default())?;
        let mut path_parameters = HashMap::new();
        // A REST API has no `$default` route; its catch-all is `/{proxy+}`, so report that shape.
        if default.format() == PayloadFormat::Rest {
            let rest = path.trim_start_matches('/');
            if !rest.is_empty() {
                path_parameters.insert("proxy".to_owned(), percent_decode(rest));
            }
        }
        Some(RouteMatch {
            route: default.clone(),
            path_parameters,
        })
    }
}

/// Orders two matching routes: more specific first.
fn compare(a: &Route, b: &Route) -> Ordering {
    a.rank()
        .cmp(&b.rank())
        .then_with(|| a.method.is_none().cmp(&b.method.is_none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(keys: &[(&str, &str)]) -> RouteTable {
        RouteTable::new(
            keys.iter()
                .map(|(k, f)| Route::parse(k, *f, PayloadFormat::Http).unwrap())
                .collect(),
        )
        .unwrap()
    }

    fn hit(
        t: &RouteTable,
        method: Method,
        path: &str,
    ) -> Option<(String, String, HashMap<String, String>)> {
        t.find(&method, path).map(|m| {
            (
                m.route.function().to_owned(),
                m.route.key().to_owned(),
                m.path_parameters,
            )
        })
    }

    #[test]
    fn parses_keys() {
        let r = Route::parse("get  /users/{id}", "f", PayloadFormat::Http).unwrap();
        assert_eq!(r.key(), "GET /users/{id}");
        assert_eq!(r.method(), Some(&Method::GET));
        assert_eq!(r.path(), Some("/users/{id}"));
        let any = Route::parse("ANY /files/{proxy+}", "f", PayloadFormat::Rest).unwrap();
        assert_eq!(any.method(), None);
        assert_eq!(any.key(), "ANY /files/{proxy+}");
        let d = Route::parse(" $default ", "f", PayloadFormat::Http).unwrap();
        assert!(d.is_default());
        assert_eq!(d.key(), "$default");
        assert_eq!(
            Route::parse("GET /", "f", PayloadFormat::Http)
                .unwrap()
                .path(),
            Some("/")
        );
    }

    #[test]
    fn rejects_bad_keys() {
        let f = PayloadFormat::Http;
        assert!(matches!(
            Route::parse("", "f", f),
            Err(RouteError::Malformed { .. })
        ));
        assert!(matches!(
            Route::parse("GET", "f", f),
            Err(RouteError::Malformed { .. })
        ));
        assert!(matches!(
            Route::parse("GET /a b", "f", f),
            Err(RouteError::Malformed { .. })
        ));
        assert!(matches!(
            Route::parse("G(T /a", "f", f),
            Err(RouteError::BadMethod { .. })
        ));
        assert!(matches!(
            Route::parse("GET a", "f", f),
            Err(RouteError::PathNotAbsolute { .. })
        ));
        assert!(matches!(
            Route::parse("GET /a//b", "f", f),
            Err(RouteError::EmptySegment { .. })
        ));
        assert!(matches!(
            Route::parse("GET /a/", "f", f),
            Err(RouteError::EmptySegment { .. })
        ));
        assert!(matches!(
            Route::parse("GET /{}", "f", f),
            Err(RouteError::BadVariable { .. })
        ));
        assert!(matches!(
            Route::parse("GET /a{id}", "f", f),
            Err(RouteError::BadVariable { .. })
        ));
        assert!(matches!(
            Route::parse("GET /{id", "f", f),
            Err(RouteError::BadVariable { .. })
        ));
        assert!(matches!(
            Route::parse("GET /{i d}", "f", f),
            Err(RouteError::Malformed { .. })
        ));
        assert!(matches!(
            Route::parse("GET /{a+}/b", "f", f),
            Err(RouteError::GreedyNotLast { .. })
        ));
        assert!(matches!(
            Route::parse("GET /{a}/{a}", "f", f),
            Err(RouteError::DuplicateVariable { .. })
        ));
        let msg = Route::parse("GET /{a+}/b", "f", f).unwrap_err().to_string();
        assert!(msg.contains("GET /{a+}/b") && msg.contains("last"), "{msg}");
    }

    #[test]
    fn duplicate_routes_are_an_error() {
        let f = PayloadFormat::Http;
        let err = RouteTable::new(vec![
            Route::parse("GET /a/{x}", "one", f).unwrap(),
            Route::parse("get /a/{y}", "two", f).unwrap(),
        ])
        .unwrap_err();
        assert!(matches!(err, RouteError::Duplicate { .. }));
        assert!(err.to_string().contains("one") && err.to_string().contains("two"));
        assert!(
            RouteTable::new(vec![
                Route::parse("$default", "one", f).unwrap(),
                Route::parse("$default", "two", f).unwrap(),
            ])
            .is_err()
        );
        // Same path, different methods: fine.
        assert!(
            RouteTable::new(vec![
                Route::parse("GET /a", "one", f).unwrap(),
                Route::parse("ANY /a", "two", f).unwrap(),
            ])
            .is_ok()
        );
    }

    #[test]
    fn most_specific_route_wins() {
        let t = table(&[
            ("$default", "default"),
            ("ANY /{proxy+}", "greedy"),
            ("GET /users/{id}", "user"),
            ("GET /users/me", "me"),
            ("ANY /users/{id}", "any-user"),
            ("GET /users/{id}/files/{proxy+}", "files"),
            ("GET /", "root"),
        ]);
        assert_eq!(hit(&t, Method::GET, "/users/me").unwrap().0, "me");
        let (f, key, params) = hit(&t, Method::GET, "/users/42").unwrap();
        assert_eq!((f.as_str(), key.as_str()), ("user", "GET /users/{id}"));
        assert_eq!(params["id"], "42");
        assert_eq!(hit(&t, Method::DELETE, "/users/42").unwrap().0, "any-user");
        let (f, _, params) = hit(&t, Method::GET, "/users/42/files/a/b/c.txt").unwrap();
        assert_eq!(f, "files");
        assert_eq!(params["id"], "42");
        assert_eq!(params["proxy"], "a/b/c.txt");
        let (f, key, params) = hit(&t, Method::POST, "/x/y").unwrap();
        assert_eq!((f.as_str(), key.as_str()), ("greedy", "ANY /{proxy+}"));
        assert_eq!(params["proxy"], "x/y");
        assert_eq!(hit(&t, Method::GET, "/").unwrap().0, "root");
        // `{proxy+}` needs at least one segment, so `POST /` falls to `$default`.
        let (f, key, params) = hit(&t, Method::POST, "/").unwrap();
        assert_eq!((f.as_str(), key.as_str()), ("default", "$default"));
        assert!(params.is_empty());
    }

    #[test]
    fn left_most_literal_is_more_specific() {
        let t = table(&[
            ("GET /a/{x}", "param-first"),
            ("GET /{x}/b", "literal-first"),
        ]);
        assert_eq!(hit(&t, Method::GET, "/a/b").unwrap().0, "param-first");
    }

    #[test]
    fn unknown_routes_do_not_match() {
        let t = table(&[("GET /users/{id}", "user"), ("POST /items", "items")]);
        assert!(hit(&t, Method::GET, "/users").is_none());
        assert!(hit(&t, Method::GET, "/users/1/2").is_none());
        assert!(hit(&t, Method::GET, "/items").is_none());
        assert!(hit(&t, Method::GET, "/nope").is_none());
        assert!(hit(&t, Method::GET, "").is_none());
        assert!(hit(&t, Method::GET, "users/1").is_none());
        assert!(RouteTable::default().find(&Method::GET, "/").is_none());
    }

    #[test]
    fn path_parameters_are_percent_decoded() {
        let t = table(&[
            ("GET /users/{id}", "user"),
            ("GET /files/{proxy+}", "files"),
        ]);
        let (_, _, p) = hit(&t, Method::GET, "/users/a%20b%2Fc%zz%").unwrap();
        assert_eq!(p["id"], "a b/c%zz%");
        let (_, _, p) = hit(&t, Method::GET, "/files/dir%20x/%C3%A9t%C3%A9.txt").unwrap();
        assert_eq!(p["proxy"], "dir x/été.txt");
        // Invalid UTF-8 after decoding does not panic.
        let (_, _, p) = hit(&t, Method::GET, "/users/%FF").unwrap();
        assert_eq!(p["id"], "\u{FFFD}");
        // Literal segments compare decoded.
        let t = table(&[("GET /café", "x")]);
        assert_eq!(hit(&t, Method::GET, "/caf%C3%A9").unwrap().0, "x");
    }

    #[test]
    fn trailing_slash_matches() {
        let t = table(&[("GET /users", "users")]);
        assert_eq!(hit(&t, Method::GET, "/users/").unwrap().0, "users");
    }

    #[test]
    fn default_tables() {
        assert!(RouteTable::default_for(&[]).unwrap().is_empty());
        let one = RouteTable::default_for(&[("solo".into(), PayloadFormat::Http)]).unwrap();
        let (f, key, _) = hit(&one, Method::PATCH, "/any/thing").unwrap();
        assert_eq!((f.as_str(), key.as_str()), ("solo", "$default"));
        let many = RouteTable::default_for(&[
            ("users".into(), PayloadFormat::Http),
            ("orders".into(), PayloadFormat::Rest),
        ])
        .unwrap();
        let (f, key, p) = hit(&many, Method::GET, "/orders/1/lines").unwrap();
        assert_eq!(
            (f.as_str(), key.as_str()),
            ("orders", "ANY /orders/{proxy+}")
        );
        assert_eq!(p["proxy"], "1/lines");
        assert_eq!(hit(&many, Method::GET, "/users").unwrap().0, "users");
        assert!(hit(&many, Method::GET, "/other/x").is_none());
        assert!(
            RouteTable::default_for(&[
                ("a/b".into(), PayloadFormat::Http),
                ("c".into(), PayloadFormat::Http)
            ])
            .is_err()
        );
    }

    #[test]
    fn rest_default_reports_proxy_resource() {
        let t = RouteTable::new(vec![
            Route::parse("$default", "f", PayloadFormat::Rest).unwrap(),
        ])
        .unwrap();
        let m = t.find(&Method::GET, "/hello/world").unwrap();
        assert_eq!(m.resource(), "/{proxy+}");
        assert_eq!(m.path_parameters["proxy"], "hello/world");
        let root = t.find(&Method::GET, "/").unwrap();
        assert_eq!(root.resource(), "/");
        assert!(root.path_parameters.is_empty());
    }
}
