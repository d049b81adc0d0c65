//! Query limits, checked before anything runs: alias bombs, deep and costly queries (page
//! sizes multiply), introspection and GraphiQL switched off, and the per-account rate limit.

use serde_json::json;
use tsunagi_tests::{person_input, tests, Server};

tests!(
    hostile_documents_are_refused_before_execution,
    introspection_and_graphiql_can_be_switched_off,
    rate_limit_is_per_account
);

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
