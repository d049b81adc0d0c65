//! The `otlp` feature: with OTEL_EXPORTER_OTLP_ENDPOINT set, the request span (with the
//! request line's closed facts as attributes) reaches an OTLP/HTTP collector, here a fake one
//! on loopback; the query string does not. Run with
//! `cargo test -p tsunagi-api --features otlp --test otlp`.
#![cfg(feature = "otlp")]
// A test fails by panicking.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::{get, post};
use axum::Router;
use tsunagi_api::observe;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_span_reaches_the_collector() {
    // The fake collector: every body POSTed to /v1/traces.
    let received: Arc<Mutex<Vec<(String, Bytes)>>> = Arc::default();
    let store = received.clone();
    let collector = Router::new().route(
        "/v1/traces",
        post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let store = store.clone();
            async move {
                let kind = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                store.lock().unwrap().push((kind, body));
                ""
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, collector).await });
    // Edition 2021: setting the environment is safe; this test binary has one test.
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://{collector_addr}"),
    );
    std::env::set_var("RUST_LOG", "info");
    observe::init_logging(observe::LogFormat::Json);

    // A router with the hub's request layers.
    let app = observe::request_layers(Router::new().route("/probe", get(|| async { "ok" })));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let answer = reqwest::Client::new()
        .get(format!("http://{addr}/probe?name=Yamada-Hanako"))
        .header("x-request-id", "0000000000000000000000000000071a")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);

    tokio::task::spawn_blocking(observe::shutdown_tracing)
        .await
        .unwrap();
    let received = received.lock().unwrap().clone();
    assert!(!received.is_empty(), "nothing exported");
    let all: Vec<u8> = received.iter().flat_map(|(_, b)| b.to_vec()).collect();
    let has = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(
        received
            .iter()
            .all(|(kind, _)| kind == "application/x-protobuf"),
        "{:?}",
        received.iter().map(|(k, _)| k).collect::<Vec<_>>()
    );
    for expected in [
        "request",
        "0000000000000000000000000000071a",
        "/probe",
        "GET",
        "tsunagi",
    ] {
        assert!(has(expected), "{expected} not exported");
    }
    assert!(!has("Yamada-Hanako"), "the query string was exported");
}
