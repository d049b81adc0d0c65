//! Fuzzing GraphQL variables through the real HTTP API. Each case takes a valid request for a
//! representative mutation or query (IDs, enums, Date/DateTime, kana, pagination cursors)
//! and breaks its variables (and sometimes the request envelope): wrong types, huge and
//! negative numbers, long and odd Unicode (NUL, control chars, lone surrogates escaped in the
//! JSON text), deep nesting, malformed dates and cursors. Every answer must be:
//!
//! * never HTTP 5xx, never INTERNAL; every error carries a code from the closed set, and a
//!   refused request (HTTP 400) is exactly one BAD_USER_INPUT;
//! * no SQL or database name in any error message;
//! * a response without data wrote nothing and ledgered nothing (row counts of every table
//!   unchanged), and a query never writes anything but ledger rows.
//!
//! Cases are generated with proptest strategies from a seeded RNG. The default count keeps
//! the run short; `PROPTEST_CASES=5000` runs more, `TSUNAGI_FUZZ_SEED=<n>` replays a run.
//! A failure prints the seed, the case number and the exact request body.

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(variables_fuzz, queries_fuzz);

const DEFAULT_CASES: u32 = 300;
const CODES: [&str; 7] = [
    "BAD_USER_INPUT",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "NOT_FOUND",
    "FORBIDDEN",
    "CONSENT_REQUIRED",
    "CONFLICT",
];

const SQL_WORDS: [&str; 8] = [
    "sqlx",
    "sqlite",
    "postgres",
    "insert into",
    "select *",
    "syntax error at",
    "violates",
    "constraint",
];

/// What the sweep puts in every text variable, then in every number variable.
static SWEEP_TEXT: std::sync::LazyLock<[Value; 4]> = std::sync::LazyLock::new(|| {
    [
        json!("a\u{0}b"),
        json!("\u{1b}[2J"),
        json!("ア".repeat(20_000)),
        json!({ "i": [1] }),
    ]
});
static SWEEP_NUMBER: std::sync::LazyLock<[Value; 5]> = std::sync::LazyLock::new(|| {
    [
        json!(i32::MAX),
        json!(i32::MIN),
        json!(i64::MAX),
        json!(-1),
        json!("1"),
    ]
});

/// A request to break: its document, valid variables, and whether it writes.
struct Op {
    name: &'static str,
    query: &'static str,
    variables: Value,
    admin: bool,
}

/// Stand-ins replaced in the serialized body, for what a serde_json::Value cannot hold.
const LONE_LEAD: char = '\u{E000}';
const LONE_TRAIL: char = '\u{E001}';
const RAW: char = '\u{E002}';
const RAW_TOKENS: [&str; 5] = [
    "123456789012345678901234567890",
    "-99999999999999999999",
    "1e400",
    "-0.0e-400",
    "1.00000000000000000000000001",
];

fn to_body_text(body: &Value) -> String {
    let mut text = body.to_string();
    for (i, token) in RAW_TOKENS.iter().enumerate() {
        text = text.replace(&format!("\"{RAW}{i}\""), token);
    }
    text.replace(LONE_LEAD, "\\ud800")
        .replace(LONE_TRAIL, "\\udc00")
}

const SPECIAL: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b",
    "\u{1}\u{7}\u{1b}[31m",
    "\r\n\t",
    "\u{202E}evil\u{202C}",
    "\u{FEFF}",
    "\u{200B}",
    "😀👨‍👩‍👧",
    "ﾔﾏﾀﾞ ﾀﾛｳ",
    "やまだ",
    "ヤマ",
    "ｶﾞ",
    "\u{3099}",
    "ー",
    "・",
    "-",
    "山田",
    "' OR 1=1 --",
    "\"; DROP TABLE person; --",
    "%00",
    "../../etc/passwd",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
    "null",
    "true",
    "0",
    "-1",
    "NaN",
    "Infinity",
    "2026-02-30",
    "0000-00-00",
    "99999-01-01",
    "2026-1-1",
    "1950-04-01",
    "2026-10-01",
    "2026-10-01T25:00:00Z",
    "2026-10-01T09:00:00",
    "2026-10-01T09:00:00+24:00",
    "+275760-09-13T00:00:00Z",
    "-000001-01-01T00:00:00Z",
    "2026-10-01T09:00:00.123456789123Z",
    "2026-10-01T09:00:00Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "VISIT",
    "visit",
    "HIGH",
    "SUPPORT",
    "IDENTITY",
    "HEALTH",
    "CHILD_PROTECTION",
    "SELF",
    "WRITTEN",
    "FEMALE",
    "__typename",
    "CONSENT_GIVEN",
    "00000000-0000-0000-0000-000000000000",
    "01890a5d-ac96-774b-bcce-b302099a8057",
    "MA==",
    "==",
    "eyJ4IjoxfQ",
    "cGVyc29uOjE=",
    "%%%%",
    "\u{E000}",
    "x\u{E001}y",
    "\u{E000}\u{E001}",
];

const ODD_CHARS: &[char] = &[
    '\u{0}',
    '\u{1}',
    '\u{8}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{ad}',
    '\u{200d}',
    '\u{2028}',
    '\u{202e}',
    '\u{fffd}',
    '\u{ffff}',
    '\u{10ffff}',
    '"',
    '\\',
    '/',
    '{',
    '}',
    '$',
    'ｱ',
    'ﾞ',
    'あ',
    'ア',
    '　',
    '漢',
    '😀',
    'a',
    '0',
];

fn string(world: &[String]) -> BoxedStrategy<String> {
    let world = world.to_vec();
    prop_oneof![
        3 => prop::sample::select(SPECIAL).prop_map(str::to_owned),
        2 => prop::sample::select(world),
        2 => any::<String>(),
        2 => prop::collection::vec(prop::sample::select(ODD_CHARS), 0..48)
            .prop_map(|v| v.into_iter().collect()),
        1 => (prop::sample::select(&["x", "ア", "😀", "\u{0}", "ｶﾞ"][..]), 100..12_000usize)
            .prop_map(|(s, n)| s.repeat(n)),
        1 => (prop::sample::select(SPECIAL), prop::sample::select(SPECIAL))
            .prop_map(|(a, b)| format!("{a}{b}")),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(1),
            json!(2),
            json!(100),
            json!(101),
            json!(i32::MAX),
            json!(i32::MIN),
            json!(i32::MAX as i64 + 1),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(9_007_199_254_740_993_u64),
            json!(1.5),
            json!(-0.0),
            json!(1e308),
            json!(-1e308),
            json!(f64::MIN_POSITIVE),
        ]),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        (0..RAW_TOKENS.len()).prop_map(|i| json!(format!("{RAW}{i}"))),
    ]
    .boxed()
}

fn leaf(world: &[String]) -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => number(),
        5 => string(world).prop_map(Value::String),
    ]
    .boxed()
}

const KEYS: &[&str] = &[
    "i",
    "id",
    "v",
    "p",
    "m",
    "input",
    "personId",
    "familyName",
    "familyNameKana",
    "birthDate",
    "sex",
    "categories",
    "validFrom",
    "first",
    "after",
    "kana",
    "code",
    "main",
    "__proto__",
    "",
    "\u{0}",
];

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
    .boxed()
}

/// Any JSON value: leaves, small trees, and very deep nesting.
fn hostile(world: &[String]) -> BoxedStrategy<Value> {
    let tree = leaf(world).prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let deep = (1..200usize, any::<bool>(), leaf(world)).prop_map(|(n, arrays, mut v)| {
        for _ in 0..n {
            v = if arrays {
                json!([v])
            } else {
                json!({ "i": v })
            };
        }
        v
    });
    prop_oneof![6 => leaf(world), 3 => tree, 1 => deep].boxed()
}

/// One change to the variables, at a path picked among those present.
#[derive(Clone, Debug)]
enum Edit {
    Replace(Index, Value),
    Remove(Index),
    Insert(Index, String, Value),
}

/// The envelope: usually the operation as is; sometimes a hostile operationName,
/// extensions or documentId, or variables that are not an object.
#[derive(Clone, Debug)]
enum Envelope {
    Plain,
    Field(&'static str, Value),
}

#[derive(Clone, Debug)]
struct Case {
    op: Index,
    edits: Vec<Edit>,
    envelope: Envelope,
}

fn case(world: &[String]) -> impl Strategy<Value = Case> {
    let edit = prop_oneof![
        6 => (any::<Index>(), hostile(world)).prop_map(|(i, v)| Edit::Replace(i, v)),
        2 => any::<Index>().prop_map(Edit::Remove),
        2 => (any::<Index>(), key(), hostile(world)).prop_map(|(i, k, v)| Edit::Insert(i, k, v)),
    ];
    let envelope = prop_oneof![
        8 => Just(Envelope::Plain),
        1 => (
            prop::sample::select(&["operationName", "extensions", "documentId", "variables", "query"][..]),
            hostile(world),
        )
            .prop_map(|(f, v)| Envelope::Field(f, v)),
    ];
    (any::<Index>(), prop::collection::vec(edit, 1..4), envelope).prop_map(
        |(op, edits, envelope)| Case {
            op,
            edits,
            envelope,
        },
    )
}

/// Every JSON pointer in `v`, the root ("") first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                pointers(c, format!("{at}/{}", esc(k)), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn apply(vars: &mut Value, edit: &Edit) {
    let mut all = Vec::new();
    pointers(vars, String::new(), &mut all);
    match edit {
        Edit::Replace(i, v) => {
            if let Some(target) = vars.pointer_mut(i.get(&all).as_str()) {
                *target = v.clone();
            }
        }
        Edit::Remove(i) => {
            let p = i.get(&all);
            let Some((parent, last)) = p.rsplit_once('/') else {
                return;
            };
            let last = last.replace("~1", "/").replace("~0", "~");
            match vars.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.remove(&last);
                }
                Some(Value::Array(a)) => {
                    if let Ok(n) = last.parse::<usize>() {
                        if n < a.len() {
                            a.remove(n);
                        }
                    }
                }
                _ => {}
            }
        }
        Edit::Insert(i, k, v) => match vars.pointer_mut(i.get(&all).as_str()) {
            Some(Value::Object(m)) => {
                m.insert(k.clone(), v.clone());
            }
            Some(Value::Array(a)) => a.push(v.clone()),
            _ => {}
        },
    }
}

/// The cases for a seed, generated up front (proptest's strategies are not Send).
fn generate(world: &[String], seed: u64, n: u32) -> Vec<Case> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    );
    let strategy = case(world);
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
        .collect()
}

fn seed() -> u64 {
    match std::env::var("TSUNAGI_FUZZ_SEED") {
        Ok(s) => s.trim().parse().expect("TSUNAGI_FUZZ_SEED is a number"),
        Err(_) => {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0),
            );
            h.finish()
        }
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

async fn variables_fuzz(srv: &Server) {
    // Its own server: no rate limit (every case is a request).
    let own = Server::start_with(&srv.backend, |c| c.limits.rate_per_minute = 0).await;
    let srv = &own;
    let a = srv.agency("fz-a", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("fz-b", "DISABILITY").await;
    let (cw, tok) = srv.account("fz-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&tok, person_input("山田", "花子", "ヤマダ", "ハナコ"))
        .await;
    let q = srv
        .person(&tok, person_input("山本", "次郎", "ヤマモト", "ジロウ"))
        .await;
    let (consent, _) = srv
        .consent(
            &tok,
            consent_input(&p, &["IDENTITY", "CONTACT"], &[&b], &[]),
        )
        .await;
    let r = srv
        .gql(
            &tok,
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            json!({ "i": { "receivedAt": "2026-10-01T09:00:00Z", "channel": "VISIT", "subjectPersonIds": [p],
                "issues": [{ "code": "HIKIKOMORI", "main": true }], "summary": "相談", "urgency": "HIGH" } }),
        )
        .await;
    let consultation = r.ok()["recordConsultation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut world = vec![
        a.clone(),
        b.clone(),
        p.clone(),
        q.clone(),
        consent.clone(),
        consultation.clone(),
    ];
    // One real cursor of each kind, for valid base requests and for the generator.
    let mut cursors = Vec::new();
    for (token, list, field) in [
        (
            &tok,
            "{ persons(first: 1) { edges { cursor } } }",
            "persons",
        ),
        (
            &srv.admin_token,
            "{ auditEvents(first: 1) { edges { cursor } } }",
            "auditEvents",
        ),
    ] {
        let r = srv.gql(token, list, json!({})).await;
        let c = r.ok()[field]["edges"][0]["cursor"]
            .as_str()
            .unwrap()
            .to_owned();
        world.push(c.clone());
        cursors.push(c);
    }
    let (cursor, audit_cursor) = (cursors[0].clone(), cursors[1].clone());
    let ops = vec![
        Op { name: "createPerson", admin: false,
            query: "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id familyNameKana birthDate } }",
            variables: json!({ "i": person_input("田中", "一郎", "たなか", "ｲﾁﾛｳ") }) },
        Op { name: "updatePerson", admin: false,
            query: "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) { updatePerson(id: $id, version: $v, input: $i) { id version } }",
            variables: json!({ "id": q, "v": 1, "i": { "givenNameKana": "ジロウ", "birthDate": "1960-01-01", "sex": "MALE", "publicAssistance": false } }) },
        Op { name: "recordConsultation", admin: false,
            query: "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id receivedAt } }",
            variables: json!({ "i": { "receivedAt": "2026-10-01T09:00:00+09:00", "channel": "PHONE", "subjectPersonIds": [p, q],
                "issues": [{ "code": "HIKIKOMORI", "main": true }, { "code": "DEBT" }], "summary": "要約", "urgency": "NORMAL" } }) },
        Op { name: "recordConsent", admin: false,
            query: "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id version } }",
            variables: json!({ "i": consent_input(&q, &["IDENTITY", "HEALTH"], &[&b], &["DISABILITY"]) }) },
        Op { name: "proposeReferral", admin: false,
            query: "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id status } }",
            variables: json!({ "i": { "personId": p, "toAgencyId": b, "consultationId": consultation, "reason": "依頼" } }) },
        Op { name: "createHousehold", admin: false,
            query: "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            variables: json!({ "m": [{ "personId": q, "relationship": "本人", "isHead": true, "joinedOn": "2020-04-01" }] }) },
        Op { name: "withdrawConsent", admin: false,
            query: "mutation($id: ID!, $v: Int!, $r: String) { withdrawConsent(id: $id, version: $v, reason: $r) { id } }",
            variables: json!({ "id": consent, "v": 1, "r": "本人の申出" }) },
        Op { name: "persons", admin: false,
            query: "query($k: String, $d: String, $f: Int, $a: String) { persons(kana: $k, district: $d, first: $f, after: $a) { edges { cursor node { id familyName address careLevel } } pageInfo { hasNextPage } } }",
            variables: json!({ "k": "ﾔﾏ", "d": "中央圏域", "f": 1, "a": cursor }) },
        Op { name: "consultations", admin: false,
            query: "query($s: ConsultationStatus, $p: ID, $from: DateTime, $until: DateTime, $f: Int, $a: String) { consultations(status: $s, personId: $p, receivedFrom: $from, receivedUntil: $until, first: $f, after: $a) { edges { node { id summary } } } }",
            variables: json!({ "s": "OPEN", "p": p, "from": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z", "f": 5, "a": null }) },
        Op { name: "person", admin: false,
            query: "query($id: ID!) { person(id: $id) { id familyName familyNameKana birthDate careLevel publicAssistance } }",
            variables: json!({ "id": p }) },
        Op { name: "households", admin: false,
            query: "query($f: Int, $a: String) { households(first: $f, after: $a) { edges { node { id } } } }",
            variables: json!({ "f": 10, "a": null }) },
        Op { name: "communityResources", admin: false,
            query: "query($k: ResourceKind, $d: String) { communityResources(kind: $k, district: $d, activeOnly: false) { id name } }",
            variables: json!({ "k": "SALON", "d": "中央圏域" }) },
        Op { name: "accessLog", admin: true,
            query: "query($p: ID!, $f: Int, $a: String) { accessLog(personId: $p, first: $f, after: $a) { edges { cursor } } }",
            variables: json!({ "p": p, "f": 2, "a": audit_cursor }) },
        Op { name: "explainAccess", admin: true,
            query: "query($p: ID!, $acc: ID) { explainAccess(personId: $p, accountId: $acc) { __typename } }",
            variables: json!({ "p": p, "acc": cw }) },
        Op { name: "auditEvents", admin: true,
            query: "query($p: ID, $act: AuditAction, $f: Int, $a: String) { auditEvents(personId: $p, action: $act, first: $f, after: $a) { edges { cursor node { operation } } } }",
            variables: json!({ "p": p, "act": "READ", "f": 3, "a": null }) },
    ];

    // Every base request is valid, so a broken one reaches as deep as it can.
    for op in &ops {
        let token = if op.admin { &srv.admin_token } else { &tok };
        let r = srv.gql(token, op.query, op.variables.clone()).await;
        assert!(
            r.status == 200 && r.errors().is_empty(),
            "base request {}: {}",
            op.name,
            r.body
        );
    }
    let seed = seed();
    let n = cases();
    println!(
        "fuzz ({}): seed {seed} (TSUNAGI_FUZZ_SEED), {n} cases (PROPTEST_CASES)",
        srv.backend.name()
    );
    // First a sweep (every text and number variable of every operation, in turn, set to
    // each nasty value), then the random cases.
    let mut requests: Vec<(String, usize, String)> = Vec::new();
    for (o, op) in ops.iter().enumerate() {
        let mut all = Vec::new();
        pointers(&op.variables, String::new(), &mut all);
        for p in &all {
            let nasty: &[Value] = match op.variables.pointer(p) {
                Some(Value::String(_)) => &SWEEP_TEXT[..],
                Some(Value::Number(_)) => &SWEEP_NUMBER[..],
                _ => &[],
            };
            for v in nasty {
                let mut vars = op.variables.clone();
                if let Some(t) = vars.pointer_mut(p) {
                    *t = v.clone();
                }
                let body = json!({ "query": op.query, "variables": vars });
                requests.push((format!("sweep {p}"), o, to_body_text(&body)));
            }
        }
    }
    let sweep = requests.len();
    for (i, case) in generate(&world, seed, n).into_iter().enumerate() {
        let o = case.op.index(ops.len());
        let mut vars = ops[o].variables.clone();
        for e in &case.edits {
            apply(&mut vars, e);
        }
        let mut body = Map::new();
        body.insert("query".into(), json!(ops[o].query));
        body.insert("variables".into(), vars);
        if let Envelope::Field(f, v) = &case.envelope {
            body.insert((*f).into(), v.clone());
        }
        requests.push((
            format!("seed {seed} case {i}"),
            o,
            to_body_text(&Value::Object(body)),
        ));
    }
    let client = reqwest::Client::new();
    // What the cases came to: answered with data, refused by GraphQL, refused at the edge.
    let (mut answered, mut refused, mut edge) = (0, 0, 0);
    for (label, o, text) in requests {
        let op = &ops[o];
        let token = if op.admin { &srv.admin_token } else { &tok };
        let before = srv.snapshot().await;
        let resp = client
            .post(srv.url("/graphql"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(text.clone())
            .send()
            .await
            .expect("HTTP request");
        let status = resp.status().as_u16();
        let answer = resp.text().await.expect("body");
        let shown: String = if text.len() > 2_000 {
            format!(
                "{}… ({} bytes)",
                text.chars().take(2_000).collect::<String>(),
                text.len()
            )
        } else {
            text.clone()
        };
        let ctx = format!(
            "fuzz failure: {label} ({}) on {}\nrequest: {shown}\nHTTP {status}: {}",
            op.name,
            srv.backend.name(),
            answer.chars().take(2_000).collect::<String>()
        );
        let reply: Value = serde_json::from_str(&answer)
            .unwrap_or_else(|_| panic!("{ctx}\nthe answer is not JSON"));
        // 413 only for a body over the server's limit (256 KiB).
        let too_large = status == 413 && text.len() > 256 * 1024;
        assert!(status == 200 || status == 400 || too_large, "{ctx}\nstatus");
        let errors = reply["errors"].as_array().cloned().unwrap_or_default();
        for e in &errors {
            let code = e["extensions"]["code"].as_str().unwrap_or("<none>");
            assert!(CODES.contains(&code), "{ctx}\ncode {code}");
            let message = e["message"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{ctx}\nan error without a message");
            // No SQL and no database name (GraphQL's own "expected selection" is fine).
            let lower = message.to_lowercase();
            for word in SQL_WORDS {
                assert!(!lower.contains(word), "{ctx}\nthe error shows {word:?}");
            }
        }
        if status != 200 {
            assert_eq!(errors.len(), 1, "{ctx}");
            assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT", "{ctx}");
        }
        let nothing_returned = reply["data"].is_null()
            || reply["data"]
                .as_object()
                .is_some_and(|d| d.values().all(Value::is_null));
        match (status, nothing_returned) {
            (400 | 413, _) => edge += 1,
            (_, true) => refused += 1,
            _ => answered += 1,
        }
        if nothing_returned {
            assert!(!errors.is_empty(), "{ctx}\nno data and no error");
            srv.assert_unchanged(
                &before,
                format!("{ctx}\nwritten or ledgered although nothing came back"),
            )
            .await;
        } else if !op.query.starts_with("mutation") {
            // A query only ever adds READ rows to the ledger.
            srv.assert_only_reads(&before, format!("{ctx}\na query wrote"))
                .await;
        }
    }
    println!(
        "fuzz ({}): {sweep} swept and {n} random requests: {answered} answered with data, {refused} refused in GraphQL, {edge} refused at the edge",
        srv.backend.name()
    );
    own.stop().await;
}

// ---------------------------------------------------------------------------------------
// Queries over the whole schema
// ---------------------------------------------------------------------------------------
//
// The document itself is generated, not only its variables: random selections over every
// type of the schema as the server introspects it, with random arguments written inline
// (ids of the demo's records and ids and cursors seen in earlier answers, enum values, dates,
// odd text, page sizes in and out of range), sent as every demo account. Every answer must
// be below HTTP 500 and carry no INTERNAL error; every error has a code from the closed set.
// `TSUNAGI_QUERY_FUZZ_CASES=<n>` sets the count (default [`QUERY_CASES`]),
// `TSUNAGI_FUZZ_SEED=<n>` replays a run. A failing run lists every failing query.

/// Cases in a default run (CI); README §11.7 shows the longer run.
const QUERY_CASES: u32 = 400;

/// The demo's accounts: every role the demo has.
pub(crate) const DEMO_LOGINS: [&str; 10] = [
    "admin",
    "auditor",
    "analyst",
    "takikan-coord",
    "houkatsu-cw",
    "nikokoro-cw",
    "kodomo-cw",
    "kurashi-cw",
    "kurashi-system",
    "shakyo-lsc",
];

/// A type reference: NON_NULL and LIST wrapped around a named type.
#[derive(Clone, Debug)]
pub(crate) enum TypeRef {
    NonNull(Box<TypeRef>),
    List(Box<TypeRef>),
    Named(String),
}

impl TypeRef {
    fn from_json(v: &Value) -> TypeRef {
        match v["kind"].as_str() {
            Some("NON_NULL") => TypeRef::NonNull(Box::new(TypeRef::from_json(&v["ofType"]))),
            Some("LIST") => TypeRef::List(Box::new(TypeRef::from_json(&v["ofType"]))),
            _ => TypeRef::Named(v["name"].as_str().unwrap_or_default().to_owned()),
        }
    }
    pub(crate) fn named(&self) -> &str {
        match self {
            TypeRef::NonNull(t) | TypeRef::List(t) => t.named(),
            TypeRef::Named(n) => n,
        }
    }
    fn required(&self) -> bool {
        matches!(self, TypeRef::NonNull(_))
    }
}

pub(crate) struct FieldDef {
    pub(crate) name: String,
    pub(crate) args: Vec<(String, TypeRef)>,
    pub(crate) ty: TypeRef,
}

pub(crate) enum TypeDef {
    Scalar,
    Enum(Vec<String>),
    Object(Vec<FieldDef>),
    Input(Vec<(String, TypeRef)>),
}

/// The schema as the server introspects it.
pub(crate) struct SchemaModel {
    pub(crate) types: std::collections::HashMap<String, TypeDef>,
    pub(crate) query: String,
}

const INTROSPECT: &str = "{ __schema { queryType { name } types { name kind enumValues { name } \
    fields { name type { ...T } args { name type { ...T } } } inputFields { name type { ...T } } } } } \
    fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

impl SchemaModel {
    pub(crate) async fn introspect(srv: &Server, token: &str) -> SchemaModel {
        let r = srv.gql(token, INTROSPECT, json!({})).await;
        let s = &r.ok()["__schema"];
        let mut types = std::collections::HashMap::new();
        let args = |v: &Value| -> Vec<(String, TypeRef)> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    (
                        a["name"].as_str().unwrap_or_default().to_owned(),
                        TypeRef::from_json(&a["type"]),
                    )
                })
                .collect()
        };
        for t in s["types"].as_array().unwrap() {
            let name = t["name"].as_str().unwrap_or_default().to_owned();
            if name.starts_with("__") {
                continue;
            }
            let def = match t["kind"].as_str() {
                Some("ENUM") => TypeDef::Enum(
                    t["enumValues"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|e| e["name"].as_str().unwrap().to_owned())
                        .collect(),
                ),
                Some("OBJECT") => TypeDef::Object(
                    t["fields"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|f| FieldDef {
                            name: f["name"].as_str().unwrap().to_owned(),
                            args: args(&f["args"]),
                            ty: TypeRef::from_json(&f["type"]),
                        })
                        .collect(),
                ),
                Some("INPUT_OBJECT") => TypeDef::Input(args(&t["inputFields"])),
                _ => TypeDef::Scalar,
            };
            types.insert(name, def);
        }
        SchemaModel {
            types,
            query: s["queryType"]["name"].as_str().unwrap().to_owned(),
        }
    }

    pub(crate) fn fields(&self, ty: &str) -> &[FieldDef] {
        match self.types.get(ty) {
            Some(TypeDef::Object(f)) => f,
            _ => &[],
        }
    }

    pub(crate) fn is_object(&self, ty: &str) -> bool {
        matches!(self.types.get(ty), Some(TypeDef::Object(_)))
    }

    /// Every field of `ty`, recursively, without entering a type already on the path and no
    /// deeper than `depth`: the selection that reads everything a record shows. Fields with
    /// arguments take their defaults (a required one gets `required`).
    pub(crate) fn full_selection(
        &self,
        ty: &str,
        depth: usize,
        path: &mut Vec<String>,
        required: &dyn Fn(&str, &TypeRef) -> Option<String>,
    ) -> String {
        let mut out = Vec::new();
        path.push(ty.to_owned());
        for f in self.fields(ty) {
            let mut args = Vec::new();
            let mut skip = false;
            for (name, t) in &f.args {
                if t.required() {
                    match required(name, t) {
                        Some(v) => args.push(format!("{name}: {v}")),
                        None => skip = true,
                    }
                }
            }
            if skip {
                continue;
            }
            let args = if args.is_empty() {
                String::new()
            } else {
                format!("({})", args.join(", "))
            };
            let inner = f.ty.named();
            if self.is_object(inner) {
                if depth == 0 || path.iter().any(|p| p == inner) {
                    continue;
                }
                let sub = self.full_selection(inner, depth - 1, path, required);
                if !sub.is_empty() {
                    out.push(format!("{}{args} {{ {sub} }}", f.name));
                }
            } else {
                out.push(format!("{}{args}", f.name));
            }
        }
        path.pop();
        out.join(" ")
    }
}

/// A small random source over proptest's seeded RNG.
pub(crate) struct Dice(TestRng);

impl Dice {
    pub(crate) fn new(seed: u64) -> Dice {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        bytes[8] = 0x51; // a different stream from the variables fuzz
        Dice(TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
    }
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What the generator draws argument values from: the demo's ids by kind (`person`,
/// `supportCase`, ...), ids and cursors seen in answers, and odd text.
pub(crate) struct Pools {
    pub(crate) ids: std::collections::HashMap<String, Vec<String>>,
    pub(crate) seen: Vec<String>,
    pub(crate) texts: Vec<String>,
}

impl Pools {
    /// Remember every id and cursor in an answer.
    fn learn(&mut self, v: &Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if let Value::String(s) = x {
                        let known = |pool: &Vec<String>| pool.iter().any(|p| p == s);
                        if (k == "id" || k.ends_with("Id")) && !known(&self.seen) {
                            self.seen.push(s.clone());
                        } else if k.ends_with("ursor") && !known(&self.texts) {
                            self.texts.push(s.clone());
                        }
                    }
                    self.learn(x);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.learn(x)),
            _ => {}
        }
    }

    /// The kind of record an ID argument names: `personId` a person, `id` on `supportCase`
    /// a support case.
    pub(crate) fn kind(field: &str, arg: &str) -> String {
        let k = if arg == "id" {
            field
        } else {
            arg.strip_suffix("Id").unwrap_or(arg)
        };
        match k {
            "case" => "supportCase",
            "resource" => "communityResource",
            "plan" => "supportPlan",
            "receivingAgency" | "toAgency" | "fromAgency" => "agency",
            k => k,
        }
        .to_owned()
    }

    fn id(&self, d: &mut Dice, kind: &str) -> String {
        match self.ids.get(kind) {
            Some(ids) if !ids.is_empty() && !d.chance(5) => d.pick(ids).clone(),
            _ if !self.seen.is_empty() && !d.chance(4) => d.pick(&self.seen).clone(),
            _ => (*d.pick(&["0195f3c2-0000-7000-8000-000000000000", "not-an-id", ""])).to_owned(),
        }
    }
}

const FUZZ_TEXT: &[&str] = &[
    "ヤマダ",
    "やまだけ",
    "ｽｽﾞｷ",
    "サ",
    "山田",
    "中央圏域",
    "西部圏域",
    "DV",
    "HIKIKOMORI",
    "P8050",
    "",
    " ",
    "ア",
    "' OR 1=1 --",
    "\u{200B}",
    "😀",
    "a\u{0}b",
    "\\u0000",
];
const FUZZ_INT: &[i64] = &[1, 1, 2, 3, 5, 10, 30, 0, -1, 100, 101, 2_147_483_647];
const FUZZ_DATE: &[&str] = &[
    "2026-10-01",
    "2020-04-01",
    "2027-03-31",
    "1900-01-01",
    "2026-02-30",
];
const FUZZ_DATETIME: &[&str] = &[
    "2026-10-01T09:00:00Z",
    "2026-01-01T00:00:00+09:00",
    "2030-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z",
];

fn literal(s: impl AsRef<str>) -> String {
    serde_json::to_string(s.as_ref()).unwrap()
}

impl SchemaModel {
    /// A GraphQL literal of type `t`.
    fn value(&self, d: &mut Dice, pools: &Pools, t: &TypeRef, kind: &str, depth: usize) -> String {
        match t {
            TypeRef::NonNull(inner) => self.value(d, pools, inner, kind, depth),
            TypeRef::List(inner) => {
                let n = if depth > 3 { 0 } else { d.below(3) };
                let items: Vec<String> = (0..n)
                    .map(|_| self.value(d, pools, inner, kind, depth + 1))
                    .collect();
                format!("[{}]", items.join(", "))
            }
            TypeRef::Named(name) => match (name.as_str(), self.types.get(name)) {
                ("ID", _) => literal(pools.id(d, kind)),
                ("String", _) => literal(d.pick(&pools.texts)),
                ("Int", _) => d.pick(FUZZ_INT).to_string(),
                ("Float", _) => "1.5".to_owned(),
                ("Boolean", _) => d.pick(&["true", "false"]).to_string(),
                ("Date", _) => literal(d.pick(FUZZ_DATE)),
                ("DateTime", _) => literal(d.pick(FUZZ_DATETIME)),
                (_, Some(TypeDef::Enum(values))) => d.pick(values).clone(),
                (_, Some(TypeDef::Input(fields))) => {
                    let mut parts = Vec::new();
                    for (n, ft) in fields {
                        if ft.required() || d.chance(2) {
                            let v = self.value(d, pools, ft, &Pools::kind("", n), depth + 1);
                            parts.push(format!("{n}: {v}"));
                        }
                    }
                    format!("{{{}}}", parts.join(", "))
                }
                _ => "null".to_owned(),
            },
        }
    }

    /// Random arguments for a field: every required one, each optional one by chance.
    fn arguments(
        &self,
        d: &mut Dice,
        pools: &Pools,
        field: &str,
        args: &[(String, TypeRef)],
    ) -> String {
        let mut parts = Vec::new();
        for (n, t) in args {
            if !(t.required() || d.chance(2)) {
                continue;
            }
            if !t.required() && d.chance(12) {
                parts.push(format!("{n}: null"));
            } else {
                let v = self.value(d, pools, t, &Pools::kind(field, n), 0);
                parts.push(format!("{n}: {v}"));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// A random selection set on `ty`: a few distinct fields, objects entered while `depth`
    /// lasts, sometimes a field twice under an alias with other arguments.
    fn selection(
        &self,
        d: &mut Dice,
        pools: &Pools,
        ty: &str,
        depth: usize,
        aliases: &mut usize,
    ) -> String {
        let fields = self.fields(ty);
        let mut order: Vec<usize> = (0..fields.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, d.below(i + 1));
        }
        let want = 1 + d.below(4);
        let mut out = Vec::new();
        for &i in &order {
            if out.len() >= want {
                break;
            }
            let f = &fields[i];
            let inner = f.ty.named();
            let object = self.is_object(inner);
            if object && depth == 0 {
                continue;
            }
            let copies = if *aliases < 20 && d.chance(8) { 2 } else { 1 };
            for c in 0..copies {
                let name = if c == 0 {
                    f.name.clone()
                } else {
                    *aliases += 1;
                    format!("a{}: {}", *aliases, f.name)
                };
                let args = self.arguments(d, pools, &f.name, &f.args);
                if object {
                    let sub = self.selection(d, pools, inner, depth - 1, aliases);
                    out.push(format!("{name}{args} {{ {sub} }}"));
                } else {
                    out.push(format!("{name}{args}"));
                }
            }
        }
        if out.is_empty() || d.chance(10) {
            out.push("__typename".to_owned());
        }
        out.join(" ")
    }

    /// One random query document.
    pub(crate) fn random_query(&self, d: &mut Dice, pools: &Pools) -> String {
        let mut aliases = 0;
        let depth = 1 + d.below(6);
        let sel = self.selection(d, pools, &self.query, depth, &mut aliases);
        if d.chance(3) {
            format!("query Fuzz {{ {sel} }}")
        } else {
            format!("{{ {sel} }}")
        }
    }
}

/// Every id of the demo's records by kind (named as the schema's types and arguments name
/// them), read from the database.
pub(crate) async fn demo_ids(srv: &Server) -> std::collections::HashMap<String, Vec<String>> {
    use sea_orm::EntityTrait;
    let mut ids: std::collections::HashMap<String, Vec<String>> = Default::default();
    macro_rules! ids_of {
        ($($e:ident => $kind:literal),+ $(,)?) => {$(
            for m in entity::$e::Entity::find().all(&srv.db).await.unwrap() {
                ids.entry($kind.to_owned()).or_default().push(m.id.clone());
            }
        )+};
    }
    ids_of!(
        agency => "agency",
        account => "account",
        person => "person",
        household => "household",
        household_member => "membership",
        consultation => "consultation",
        referral => "referral",
        consent => "consent",
        support_case => "supportCase",
        case_decision => "decision",
        case_involvement => "involvement",
        support_plan => "supportPlan",
        plan_assignment => "assignment",
        meeting => "meeting",
        activity => "activity",
        community_resource => "communityResource",
        participation_placement => "placement",
    );
    ids
}

fn query_cases() -> u32 {
    std::env::var("TSUNAGI_QUERY_FUZZ_CASES")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(QUERY_CASES)
}

async fn queries_fuzz(srv: &Server) {
    // The demo data, no rate limit (every case is a request).
    let own = Server::start_demo(&srv.backend, |c| c.limits.rate_per_minute = 0).await;
    let srv = &own;
    let mut tokens = Vec::new();
    for login in DEMO_LOGINS {
        tokens.push((login, srv.demo_token(login).await));
    }
    let schema = SchemaModel::introspect(srv, &srv.admin_token).await;
    let mut pools = Pools {
        ids: demo_ids(srv).await,
        seen: Vec::new(),
        texts: FUZZ_TEXT.iter().map(|s| (*s).to_owned()).collect(),
    };
    let seed = seed();
    let n = query_cases();
    println!(
        "query fuzz ({}): seed {seed} (TSUNAGI_FUZZ_SEED), {n} cases (TSUNAGI_QUERY_FUZZ_CASES)",
        srv.backend.name()
    );
    let mut d = Dice::new(seed);
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let (mut with_data, mut errors_seen, mut refused, mut internal) =
        (0usize, 0usize, 0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    let mut codes: std::collections::BTreeMap<String, usize> = Default::default();
    for i in 0..n {
        let (login, token) = d.pick(&tokens).clone();
        let query = schema.random_query(&mut d, &pools);
        let resp = client
            .post(srv.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": query }))
            .send()
            .await
            .expect("HTTP request");
        let status = resp.status().as_u16();
        let answer = resp.text().await.expect("body");
        let ctx = format!(
            "seed {seed} case {i} as {login} on {}\nquery: {query}\nHTTP {status}: {}",
            srv.backend.name(),
            answer.chars().take(1_000).collect::<String>()
        );
        let Ok(reply) = serde_json::from_str::<Value>(&answer) else {
            failures.push(format!("{ctx}\nthe answer is not JSON"));
            continue;
        };
        if status >= 500 {
            failures.push(format!("{ctx}\nHTTP {status}"));
        }
        let errors = reply["errors"].as_array().cloned().unwrap_or_default();
        for e in &errors {
            let code = e["extensions"]["code"].as_str().unwrap_or("<none>");
            *codes.entry(code.to_owned()).or_default() += 1;
            if code == "INTERNAL" {
                internal += 1;
            }
            if !CODES.contains(&code) {
                failures.push(format!("{ctx}\ncode {code}"));
                break;
            }
        }
        if status != 200 || reply["data"].is_null() {
            refused += 1;
        } else {
            with_data += 1;
            if !errors.is_empty() {
                errors_seen += 1;
            }
            pools.learn(&reply["data"]);
        }
    }
    println!(
        "query fuzz ({}): {n} queries in {:.1} s: {with_data} answered with data ({errors_seen} of them with field errors), {refused} refused whole; {internal} INTERNAL errors, {} failing",
        srv.backend.name(),
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    println!("query fuzz ({}): error codes {codes:?}", srv.backend.name());
    assert!(
        failures.is_empty(),
        "{} of {n} queries failed ({internal} INTERNAL errors); the first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n---\n")
    );
    own.stop().await;
}
