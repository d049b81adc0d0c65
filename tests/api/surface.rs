//! The plain HTTP endpoints, the body limit, and GraphQL over HTTP (media types, status
//! codes, key order). (Every GraphQL operation under the roles
//! that may not use it is the table in `authz`.)

use serde_json::{json, Value};
use tsunagi_tests::{tests, Server};

tests!(
    http_endpoints_and_body_limit,
    a_trickled_body_is_cut_off,
    graphql_response_media_type,
    request_body_must_be_json,
    response_keys_keep_selection_order
);

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
    // Authentication comes first, from the headers: an anonymous oversized body is refused
    // as unauthenticated, without the hub reading it.
    let anon_big = client
        .post(srv.url("/graphql"))
        .header("content-type", "application/json")
        .body(
            json!({ "query": format!("{{ viewer {{ account {{ login }} }} }} # {huge}") })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(anon_big.status(), 401);
    // Unknown paths and wrong methods are coded refusals too, never an empty body.
    let nowhere = client.get(srv.url("/administration")).send().await.unwrap();
    assert_eq!(nowhere.status(), 404);
    let nowhere: Value = nowhere.json().await.unwrap();
    assert_eq!(
        nowhere["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{nowhere}"
    );
    let put = client.put(srv.url("/graphql")).send().await.unwrap();
    assert_eq!(put.status(), 405);
    let put: Value = put.json().await.unwrap();
    assert_eq!(
        put["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{put}"
    );
    // /oauth/token answers an oversized body in RFC 6749 form.
    let big = client
        .post(srv.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&x={huge}"))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    let big: Value = big.json().await.unwrap();
    assert_eq!(big["error"], "invalid_request", "{big}");
}

/// A client that sends headers and then never the body does not hold its connection: the
/// server answers a coded refusal once the body read timeout has passed.
async fn a_trickled_body_is_cut_off(srv: &Server) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = srv.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"qu",
        srv.admin_token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let bound = tsunagi_api::http::BODY_READ_TIMEOUT + std::time::Duration::from_secs(20);
    let mut answer = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within {bound:?}");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 4"), "{text}");
    assert!(text.contains("BAD_USER_INPUT"), "{text}");
    assert!(text.contains("body_unreadable"), "{text}");
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// POST /graphql with `accept`; the status, Content-Type and body.
async fn post(srv: &Server, accept: Option<&str>, body: Value) -> (u16, String, Value) {
    let mut req = reqwest::Client::new()
        .post(srv.url("/graphql"))
        .bearer_auth(&srv.admin_token)
        .json(&body);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, kind, body)
}

/// `application/graphql-response+json` when the client asks for it: 200 with data when the
/// operation ran; 400 without a `data` entry when it could not (parse, validation, variable
/// values, an edge refusal). `application/json` (asked for, `*/*` or no Accept) is as before:
/// HTTP 200 and `"data": null`.
async fn graphql_response_media_type(srv: &Server) {
    let ok = json!({ "query": "{ viewer { effectiveRoles } }" });
    let broken = [
        json!({ "query": "{" }),
        json!({ "query": "{ viewer { nope } }" }),
        json!({ "query": "query($id: ID!) { viewer { effectiveRoles } }", "variables": { "id": null } }),
        json!({ "query": "{ persons(first: \"x\") { nodes { id } } }" }),
    ];
    for accept in [
        GRAPHQL_RESPONSE,
        "application/graphql-response+json, application/json",
        "application/json;q=0.9, application/graphql-response+json",
    ] {
        let (status, kind, body) = post(srv, Some(accept), ok.clone()).await;
        assert_eq!(status, 200, "{accept}: {body}");
        assert!(kind.starts_with(GRAPHQL_RESPONSE), "{accept}: {kind}");
        assert!(
            body["data"]["viewer"]["effectiveRoles"].is_array(),
            "{body}"
        );
        for request in &broken {
            let (status, kind, body) = post(srv, Some(accept), request.clone()).await;
            assert_eq!(status, 400, "{accept} {request}: {body}");
            assert!(kind.starts_with(GRAPHQL_RESPONSE), "{kind}");
            assert!(body.get("data").is_none(), "no data entry: {body}");
            assert!(
                body["errors"][0]["extensions"]["code"].is_string(),
                "{body}"
            );
        }
        // A refusal at the edge (a batch) has no data entry either.
        let (status, kind, body) = post(srv, Some(accept), json!([ok.clone()])).await;
        assert_eq!(status, 400, "{body}");
        assert!(kind.starts_with(GRAPHQL_RESPONSE), "{kind}");
        assert!(body.get("data").is_none(), "no data entry: {body}");
    }
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("application/json, application/graphql-response+json;q=0.5"),
    ] {
        let (status, kind, body) = post(srv, accept, ok.clone()).await;
        assert_eq!(status, 200, "{accept:?}: {body}");
        assert!(kind.starts_with("application/json"), "{accept:?}: {kind}");
        for request in &broken {
            let (status, kind, body) = post(srv, accept, request.clone()).await;
            assert_eq!(status, 200, "{accept:?} {request}: {body}");
            assert!(kind.starts_with("application/json"), "{kind}");
            assert_eq!(body["data"], Value::Null, "data is null: {body}");
            assert!(body.get("data").is_some(), "data entry kept: {body}");
        }
    }
    // A field error is not a request error: the operation ran, so 200 with data.
    let (status, _, body) = post(
        srv,
        Some(GRAPHQL_RESPONSE),
        json!({ "query": "{ viewer { effectiveRoles } person(id: \"nope\") { id } }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["viewer"].is_object(), "{body}");
    assert_eq!(body["errors"][0]["path"][0], "person", "{body}");
}

/// A POST body must be sent as application/json: without a Content-Type, or with another
/// one, the request is refused (HTTP 415) and nothing runs.
async fn request_body_must_be_json(srv: &Server) {
    let body = json!({ "query": "{ viewer { effectiveRoles } }" }).to_string();
    for content_type in [
        None,
        Some("text/plain;charset=UTF-8"),
        Some("application/graphql"),
    ] {
        let mut req = reqwest::Client::new()
            .post(srv.url("/graphql"))
            .bearer_auth(&srv.admin_token)
            .body(body.clone());
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 415, "{content_type:?}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(
            v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{v}"
        );
        assert_eq!(
            v["errors"][0]["extensions"]["reason"],
            "unsupported_media_type"
        );
    }
    let resp = reqwest::Client::new()
        .post(srv.url("/graphql"))
        .bearer_auth(&srv.admin_token)
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Response objects keep the keys in the order the query selected them (GraphQL spec,
/// "Serialized Map Ordering"), not alphabetical order.
async fn response_keys_keep_selection_order(srv: &Server) {
    let a = srv.agency("order-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("order-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(
            &tok,
            tsunagi_tests::person_input("順序", "花子", "ジュンジョ", "ハナコ"),
        )
        .await;
    let query = format!(
        "{{ viewer {{ effectiveRoles account {{ login id }} }} person(id: \"{p}\") {{ households {{ relationship }} version givenName id familyName }} __typename }}"
    );
    let (status, text) = crate::bola::raw(srv, &tok, &query, json!({})).await;
    assert_eq!(status, 200, "{text}");
    let at = |key: &str| {
        text.find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} missing: {text}"))
    };
    let order = |keys: &[&str]| {
        let positions: Vec<usize> = keys.iter().map(|k| at(k)).collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "keys not in selection order {keys:?}: {text}"
        );
    };
    // Fields that need the database come before ones that do not: async-graphql finishes
    // `__typename` and `version` first, and must still answer them where they were asked.
    order(&["viewer", "person", "__typename"]);
    order(&["effectiveRoles", "account", "login"]);
    order(&["households", "version", "givenName", "familyName"]);
    // And the ids: the account's after its login, the person's between givenName and
    // familyName.
    let person = &text[at("person")..];
    let (g, i, f) = (
        person.find("\"givenName\"").unwrap(),
        person.find("\"id\"").unwrap(),
        person.find("\"familyName\"").unwrap(),
    );
    assert!(g < i && i < f, "{text}");
    let account = &text[at("account")..at("person")];
    assert!(
        account.find("\"login\"").unwrap() < account.find("\"id\"").unwrap(),
        "{text}"
    );
}
