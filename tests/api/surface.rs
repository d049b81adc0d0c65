//! The plain HTTP endpoints and the body limit. (Every GraphQL operation under the roles
//! that may not use it is the table in `authz`.)

use serde_json::{json, Value};
use tsunagi_tests::{tests, Server};

tests!(http_endpoints_and_body_limit, a_trickled_body_is_cut_off);

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
    let nowhere = client.get(srv.url("/admin")).send().await.unwrap();
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
