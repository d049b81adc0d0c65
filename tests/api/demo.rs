//! The demo data set (`serve --demo`) as its users meet it.
//!
//! * `demo_reads_back`: every demo account reads every field of every demo record it can
//!   reach (each query-root field with every demo id of the kind it takes, selecting every
//!   field of the answer's type, recursively), and no answer is 5xx or carries INTERNAL:
//!   no stored value is one the API cannot read back. Between them the accounts reach every
//!   demo record.
//! * `readme_examples`: every example of README.md runs against the demo data and its
//!   answer is compared with the output the README shows (the format is described below).

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tsunagi_tests::{tests, Server};

use crate::fuzz::{demo_ids, Pools, SchemaModel, TypeRef, DEMO_LOGINS};

tests!(demo_reads_back, readme_examples);

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

// ---------------------------------------------------------------------------------------
// README examples
// ---------------------------------------------------------------------------------------
//
// `readme_examples` runs every example of README.md against a freshly loaded demo, in the
// README's order, and compares each answer with the output shown under it. An example is a
// ```graphql block whose first lines are directives (GraphQL comments, so the block runs
// as it is in GraphiQL):
//
//   # as: <demo login>            the account it runs as (required)
//   # variables: {…}              the variables; "$NAME" is a value saved by an earlier
//                                 example, "$agency:<code>" / "$account:<login>" the id of a
//                                 demo agency / account
//   # save: NAME = /json/pointer  keep a value of the answer for later examples
//
// followed by a ```json block with the answer. Comparing: an expected "…" stands for any
// value (ids, times, sequence numbers, secrets differ per load), and "…" inside a string for
// any text there ("tsc_…" is any string starting "tsc_"); "$NAME" is a saved value; an
// object may leave out keys (`locations`, say), but every key it shows must match; arrays
// match element by element with the same length, except `errors`, which match in any order.

struct Example {
    line: usize,
    login: String,
    variables: String,
    saves: Vec<(String, String)>,
    query: String,
    expected: String,
}

fn readme_examples_in(text: &str) -> Vec<Example> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    // The fenced block starting at line `i`: (info string, body, the line after it).
    let block = |i: usize| -> (String, String, usize) {
        let info = lines[i].trim_start_matches('`').trim().to_owned();
        let mut j = i + 1;
        let mut body = Vec::new();
        while j < lines.len() && !lines[j].starts_with("```") {
            body.push(lines[j]);
            j += 1;
        }
        (info, body.join("\n"), j + 1)
    };
    while i < lines.len() {
        if !lines[i].starts_with("```") {
            i += 1;
            continue;
        }
        let (info, body, next) = block(i);
        if info != "graphql" || !body.starts_with("# as:") {
            i = next;
            continue;
        }
        let mut ex = Example {
            line: i + 1,
            login: String::new(),
            variables: "{}".to_owned(),
            saves: Vec::new(),
            query: body.clone(),
            expected: String::new(),
        };
        for l in body.lines() {
            if let Some(v) = l.strip_prefix("# as:") {
                ex.login = v.trim().to_owned();
            } else if let Some(v) = l.strip_prefix("# variables:") {
                ex.variables = v.trim().to_owned();
            } else if let Some(v) = l.strip_prefix("# save:") {
                let (name, pointer) = v.split_once('=').expect("# save: NAME = /pointer");
                ex.saves
                    .push((name.trim().to_owned(), pointer.trim().to_owned()));
            }
        }
        // The answer: the next fenced block, which must be JSON.
        let mut j = next;
        while j < lines.len() && !lines[j].starts_with("```") {
            j += 1;
        }
        assert!(
            j < lines.len() && lines[j].starts_with("```json"),
            "README.md line {}: an example without a ```json answer after it",
            ex.line
        );
        let (_, expected, after) = block(j);
        ex.expected = expected;
        out.push(ex);
        i = after;
    }
    out
}

/// Replace `$agency:<code>`, `$account:<login>` and `$NAME` in a JSON text.
fn substitute(
    text: &str,
    saved: &BTreeMap<String, String>,
    registry: &BTreeMap<String, String>,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        let value = registry
            .get(name)
            .or_else(|| saved.get(name))
            .unwrap_or_else(|| panic!("README example: no value for ${name}"));
        out.push_str(value);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Whether `text` has the pieces of `pattern` between its "…" in order, the first at the
/// start and the last at the end.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `actual` shows what `expected` shows (see the comment above `readme_examples`).
fn shows(expected: &Value, actual: &Value, path: &str, key: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::String(e), _) if e == "…" => Ok(()),
        (Value::String(e), Value::String(a)) if e.contains('…') => {
            if glob(e, a) {
                Ok(())
            } else {
                Err(format!("{path}: expected {expected}, got {actual}"))
            }
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                let Some(x) = a.get(k) else {
                    return Err(format!("{path}/{k}: missing"));
                };
                shows(v, x, &format!("{path}/{k}"), k)?;
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) if key == "errors" => {
            if e.len() != a.len() {
                return Err(format!("{path}: {} errors, expected {}", a.len(), e.len()));
            }
            let mut used = vec![false; a.len()];
            for (n, x) in e.iter().enumerate() {
                let hit = (0..a.len()).find(|&m| !used[m] && shows(x, &a[m], path, "").is_ok());
                match hit {
                    Some(m) => used[m] = true,
                    None => return Err(format!("{path}/{n}: no such error in the answer")),
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!("{path}: {} items, expected {}", a.len(), e.len()));
            }
            for (n, (x, y)) in e.iter().zip(a).enumerate() {
                shows(x, y, &format!("{path}/{n}"), "")?;
            }
            Ok(())
        }
        _ if expected == actual => Ok(()),
        _ => Err(format!("{path}: expected {expected}, got {actual}")),
    }
}

async fn readme_examples(srv: &Server) {
    let own = Server::start_demo(&srv.backend, |c| c.limits.rate_per_minute = 0).await;
    let srv = &own;
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let examples = readme_examples_in(&text);
    assert!(
        examples.len() >= 10,
        "only {} README examples found",
        examples.len()
    );
    let mut registry = BTreeMap::new();
    for a in entity::agency::Entity::find().all(&srv.db).await.unwrap() {
        registry.insert(format!("agency:{}", a.code), a.id);
    }
    for a in entity::account::Entity::find().all(&srv.db).await.unwrap() {
        registry.insert(format!("account:{}", a.login), a.id);
    }
    let mut saved: BTreeMap<String, String> = BTreeMap::new();
    let mut failures = Vec::new();
    for ex in &examples {
        let token = srv.demo_token(&ex.login).await;
        let variables: Value = serde_json::from_str(&substitute(&ex.variables, &saved, &registry))
            .unwrap_or_else(|e| panic!("README.md line {}: variables: {e}", ex.line));
        let expected: Value = serde_json::from_str(&substitute(&ex.expected, &saved, &registry))
            .unwrap_or_else(|e| panic!("README.md line {}: the answer is not JSON: {e}", ex.line));
        let r = srv.gql(&token, &ex.query, variables).await;
        if let Err(why) = shows(&expected, &r.body, "", "") {
            failures.push(format!(
                "README.md line {} (as {}): {why}\nthe answer was: {}",
                ex.line,
                ex.login,
                serde_json::to_string_pretty(&r.body).unwrap()
            ));
        }
        for (name, pointer) in &ex.saves {
            let v = r
                .body
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_else(|| {
                    panic!(
                        "README.md line {}: nothing at {pointer} to save as {name}: {}",
                        ex.line, r.body
                    )
                });
            saved.insert(name.clone(), v.to_owned());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} README examples do not show what the demo answers:\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
    println!(
        "readme examples ({}): {} examples match the demo's answers",
        srv.backend.name(),
        examples.len()
    );
    own.stop().await;
}
