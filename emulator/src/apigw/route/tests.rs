use std::collections::HashMap;

use http::Method;

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

#[test]
fn only_api_gateways_methods_route() {
    for method in METHODS {
        let key = format!("{} /a", method.to_ascii_lowercase());
        let route = Route::parse(&key, "f", PayloadFormat::Http).unwrap();
        assert_eq!(route.method().map(Method::as_str), Some(method));
    }
    // Any other token, `*` included, is not a method API Gateway routes.
    for bad in ["FETCH /a", "* /a", "CONNECT /a", "TRACE /a"] {
        assert!(
            matches!(
                Route::parse(bad, "f", PayloadFormat::Http),
                Err(RouteError::BadMethod { .. })
            ),
            "{bad}"
        );
    }
    assert_eq!(RouteKey::parse_method(" Any "), Ok(None));
}

#[test]
fn paths_hold_no_spaces_queries_or_fragments() {
    for bad in ["/a b", "/a?x=1", "/a#top", "/a\tb"] {
        assert!(
            matches!(
                Route::new("GET", bad, "f", PayloadFormat::Http),
                Err(RouteError::BadCharacter { .. })
            ),
            "{bad:?}"
        );
    }
    assert_eq!(RouteKey::check_path("/files/{proxy+}"), Ok(()));
}

#[test]
fn functions_without_routes_get_the_defaults_next_to_declared_routes() {
    let declared = vec![Route::parse("GET /users/{id}", "users", PayloadFormat::Http).unwrap()];
    let t = RouteTable::with_defaults(
        declared,
        &[
            ("users".into(), PayloadFormat::Http),
            ("orders".into(), PayloadFormat::Rest),
        ],
    )
    .unwrap();
    assert_eq!(t.routes().len(), 3);
    assert_eq!(hit(&t, Method::GET, "/users/7").unwrap().0, "users");
    // `users` has routes of its own, so no `/users/{proxy+}` default.
    assert!(hit(&t, Method::GET, "/users/7/x").is_none());
    let m = t.find(&Method::POST, "/orders/1/lines").unwrap();
    assert_eq!(m.route.function(), "orders");
    assert_eq!(m.route.format(), PayloadFormat::Rest);
    assert_eq!(m.route.key(), "ANY /orders/{proxy+}");
    // One function and no declared routes: `$default`, in that function's format.
    let solo =
        RouteTable::with_defaults(Vec::new(), &[("solo".into(), PayloadFormat::Alb)]).unwrap();
    assert!(solo.routes()[0].is_default());
    assert_eq!(solo.routes()[0].format(), PayloadFormat::Alb);
}
