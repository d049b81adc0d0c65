//! The plain HTTP endpoints and the body limit. (Every GraphQL operation under the roles
//! that may not use it is the table in `authz`.)

use serde_json::{json, Value};
use tsunagi_tests::{tests, Server};

tests!(http_endpoints_and_body_limit);

async fn http_endpoints_and_body_limit(srv: &Server) {
    let client = reqwest::Client::new();
    let h = client.get(srv.url("/healthz")).send().await.unwrap();
    assert_eq!(h.status(), 200);
    let r = client.get(srv.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");
    // A body over the limit (256 KiB here) is refused before it is parsed.
    let huge = "x".repeat(300 * 1024);
    let big = client
        .post(srv.url("/graphql"))
        .bearer_auth(&srv.admin_token)
        .header("content-type", "application/json")
        .body(
            json!({ "query": format!("{{ viewer {{ account {{ login }} }} }} # {huge}") })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    // As a coded GraphQL error, like every other refusal.
    let big: Value = big.json().await.unwrap();
    assert_eq!(
        big["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{big}"
    );
    assert_eq!(big["errors"][0]["extensions"]["reason"], "body_too_large");
    // Unauthenticated requests are refused before the body is parsed.
    let anon = srv
        .raw(None, json!({ "query": "{ agencies { code } }" }))
        .await;
    assert_eq!(anon.status, 401);
    assert_eq!(
        anon.only_error("UNAUTHENTICATED")["extensions"]["reason"],
        "missing_token"
    );
}
