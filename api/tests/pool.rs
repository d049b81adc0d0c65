//! The hub's PostgreSQL sessions (`store::connect`): settings the hub applies to its own
//! connections only.

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use tsunagi_api::config::PoolSettings;

/// `SHOW name` on a connection or inside a transaction (which holds its own connection).
async fn show<C: ConnectionTrait>(db: &C, name: &str) -> String {
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        format!("SHOW {name}"),
    ))
    .await
    .expect("SHOW")
    .expect("a row")
    .try_get_by_index::<String>(0)
    .expect("text")
}

/// At city scale PostgreSQL planned the policy facts statement with two parallel workers,
/// which halved the person search's throughput on two cores, and JIT-compiled the
/// consultation list (56 ms of compiling for a 1 ms query; README §12): the hub's sessions
/// plan without either, while another client of the same database keeps the server's
/// settings.
#[tokio::test(flavor = "multi_thread")]
async fn the_hubs_sessions_plan_without_parallel_workers_or_jit_and_other_clients_keep_theirs() {
    let Some(url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        println!("WARNING: PostgreSQL NOT TESTED (pool settings): set TEST_DATABASE_URL");
        return;
    };
    let hub = tsunagi_api::store::connect(&url, &PoolSettings::default())
        .await
        .expect("hub pool");
    let plain = sea_orm::Database::connect(url.as_str())
        .await
        .expect("plain connection");
    let server_default = show(&plain, "max_parallel_workers_per_gather").await;
    assert_ne!(
        server_default, "0",
        "the test needs a server that allows parallel workers (its default is 2)"
    );
    let server_jit = show(&plain, "jit").await;
    assert_eq!(
        server_jit, "on",
        "the test needs a server with JIT on (its default)"
    );
    // Every connection the pool opens carries it, not only the first: three transactions
    // open at once hold three connections.
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(hub.begin().await.expect("begin"));
    }
    for txn in &open {
        assert_eq!(show(txn, "max_parallel_workers_per_gather").await, "0");
        assert_eq!(show(txn, "jit").await, "off");
    }
    drop(open);
    assert_eq!(
        show(&plain, "max_parallel_workers_per_gather").await,
        server_default
    );
    assert_eq!(show(&plain, "jit").await, server_jit);
}
