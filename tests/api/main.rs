//! End-to-end tests through the HTTP API. Each test runs on a fresh database on every
//! available backend: SQLite always, PostgreSQL when TEST_DATABASE_URL is set or a Docker
//! engine is there for testcontainers. The output names the backends that ran.
//!
//! `cargo test --test api -- <filter>` runs only tests whose name contains the filter.

// A test fails by panicking; unwrapping is how it says "this must be there".
#![allow(clippy::unwrap_used)]

mod accounts;
mod activities;
mod auth;
mod authz;
mod bola;
mod cases;
mod changes;
mod clients;
mod demo;
mod disclosure;
mod disclosure_report;
mod documents;
mod emergency;
mod export;
mod external_refs;
mod fhir;
mod fuzz;
mod idempotency;
mod import;
mod inputs;
mod ledger;
mod limits;
mod links;
mod list_statements;
mod matches;
mod meetings;
mod observe;
mod overview;
mod resources;
mod scenario;
mod shed;
mod statements;
mod statistics;
mod statistics_attack;
mod subscriptions;
mod surface;
mod typed_input;
mod upserts;
mod visibility;

use std::sync::Arc;

use futures::FutureExt;
use tsunagi_tests::{backends, Server, TestFn};

const PARALLEL: usize = 4;

fn main() -> std::process::ExitCode {
    tsunagi_tests::block_on(run())
}

async fn run() -> std::process::ExitCode {
    let filter = tsunagi_tests::runner_filter();
    let mut tests: Vec<(&'static str, TestFn)> = Vec::new();
    tests.extend(scenario::all());
    tests.extend(auth::all());
    tests.extend(accounts::all());
    tests.extend(bola::all());
    tests.extend(inputs::all());
    tests.extend(typed_input::all());
    tests.extend(ledger::all());
    tests.extend(surface::all());
    tests.extend(statements::all());
    tests.extend(overview::all());
    tests.extend(list_statements::all());
    tests.extend(authz::all());
    tests.extend(emergency::all());
    tests.extend(resources::all());
    tests.extend(limits::all());
    tests.extend(cases::all());
    tests.extend(meetings::all());
    tests.extend(disclosure_report::all());
    tests.extend(activities::all());
    tests.extend(external_refs::all());
    tests.extend(clients::all());
    tests.extend(documents::all());
    tests.extend(disclosure::all());
    tests.extend(fuzz::all());
    tests.extend(demo::all());
    tests.extend(shed::all());
    tests.extend(visibility::all());
    tests.extend(changes::all());
    tests.extend(upserts::all());
    tests.extend(import::all());
    tests.extend(export::all());
    tests.extend(fhir::all());
    tests.extend(matches::all());
    tests.extend(links::all());
    tests.extend(statistics::all());
    tests.extend(statistics_attack::all());
    tests.extend(subscriptions::all());
    tests.extend(idempotency::all());
    tests.extend(observe::all());
    tests.retain(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())));

    let backends = backends().await;
    backends.banner();
    println!(
        "running {} tests on {} backend(s)",
        tests.len(),
        backends.list.len()
    );

    let sem = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut handles = Vec::new();
    for backend in &backends.list {
        for (name, test) in &tests {
            let (name, test, backend, sem) = (*name, *test, backend.clone(), sem.clone());
            handles.push(tokio::spawn(
                async move {
                    let _permit = sem.acquire_owned().await.expect("semaphore");
                    let label = format!("{}::{}", backend.name(), name.trim_start_matches("api::"));
                    let server = Server::start(&backend).await;
                    let outcome = tokio::spawn(async move { test(server).await }).await;
                    match outcome {
                        Ok(server) => {
                            server.stop().await;
                            (label, None)
                        }
                        Err(e) => {
                            let msg = match e.try_into_panic() {
                                Ok(p) => p
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_else(|| "panic".to_owned()),
                                Err(e) => e.to_string(),
                            };
                            (label, Some(msg))
                        }
                    }
                }
                .boxed(),
            ));
        }
    }
    let mut passed = 0;
    let mut failed = Vec::new();
    for h in handles {
        let (label, failure) = h.await.expect("test task");
        match failure {
            None => {
                println!("test {label} ... ok");
                passed += 1;
            }
            Some(msg) => {
                println!("test {label} ... FAILED");
                failed.push((label, msg));
            }
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:");
        for (label, msg) in &failed {
            println!("---- {label} ----\n{msg}\n");
        }
    }
    println!();
    backends.footer();
    println!("api: {} passed, {} failed", passed, failed.len());
    if failed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
