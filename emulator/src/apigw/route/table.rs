//! The route table: API Gateway's matching priority, and the one builder of the default routes
//! (`$default`, or `/{function}` and `/{function}/{proxy+}` per function).

use std::cmp::Ordering;
use std::collections::HashMap;

use http::Method;

use super::key::Segment;
use super::{PayloadFormat, Route, RouteError};

/// A route that matched a request, with the request's path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The matched route.
    pub route: Route,
    /// Path parameters by variable name, percent-decoded as API Gateway decodes them.
    pub path_parameters: HashMap<String, String>,
    /// The request path without the stage prefix it came with (`/users` of `/Prod/users`, an
    /// execute-api style call); `None` when it came without one (custom-domain style).
    pub unstaged_path: Option<String>,
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
            if let Some(first) = seen.insert(shape(r), r.function()) {
                return Err(RouteError::Duplicate {
                    key: r.key().to_owned(),
                    first: first.to_owned(),
                    second: r.function().to_owned(),
                });
            }
        }
        Ok(Self { routes })
    }

    /// The table used when no routes are configured: [`RouteTable::with_defaults`] with none.
    pub fn default_for(functions: &[(String, PayloadFormat)]) -> Result<Self, RouteError> {
        Self::with_defaults(Vec::new(), functions)
    }

    /// The table of the declared `routes` and the default routes of `functions` (each with the
    /// payload format its default routes deliver). The one place the defaults are made:
    ///
    /// * no declared routes: one function gets every path (`$default`); several get
    ///   `ANY /{function}` and `ANY /{function}/{proxy+}` each;
    /// * otherwise every function that has no declared route gets those two routes, next to
    ///   the declared ones.
    pub fn with_defaults(
        mut routes: Vec<Route>,
        functions: &[(String, PayloadFormat)],
    ) -> Result<Self, RouteError> {
        if let ([(name, format)], true) = (functions, routes.is_empty()) {
            return Self::new(vec![Route::parse(
                Route::DEFAULT_KEY,
                name.clone(),
                *format,
            )?]);
        }
        let own: Vec<String> = routes.iter().map(|r| r.function().to_owned()).collect();
        for (name, format) in functions {
            if !own.contains(name) {
                routes.extend(function_routes(name, *format)?);
            }
        }
        Self::new(routes)
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
    ///
    /// A path whose first segment names a stage (`/Prod/users`) is matched without it, among
    /// the routes of that stage, first; then as it is, among all routes (custom-domain style,
    /// `/users`). See [`Stage`](super::Stage).
    pub fn find(&self, method: &Method, path: &str) -> Option<RouteMatch> {
        self.find_staged(method, path)
            .or_else(|| self.find_among(method, path, |_| true))
    }

    /// The match of a path that starts with a stage name, among the routes of that stage.
    fn find_staged(&self, method: &Method, path: &str) -> Option<RouteMatch> {
        let (stage, rest) = super::Stage::split_prefix(path)?;
        let named = |r: &Route| !r.stage().is_default() && r.stage().name == stage;
        let mut matched = self.find_among(method, rest, named)?;
        matched.unstaged_path = Some(rest.to_owned());
        Some(matched)
    }

    /// The route for `path` as it is, among the routes `keep` keeps.
    fn find_among(
        &self,
        method: &Method,
        path: &str,
        keep: impl Fn(&Route) -> bool,
    ) -> Option<RouteMatch> {
        let mut best: Option<(&Route, HashMap<String, String>)> = None;
        for route in self.routes.iter().filter(|r| keep(r)) {
            if route.is_default() || route.method().is_some_and(|m| m != method) {
                continue;
            }
            let Some(params) = match_path(route.key.segments(), path) else {
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
                unstaged_path: None,
            });
        }
        self.find_default(path, keep)
    }

    /// The match for `path` of the `$default` route, if the table has one `keep` keeps.
    fn find_default(&self, path: &str, keep: impl Fn(&Route) -> bool) -> Option<RouteMatch> {
        let default = self.routes.iter().find(|r| r.is_default() && keep(r))?;
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
            unstaged_path: None,
        })
    }
}

/// `ANY /{name}` and `ANY /{name}/{proxy+}` for a function without routes of its own.
fn function_routes(name: &str, format: PayloadFormat) -> Result<[Route; 2], RouteError> {
    let bad = || RouteError::BadFunctionName {
        name: name.to_owned(),
    };
    if name.is_empty() || name.contains(['/', '{', '}', '?', '#', '%']) {
        return Err(bad());
    }
    let route = |path: String| Route::new("ANY", &path, name, format).map_err(|_| bad());
    Ok([
        route(format!("/{name}"))?,
        route(format!("/{name}/{{proxy+}}"))?,
    ])
}

/// What makes two routes the same: the method and the path with variable names left out
/// (`/a/{x}` and `/a/{y}` collide).
fn shape(route: &Route) -> String {
    if route.is_default() {
        return Route::DEFAULT_KEY.to_owned();
    }
    let path = route
        .key
        .segments()
        .iter()
        .map(|s| match s {
            Segment::Literal(l) => l.as_str(),
            Segment::Param(_) => "{}",
            Segment::Greedy(_) => "{+}",
        })
        .collect::<Vec<_>>()
        .join("/");
    format!("{} {path}", route.method().map_or("ANY", |m| m.as_str()))
}

/// Matches a raw (still percent-encoded) request path against a template's `segments`; the
/// parameters are decoded.
fn match_path(segments: &[Segment], path: &str) -> Option<HashMap<String, String>> {
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
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Literal(lit) => {
                if percent_decode(segs.get(i)?) != *lit {
                    return None;
                }
            }
            Segment::Param(name) => {
                let got = segs.get(i).filter(|s| !s.is_empty())?;
                params.insert(name.clone(), percent_decode(got));
            }
            Segment::Greedy(name) => {
                let tail = segs.get(i..)?;
                if tail.iter().all(|s| s.is_empty()) {
                    return None;
                }
                params.insert(name.clone(), percent_decode(&tail.join("/")));
                return Some(params);
            }
        }
    }
    (segments.len() == segs.len()).then_some(params)
}

/// Specificity rank of a path template: smaller is more specific.
fn rank(segments: &[Segment]) -> (u8, Vec<u8>) {
    let per_segment: Vec<u8> = segments
        .iter()
        .map(|s| match s {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Greedy(_) => 2,
        })
        .collect();
    let class = per_segment.iter().copied().max().unwrap_or(0);
    (class, per_segment)
}

/// Orders two matching routes: more specific first.
fn compare(a: &Route, b: &Route) -> Ordering {
    rank(a.key.segments())
        .cmp(&rank(b.key.segments()))
        .then_with(|| a.method().is_none().cmp(&b.method().is_none()))
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
