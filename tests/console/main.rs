//! The web console (`/admin`) and GraphiQL (`GET /graphql`) in headless Chromium, driven
//! through chromedriver, against a running hub on each available database (the demo data
//! set), with the network blocked (see [`browser`]).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium
//! chromium-driver`). Without them this runner says plainly that the browser tests did not
//! run, and succeeds, unless TSUNAGI_BROWSER_TEST=require (.ci/run sets it): then it fails.
//! Screenshots of every page go to `target/console-screenshots/`.
//!
//! `cargo test --test console -- <filter>` runs only tests whose name contains the filter.

#![allow(clippy::unwrap_used)]

mod browser;
mod flows;

use std::path::PathBuf;

use futures::FutureExt;
use tsunagi_tests::{backends, Server};

pub type Test = for<'a> fn(&'a Server, &'a browser::Browser) -> futures::future::BoxFuture<'a, ()>;

fn main() -> std::process::ExitCode {
    tsunagi_tests::block_on(run())
}

fn chromedriver() -> Option<PathBuf> {
    let path = PathBuf::from(
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()),
    );
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    (path.exists() && chromium.exists()).then_some(path)
}

async fn run() -> std::process::ExitCode {
    let filter = tsunagi_tests::runner_filter();
    let Some(driver_bin) = chromedriver() else {
        let why = "no /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)";
        if std::env::var("TSUNAGI_BROWSER_TEST").as_deref() == Ok("require") {
            eprintln!("console: browser tests required (TSUNAGI_BROWSER_TEST=require) but {why}");
            return std::process::ExitCode::FAILURE;
        }
        println!("\nWARNING: console BROWSER TESTS NOT RUN: {why}.");
        return std::process::ExitCode::SUCCESS;
    };
    let mut tests = flows::all();
    tests.retain(|(name, _)| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())));
    let backends = backends().await;
    backends.banner();
    println!(
        "running {} browser tests on {} backend(s)",
        tests.len(),
        backends.list.len()
    );
    let driver = browser::Driver::start(&driver_bin);
    let (mut passed, mut failed) = (0, Vec::new());
    for backend in &backends.list {
        for (name, test) in &tests {
            let label = format!("{}::{}", backend.name(), name);
            let (backend, test, driver_url) = (backend.clone(), *test, driver.url.clone());
            let outcome = tokio::spawn(async move {
                let server = Server::start_demo(&backend, |_| {}).await;
                let b = browser::Browser::open_at(&driver_url, &server.base, backend.name()).await;
                let result = std::panic::AssertUnwindSafe(test(&server, &b))
                    .catch_unwind()
                    .await;
                b.client.clone().close().await.ok();
                server.stop().await;
                if let Err(p) = result {
                    std::panic::resume_unwind(p);
                }
            })
            .await;
            match outcome {
                Ok(()) => {
                    println!("test {label} ... ok");
                    passed += 1;
                }
                Err(e) => {
                    let msg = e
                        .try_into_panic()
                        .ok()
                        .and_then(|p| {
                            p.downcast_ref::<String>()
                                .cloned()
                                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        })
                        .unwrap_or_else(|| "panic".to_owned());
                    println!("test {label} ... FAILED");
                    failed.push((label, msg));
                }
            }
        }
    }
    for (label, msg) in &failed {
        println!("---- {label} ----\n{msg}\n");
    }
    backends.footer();
    println!(
        "console: {passed} passed, {} failed (screenshots in target/console-screenshots/)",
        failed.len()
    );
    if failed.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
