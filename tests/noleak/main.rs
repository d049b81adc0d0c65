//! The no-leak property test: random worlds, random callers, random read queries, and an
//! independent oracle (oracle.rs, written from the specification and not from
//! `api/src/policy`) that says what each caller may see. A case is one (world, caller,
//! query); each response is checked for denied values and unknowable ids anywhere in the
//! body, completeness of every allowed field, list membership and order, and hidden ids
//! answering like missing ones (check.rs).
//!
//! A run must also show it exercised what it claims (coverage.rs): every basis of the
//! policy (OWN, CONSENT, SUPPORT_MEETING, EMERGENCY) allowed by the oracle in some case and
//! named by the ledger rows of the cases, and every query field of `QUERY_COVERED` asked and
//! answered with data; otherwise it fails naming the gap. A coverage table per backend ends
//! the output. The generator leans towards what random picks meet seldom (records the caller
//! may know, grant holders, 支援会議 members) so that the default case count covers it all;
//! a much shorter run (a small `NOLEAK_CASES` to replay one seed) may fail on coverage alone.
//!
//! `NOLEAK_CASES` (default 600 per backend) sets the number of cases; `NOLEAK_SEED`
//! reproduces a run (every failure prints it); `NOLEAK_PER_WORLD` (default 200) sets how
//! many cases share one world; `NOLEAK_PRINT` (default 12) how many failed cases are
//! printed. Nightly: `NOLEAK_CASES=10000 cargo test --test noleak`.
//! Runs on SQLite and, when TEST_DATABASE_URL is set (or Docker is there), PostgreSQL.

#![allow(clippy::unwrap_used)]

mod check;
mod coverage;
mod feed;
mod matches;
mod oracle;
mod query;
mod rng;
mod schema;
mod secrets;
mod statistics;
mod walk;
mod walk_more;
mod world;
mod world_case;
mod world_refs;
mod world_support;
mod writes;

use std::time::Instant;

use futures::StreamExt;
use tsunagi_tests::{backends, Backend, Server};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn main() -> std::process::ExitCode {
    tsunagi_tests::block_on(run())
}

async fn start(backend: &Backend) -> Server {
    Server::start_with(backend, |c| {
        c.limits.rate_per_minute = 0;
        c.limits.max_complexity = 1_000_000;
        c.limits.max_depth = 30;
        c.limits.max_aliases = 1000;
    })
    .await
}

async fn run() -> std::process::ExitCode {
    let cases = env_num("NOLEAK_CASES", 600);
    let per_world = env_num("NOLEAK_PER_WORLD", 200).max(1);
    let max_printed = env_num("NOLEAK_PRINT", 12) as usize;
    let seed = env_num(
        "NOLEAK_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    );
    let backends = backends().await;
    backends.banner();
    println!("noleak: NOLEAK_SEED={seed} NOLEAK_CASES={cases} NOLEAK_PER_WORLD={per_world}");

    let mut failed_total = 0usize;
    for backend in &backends.list {
        let started = Instant::now();
        let mut failed = 0usize;
        let mut printed = 0usize;
        let mut described: Option<u64> = None;
        let mut done = 0u64;
        let mut world_no = 0u64;
        let mut build_time = std::time::Duration::ZERO;
        // The change feed's events judged (shown to a caller, hidden from one) in all worlds.
        let (mut feed_shown, mut feed_hidden) = (0usize, 0usize);
        // Aggregate tables judged (answered to an analyst) in all worlds.
        let mut stat_tables = 0usize;
        // Which bases and queries the cases exercised (the run fails on a gap).
        let mut covered = coverage::Coverage::default();
        // The schema check: every field of the types the oracle judges is known to it.
        {
            let srv = start(backend).await;
            for p in schema::schema_coverage(&srv).await {
                println!("{}::noleak schema coverage: {p}", backend.name());
                failed += 1;
            }
            srv.stop().await;
        }
        while done < cases {
            let world_seed = seed ^ world_no.wrapping_mul(0x2545_F491_4F6C_DD1D);
            let mut rng = rng::Rng::new(world_seed);
            let srv = start(backend).await;
            let t = Instant::now();
            let size = 10 + rng.below(14);
            let w = world::World::build(&srv, &mut rng, size).await;
            // The world is written row by row, not through the store's write functions: make
            // its visibility index as a recovery would, so every list runs on the index.
            tsunagi_api::store::visibility::rebuild(&srv.db)
                .await
                .expect("build the visibility index");
            build_time += t.elapsed();
            let oracles: Vec<oracle::Oracle> = w
                .accounts
                .iter()
                .map(|a| oracle::Oracle::new(&w, a))
                .collect();
            let secrets: Vec<secrets::Secrets> = oracles.iter().map(secrets::secrets).collect();
            covered.world(&w, &oracles);
            // Every caller's whole change feed, before the cases read or write anything.
            let judged = feed::check(&srv, &w, &oracles, &secrets).await;
            feed_shown += judged.shown;
            feed_hidden += judged.hidden;
            if !judged.problems.is_empty() {
                failed += 1;
                println!(
                    "\n---- {}::noleak FAILED: NOLEAK_SEED={seed} world {world_no}: change feed ----",
                    backend.name()
                );
                for p in judged.problems.iter().take(12) {
                    println!("  - {p}");
                }
                println!("  world: {}", describe(&w));
            }
            // Every caller's aggregate tables and evaluation report: nobody in them.
            let (problems, tables) = statistics::check(&srv, &w, &secrets).await;
            stat_tables += tables;
            if !problems.is_empty() {
                failed += 1;
                println!(
                    "\n---- {}::noleak FAILED: NOLEAK_SEED={seed} world {world_no}: statistics ----",
                    backend.name()
                );
                for p in problems.iter().take(12) {
                    println!("  - {p}");
                }
            }
            let built = coverage::Coverage::last_seq(&srv).await;
            let n = per_world.min(cases - done);
            let first_case = done;
            let results: Vec<(u64, Vec<String>, String, coverage::Did)> =
                futures::stream::iter((0..n).map(|k| {
                    let case_seed = world_seed ^ (k + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    let (srv, w, oracles, secrets) = (&srv, &w, &oracles, &secrets);
                    async move {
                        let mut crng = rng::Rng::new(case_seed);
                        // Every kind of query equally often, to callers it fits now and then.
                        let kind = (first_case + k) as usize % query::KINDS;
                        let caller = pick_caller(&mut crng, w, query::fitting_callers(w, kind));
                        let a = &w.accounts[caller];
                        // Now and then an id-taking write on a record the caller may not know.
                        let write = if crng.chance(12) {
                            writes::generate(&mut crng, &oracles[caller])
                        } else {
                            None
                        };
                        let who = format!(
                            "caller {} at agency {} ({}) roles {:?}",
                            a.login, a.agency, w.agencies[a.agency].kind, a.roles
                        );
                        let (problems, report, did) = if let Some(x) = write {
                            let (problems, bodies) = writes::check(srv, &a.token, &x).await;
                            let report = format!(
                                "{who}\n  write: {} on {}\n  mutation: {}\n  vars: {}\n  {bodies}",
                                x.name, x.target, x.text, x.hidden
                            );
                            (problems, report, coverage::Did::Write(x.name))
                        } else {
                            let q = query::generate(&mut crng, w, a, kind);
                            let (r, mut problems) = check::send(srv, &a.token, &q).await;
                            // This case's own oracle, so the bases it allows are this case's.
                            let o = oracle::Oracle::new(w, a);
                            let (more, rows, refs) =
                                check::check(srv, &a.token, &o, &secrets[caller], &q, &r).await;
                            problems.extend(more);
                            let report = format!(
                                "{who}\n  query: {}\n  vars: {}\n  response: {}",
                                q.text, q.vars, r.body
                            );
                            let root = q.ask.root();
                            let did = coverage::Did::Read {
                                root,
                                answered: coverage::answered(&r.body["data"][root]),
                                rows,
                                bases: o.bases_used(),
                                refs,
                            };
                            (problems, report, did)
                        };
                        let report = if problems.is_empty() {
                            String::new()
                        } else {
                            report
                        };
                        (first_case + k, problems, report, did)
                    }
                }))
                .buffer_unordered(4)
                .collect()
                .await;
            covered.ledger(&srv, built).await;
            // After the cases' writes: the index agrees with the policy for every agency,
            // person, category and purpose (`tsunagi visibility verify`).
            let v = tsunagi_api::store::visibility::verify(&srv.db, chrono::Utc::now())
                .await
                .expect("verify the visibility index");
            for d in v.differences.iter().take(5) {
                println!(
                    "\n---- {}::noleak FAILED: NOLEAK_SEED={seed} world {world_no}: visibility index differs from decide: {d:?}",
                    backend.name()
                );
            }
            if !v.differences.is_empty() {
                failed += 1;
            }
            for (case, problems, report, did) in results {
                covered.case(did);
                if problems.is_empty() {
                    continue;
                }
                failed += 1;
                if printed < max_printed {
                    printed += 1;
                    println!(
                        "\n---- {}::noleak FAILED: NOLEAK_SEED={seed} world {world_no} case {case} ----\n  {report}",
                        backend.name()
                    );
                    for p in problems.iter().take(12) {
                        println!("  - {p}");
                    }
                    // Each world once, with its first printed failure.
                    if described != Some(world_no) {
                        described = Some(world_no);
                        println!("  world: {}", describe(&w));
                    }
                }
            }
            done += n;
            world_no += 1;
            srv.stop().await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{}::noleak: {done} cases in {world_no} worlds, {failed} failed, {:.1} s ({:.1} s building worlds, {:.0} cases/s)",
            backend.name(),
            secs,
            build_time.as_secs_f64(),
            done as f64 / (secs - build_time.as_secs_f64()).max(0.001)
        );
        covered.print(backend.name());
        println!(
            "  change feed: {feed_shown} events judged shown, {feed_hidden} judged hidden (every caller of every world)"
        );
        if feed_shown == 0 || feed_hidden == 0 {
            println!(
                "{}::noleak FAILED: coverage: the change feed sweep judged {feed_shown} shown and {feed_hidden} hidden events (NOLEAK_SEED={seed})",
                backend.name()
            );
            failed += 1;
        }
        println!(
            "  statistics: {stat_tables} aggregate tables judged (every caller of every world)"
        );
        if stat_tables == 0 {
            println!(
                "{}::noleak FAILED: coverage: no analyst's table was judged (NOLEAK_SEED={seed})",
                backend.name()
            );
            failed += 1;
        }
        // A run that did not exercise every basis and every query it claims fails.
        for gap in covered.missing(schema::QUERY_COVERED) {
            println!(
                "{}::noleak FAILED: coverage: {gap} (NOLEAK_SEED={seed} NOLEAK_CASES={cases})",
                backend.name()
            );
            failed += 1;
        }
        failed_total += failed;
    }
    backends.footer();
    if failed_total == 0 {
        println!("noleak: ok");
        std::process::ExitCode::SUCCESS
    } else {
        println!("noleak: {failed_total} failed (NOLEAK_SEED={seed})");
        std::process::ExitCode::FAILURE
    }
}

/// The caller of a case: mostly any account; now and then one meeting what random callers
/// meet seldom: one the case's query `fits` (see `query::fitting_callers`), a coordinator
/// (the 多機関協働 views need the role), one holding an open break-glass grant (EMERGENCY),
/// one at an agency taking part in a 支援会議 in its period (SUPPORT_MEETING).
fn pick_caller(rng: &mut rng::Rng, w: &world::World, fits: Vec<usize>) -> usize {
    let accounts = 0..w.accounts.len();
    let coordinators: Vec<usize> = accounts
        .clone()
        .filter(|a| w.accounts[*a].roles.contains(&"coordinator"))
        .collect();
    let granted: Vec<usize> = w
        .grants
        .iter()
        .filter(|g| g.active)
        .map(|g| g.account)
        .collect();
    let in_meeting: Vec<usize> = accounts
        .filter(|a| !oracle::ceiling(&w.accounts[*a].roles).is_empty())
        .filter(|a| {
            w.meetings
                .iter()
                .any(|m| m.in_period && m.members.contains(&w.accounts[*a].agency))
        })
        .collect();
    for (percent, some) in [
        (50, fits),
        (15, coordinators),
        (10, granted),
        (10, in_meeting),
    ] {
        if rng.chance(percent) && !some.is_empty() {
            return some[rng.below(some.len())];
        }
    }
    rng.below(w.accounts.len())
}

/// A short description of the world, for reproducing a failure by hand.
fn describe(w: &world::World) -> String {
    let mut s = String::new();
    for (i, a) in w.agencies.iter().enumerate() {
        s.push_str(&format!("\n    agency {i}: {} {}", a.kind, a.id));
    }
    for (i, p) in w.persons.iter().enumerate() {
        s.push_str(&format!(
            "\n    person {i}: {} owner {} confidential {}",
            p.id, p.owner, p.confidential
        ));
    }
    for (k, c) in w.consents.iter().enumerate() {
        s.push_str(&format!(
            "\n    consent {k}: {} person {} {:?} {:?} agencies {:?} kinds {:?} {}",
            c.id, c.person, c.state, c.categories, c.agencies, c.kinds, c.purpose
        ));
    }
    for (h, hh) in w.households.iter().enumerate() {
        let m: Vec<String> = hh
            .members
            .iter()
            .map(|m| {
                let d = |x: Option<chrono::NaiveDate>| x.map_or("-".to_owned(), |d| d.to_string());
                format!(
                    "p{} {}..{}{}",
                    m.person,
                    d(m.joined),
                    d(m.left),
                    if m.current(w.today) { " current" } else { "" }
                )
            })
            .collect();
        s.push_str(&format!(
            "\n    household {h}: {} owner {} members {m:?}",
            hh.id, hh.owner
        ));
    }
    for (c, cc) in w.consultations.iter().enumerate() {
        s.push_str(&format!(
            "\n    consultation {c}: {} receiver {} subjects {:?} household {:?} issues {:?}",
            cc.id, cc.receiver, cc.subjects, cc.household, cc.issues
        ));
    }
    for (r, rr) in w.referrals.iter().enumerate() {
        s.push_str(&format!(
            "\n    referral {r}: {} {} -> {} person {} consultation {:?}",
            rr.id, rr.from, rr.to, rr.person, rr.consultation
        ));
    }
    for (m, mm) in w.meetings.iter().enumerate() {
        s.push_str(&format!(
            "\n    meeting {m}: {} {} convener {} members {:?} household {} {:?} in period {} case {:?}",
            mm.id, mm.kind, mm.convener, mm.members, mm.household, mm.categories, mm.in_period, mm.case
        ));
    }
    for (k, c) in w.cases.iter().enumerate() {
        s.push_str(&format!(
            "\n    case {k}: {} household {} owner {}",
            c.id, c.household, c.owner
        ));
    }
    for (x, a) in w.activities.iter().enumerate() {
        s.push_str(&format!(
            "\n    activity {x}: {} agency {} person {} case {:?} placement {:?}",
            a.id, a.agency, a.person, a.case, a.placement
        ));
    }
    for (x, p) in w.placements.iter().enumerate() {
        s.push_str(&format!(
            "\n    placement {x}: {} agency {} person {}",
            p.id, p.agency, p.person
        ));
    }
    for d in &w.decisions {
        s.push_str(&format!(
            "\n    decision {}: case {} meeting {:?}",
            d.id, d.case, d.meeting
        ));
    }
    for r in &w.refs {
        s.push_str(&format!(
            "\n    ref of agency {}: ({}, {}) {:?} {} {}",
            r.agency,
            r.system,
            r.external_id,
            r.kind,
            r.record,
            w.record_id(r.kind, r.record)
        ));
    }
    s.push_str(&format!("\n    today (JST) {}", w.today));
    s
}
