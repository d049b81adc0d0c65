//! The demo data set (`serve --demo`) as its users meet it.
//!
//! * `demo_reads_back`: every demo account reads every field of every demo record it can
//!   reach (each query-root field with every demo id of the kind it takes, selecting every
//!   field of the answer's type, recursively), and no answer is 5xx or carries INTERNAL:
//!   no stored value is one the API cannot read back. Between them the accounts reach every
//!   demo record.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use tsunagi_tests::{tests, Server};

use crate::fuzz::{demo_ids, Pools, SchemaModel, TypeRef, DEMO_LOGINS};

tests!(demo_reads_back);

const CODES: [&str; 5] = [
    "BAD_USER_INPUT",
    "NOT_FOUND",
    "FORBIDDEN",
    "CONSENT_REQUIRED",
    "CONFLICT",
];

/// Every id string in an answer.
fn ids_in(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if let (true, Value::String(s)) = (k == "id" || k.ends_with("Id"), x) {
                    out.insert(s.clone());
                }
                ids_in(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| ids_in(x, out)),
        _ => {}
    }
}

/// Non-null leaves in an answer.
fn leaves(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(leaves).sum(),
        Value::Array(a) => a.iter().map(leaves).sum(),
        Value::Null => 0,
        _ => 1,
    }
}

async fn demo_reads_back(srv: &Server) {
    // Whole-record selections go past the production limits on purpose (this test is about
    // stored values, tests/api/limits.rs about limits).
    let own = Server::start_demo(&srv.backend, |c| {
        c.limits.rate_per_minute = 0;
        c.limits.max_depth = 64;
        c.limits.max_complexity = 10_000_000;
        c.limits.max_aliases = 10_000;
    })
    .await;
    let srv = &own;
    let schema = SchemaModel::introspect(srv, &srv.admin_token).await;
    let ids = demo_ids(srv).await;
    // Arguments a field needs that are not record ids.
    let required = |_: &str, t: &TypeRef| -> Option<String> {
        match t.named() {
            "Int" => Some("30".to_owned()),
            "Boolean" => Some("false".to_owned()),
            _ => None,
        }
    };
    let mut seen = BTreeSet::new();
    let mut read: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for login in DEMO_LOGINS {
        let token = srv.demo_token(login).await;
        for f in schema.fields(&schema.query) {
            // One request per root field: the field once per demo id of the kind it takes.
            let mut calls: Vec<String> = vec![String::new()];
            for (name, t) in &f.args {
                if !matches!(t, TypeRef::NonNull(_)) {
                    continue;
                }
                let values: Vec<String> = if t.named() == "ID" {
                    ids.get(&Pools::kind(&f.name, name))
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|id| format!("{id:?}"))
                        .collect()
                } else {
                    required(name, t).into_iter().collect()
                };
                calls = calls
                    .iter()
                    .flat_map(|c| values.iter().map(move |v| format!("{c}{name}: {v} ")))
                    .collect();
            }
            if calls.is_empty() {
                continue;
            }
            let inner = f.ty.named();
            let selection = if schema.is_object(inner) {
                format!(
                    "{{ {} }}",
                    schema.full_selection(inner, 8, &mut Vec::new(), &required)
                )
            } else {
                String::new()
            };
            let body: Vec<String> = calls
                .iter()
                .enumerate()
                .map(|(i, args)| {
                    let args = if args.is_empty() {
                        String::new()
                    } else {
                        format!("({})", args.trim())
                    };
                    format!("r{i}: {}{args} {selection}", f.name)
                })
                .collect();
            let query = format!("query DemoReadsBack {{ {} }}", body.join(" "));
            let r = srv.gql(&token, &query, json!({})).await;
            let ctx = format!(
                "{} as {login} on {}: HTTP {}",
                f.name,
                srv.backend.name(),
                r.status
            );
            if r.status >= 500 {
                failures.push(format!("{ctx}\n{}", r.body));
                continue;
            }
            for e in r.errors() {
                let code = e["extensions"]["code"].as_str().unwrap_or("<none>");
                if !CODES.contains(&code) {
                    failures.push(format!("{ctx}: {code} at {} ({})", e["path"], e["message"]));
                }
            }
            ids_in(r.data(), &mut seen);
            *read.entry(login).or_default() += leaves(r.data());
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing reads of the demo data:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "demo reads back ({}): values read per account {read:?}",
        srv.backend.name()
    );
    // Every demo record is read by at least one account.
    let mut missing: Vec<String> = Vec::new();
    for (kind, list) in &ids {
        for id in list {
            if !seen.contains(id) {
                missing.push(format!("{kind} {id}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "demo records no account reached: {missing:?}"
    );
    own.stop().await;
}
