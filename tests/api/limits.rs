//! Query limits, checked before anything runs: alias bombs, deep and costly queries (page
//! sizes multiply), introspection and GraphiQL switched off, and the per-account rate limit.

use serde_json::json;
use tsunagi_tests::{person_input, tests, Server};

tests!(
    hostile_documents_are_refused_before_execution,
    introspection_and_graphiql_can_be_switched_off,
    standard_introspection_queries_are_answered,
    introspection_depth_exemption_is_only_for_introspection,
    rate_limit_is_per_account
);

/// The introspection queries vendors' tools send, exactly as graphql-js 16 writes them:
/// `getIntrospectionQuery` with every option on (descriptions, specifiedByUrl,
/// directiveIsRepeatable, schemaDescription, inputValueDeprecation, oneOf), GraphiQL's
/// (schemaDescription and inputValueDeprecation) and the default one.
const INTROSPECTION: [(&str, &str); 3] = [
    (
        "all-options",
        include_str!("../fixtures/introspection/all-options.graphql"),
    ),
    (
        "graphiql",
        include_str!("../fixtures/introspection/graphiql.graphql"),
    ),
    (
        "default",
        include_str!("../fixtures/introspection/default.graphql"),
    ),
];

async fn hostile_documents_are_refused_before_execution(srv: &Server) {
    let a = srv.agency("lim-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("lim-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&tok, person_input("制限", "花子", "セイゲン", "ハナコ"))
        .await;
    let before = srv.ledger().await.len();

    // 31 aliases (the limit is 30): refused with HTTP 400 before execution.
    let bomb: String = (0..31)
        .map(|i| format!("a{i}: person(id: \"{p}\") {{ familyName }} "))
        .collect();
    let r = srv.gql(&tok, &format!("{{ {bomb} }}"), json!({})).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "query"
    );
    // The same through a fragment spread many times.
    let spreads: String = (0..8)
        .map(|i| format!("s{i}: viewer {{ ...F }} "))
        .collect();
    let frag = format!("query {{ {spreads} }} fragment F on Viewer {{ a: effectiveRoles b: effectiveRoles c: effectiveRoles d: effectiveRoles }}");
    assert_eq!(srv.gql(&tok, &frag, json!({})).await.status, 400);
    // 30 aliases are fine.
    let ok: String = (0..30)
        .map(|i| format!("a{i}: person(id: \"{p}\") {{ familyName }} "))
        .collect();
    srv.gql(&tok, &format!("{{ {ok} }}"), json!({})).await.ok();

    // Too deep (the limit is 12).
    let mut deep = String::from("id");
    for _ in 0..7 {
        deep = format!("households {{ person {{ {deep} }} }}");
    }
    let deep = format!("{{ person(id: \"{p}\") {{ {deep} }} }}");
    let r = srv.gql(&tok, &deep, json!({})).await;
    assert_eq!(r.data(), &serde_json::Value::Null);
    assert_eq!(r.codes(), vec!["BAD_USER_INPUT"]);
    assert!(
        r.errors()[0]["message"].as_str().unwrap().contains("deep"),
        "{}",
        r.body
    );

    // Too costly: page sizes multiply (10 × 100 × the selection).
    let wide: String = (0..10)
        .map(|i| format!("p{i}: persons(first: 100) {{ edges {{ node {{ consultations {{ subjects {{ consultations {{ subjects {{ id }} }} }} }} }} }} }} "))
        .collect();
    let r = srv.gql(&tok, &format!("{{ {wide} }}"), json!({})).await;
    assert_eq!(r.data(), &serde_json::Value::Null);
    assert!(
        r.errors()[0]["message"]
            .as_str()
            .unwrap()
            .contains("complex"),
        "{}",
        r.body
    );

    // Nothing was read for the refused documents: only the one accepted request (30 aliases
    // of one person) left a ledger row.
    let rows = srv.ledger().await;
    assert_eq!(rows.len(), before + 1);
}

async fn introspection_and_graphiql_can_be_switched_off(srv: &Server) {
    // The default (development) server allows both.
    let intro = srv
        .gql(
            &srv.admin_token,
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(intro.ok()["__schema"]["queryType"]["name"], "Query");
    let page = reqwest::get(srv.url("/graphql")).await.unwrap();
    assert_eq!(page.status(), 200);
    // A production-like server does not.
    let prod = Server::start_with(&srv.backend, |c| {
        c.limits.introspection = false;
        c.limits.graphiql = false;
    })
    .await;
    let intro = prod
        .gql(
            &prod.admin_token,
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    // Introspection answers nothing about the schema.
    assert!(
        intro.data().is_null() || intro.data()["__schema"].is_null(),
        "{}",
        intro.body
    );
    assert!(
        !intro.body.to_string().contains("\"Query\""),
        "{}",
        intro.body
    );
    let page = reqwest::get(prod.url("/graphql")).await.unwrap();
    assert_eq!(page.status(), 404);
    // The console stays: it has no privileges of its own (README §16).
    let console = reqwest::get(prod.url("/admin")).await.unwrap();
    assert_eq!(console.status(), 200);
    // Ordinary queries still work.
    prod.gql(
        &prod.admin_token,
        "{ viewer { effectiveRoles } }",
        json!({}),
    )
    .await
    .ok();
    prod.stop().await;
}

async fn standard_introspection_queries_are_answered(srv: &Server) {
    let a = srv.agency("intro-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("intro-cw", &a, &["caseworker"]).await;
    for (name, query) in INTROSPECTION {
        // As GraphiQL sends it (with the operation name) and without.
        for body in [
            json!({ "query": query, "operationName": "IntrospectionQuery" }),
            json!({ "query": query }),
        ] {
            let r = srv.raw(Some(&format!("Bearer {tok}")), body).await;
            let schema = &r.ok()["__schema"];
            assert_eq!(schema["queryType"]["name"], "Query", "{name}");
            assert_eq!(schema["mutationType"]["name"], "Mutation", "{name}");
            let types = schema["types"].as_array().unwrap();
            let named = |n: &str| {
                types
                    .iter()
                    .find(|t| t["name"] == n)
                    .unwrap_or_else(|| panic!("{name}: no type {n}"))
            };
            for t in [
                "Person",
                "Consent",
                "Sex",
                "CreatePersonInput",
                "Date",
                "__Type",
            ] {
                named(t);
            }
            let fields = named("Person")["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["name"] == "familyName"), "{name}");
            let sexes = named("Sex")["enumValues"].as_array().unwrap();
            assert!(sexes.iter().any(|v| v["name"] == "FEMALE"), "{name}");
            // The nine-deep ofType chain is answered: [CreatePersonInput!]! and the like.
            assert!(
                !schema["directives"].as_array().unwrap().is_empty(),
                "{name}"
            );
            if name == "all-options" {
                let t = named("Date");
                assert!(t.as_object().unwrap().contains_key("specifiedByURL"));
                assert!(named("CreatePersonInput")["isOneOf"].is_boolean());
                assert!(schema["directives"][0]["isRepeatable"].is_boolean());
            }
        }
    }
    // Off in production unless enabled: the same query is refused, coded.
    let prod = Server::start_with(&srv.backend, |c| c.limits.introspection = false).await;
    let r = prod
        .gql(&prod.admin_token, INTROSPECTION[0].1, json!({}))
        .await;
    assert!(r.data().is_null(), "{}", r.body);
    assert!(
        r.codes().iter().all(|c| c == "GRAPHQL_VALIDATION_FAILED"),
        "{}",
        r.body
    );
    r.assert_coded_bilingual();
    prod.stop().await;
}

/// Only an operation made of introspection alone gets introspection's depth limit (20);
/// `__schema` beside an ordinary deep query does not lift the limit of 12, and an
/// introspection query deeper than 20 is refused too.
async fn introspection_depth_exemption_is_only_for_introspection(srv: &Server) {
    let a = srv.agency("introd-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("introd-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&tok, person_input("深さ", "花子", "フカサ", "ハナコ"))
        .await;
    let mut deep = String::from("id");
    for _ in 0..7 {
        deep = format!("households {{ person {{ {deep} }} }}");
    }
    let too_deep = |r: &tsunagi_tests::Gql| {
        assert_eq!(r.data(), &serde_json::Value::Null, "{}", r.body);
        assert_eq!(r.codes(), vec!["BAD_USER_INPUT"], "{}", r.body);
        r.assert_coded_bilingual();
        assert!(
            r.errors()[0]["message"]
                .as_str()
                .unwrap()
                .contains("too deep"),
            "{}",
            r.body
        );
    };
    for extra in [
        "__schema { queryType { name } }",
        "__typename",
        "__type(name: \"Person\") { name }",
    ] {
        let q = format!("{{ {extra} person(id: \"{p}\") {{ {deep} }} }}");
        too_deep(&srv.gql(&tok, &q, json!({})).await);
    }
    // An introspection query 15 deep is answered, one 23 deep is not.
    let of_type = |n: usize| {
        let mut t = String::from("name");
        for _ in 0..n {
            t = format!("kind ofType {{ {t} }}");
        }
        format!("{{ __type(name: \"Person\") {{ fields {{ type {{ {t} }} }} }} }}")
    };
    let r = srv.gql(&tok, &of_type(11), json!({})).await;
    assert!(r.ok()["__type"]["fields"].is_array());
    too_deep(&srv.gql(&tok, &of_type(19), json!({})).await);
}

async fn rate_limit_is_per_account(srv: &Server) {
    let limited = Server::start_with(&srv.backend, |c| c.limits.rate_per_minute = 3).await;
    let a = limited.agency("rl-a", "SELF_RELIANCE").await; // admin: 1
    let (_, one) = limited.account("rl-one", &a, &["caseworker"]).await; // admin: 2
    let (_, two) = limited.account("rl-two", &a, &["caseworker"]).await; // admin: 3
    let q = "{ viewer { effectiveRoles } }";
    for _ in 0..3 {
        limited.gql(&one, q, json!({})).await.ok();
    }
    let r = limited.gql(&one, q, json!({})).await;
    assert_eq!(r.status, 429);
    let e = r.only_error("RATE_LIMITED");
    assert!(e["extensions"]["retryAfter"].as_u64().unwrap() >= 1);
    // The admin's budget is spent too; another account's is not.
    assert_eq!(
        limited.gql(&limited.admin_token, q, json!({})).await.status,
        429
    );
    limited.gql(&two, q, json!({})).await.ok();
    // Retry-After is sent as a header.
    let raw = reqwest::Client::new()
        .post(limited.url("/graphql"))
        .bearer_auth(&one)
        .json(&json!({ "query": q }))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    assert!(raw.headers().get("retry-after").is_some());
    limited.stop().await;
}
