//! The ledger: writes are ledgered with their transaction, reads of the ledger are
//! ledgered, only admins and auditors may read it, and an edited, deleted or reordered row
//! breaks the chain at that row.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use tsunagi_tests::{person_input, tests, Server};

tests!(
    writes_are_ledgered_without_values,
    ledger_is_for_overseers_only,
    edited_row_is_detected,
    deleted_row_is_detected,
    reordered_rows_are_detected,
    filters_are_ledgered_as_reads,
    ledger_json_and_agency_names,
    concurrent_reads_and_writes_are_each_ledgered_once,
    audit_events_filter_by_agency_basis_and_time
);

const VERIFY: &str = "{ verifyAuditChain { ok checked firstBrokenSeq problem } }";

/// A few writes and reads so the chain has rows; returns the number of rows.
async fn some_history(srv: &Server) -> usize {
    let a = srv.agency("ledger-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("ledger-cw", &a, &["caseworker"]).await;
    for (f, g) in [("田中", "花子"), ("伊藤", "次郎"), ("渡辺", "三郎")] {
        let p = srv
            .person(&tok, person_input(f, g, "タナカ", "ハナコ"))
            .await;
        srv.gql(
            &tok,
            "query($p: ID!) { person(id: $p) { familyName } }",
            json!({ "p": p }),
        )
        .await
        .ok();
    }
    let v = srv.gql(&srv.admin_token, VERIFY, json!({})).await;
    assert_eq!(v.ok()["verifyAuditChain"]["ok"], true, "{:?}", v.body);
    srv.ledger().await.len()
}

async fn exec(srv: &Server, sql: &str) {
    let backend = srv.db.get_database_backend();
    srv.db
        .execute_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .expect("tamper");
}

async fn broken_at(srv: &Server) -> (i64, String) {
    let v = srv.gql(&srv.admin_token, VERIFY, json!({})).await;
    let r = &v.ok()["verifyAuditChain"];
    assert_eq!(r["ok"], false, "tampering must be detected: {r}");
    (
        r["firstBrokenSeq"].as_i64().expect("seq"),
        r["problem"].as_str().unwrap_or("").to_owned(),
    )
}

async fn writes_are_ledgered_without_values(srv: &Server) {
    let a = srv.agency("w-a", "SELF_RELIANCE").await;
    let (cw, tok) = srv.account("w-cw", &a, &["caseworker"]).await;
    let before = srv.ledger().await.len();
    let p = srv
        .person(&tok, person_input("秘密", "太郎", "ヒミツ", "タロウ"))
        .await;
    let rows = srv.ledger().await;
    assert_eq!(
        rows.len(),
        before + 1,
        "one WRITE; the payload asked for no personal field, so no READ"
    );
    let write = rows
        .iter()
        .find(|r| r.action == "WRITE" && r.record_id.as_deref() == Some(p.as_str()))
        .expect("write row");
    assert_eq!(write.operation, "createPerson");
    assert_eq!(write.account_id.as_deref(), Some(cw.as_str()));
    assert_eq!(write.agency_id.as_deref(), Some(a.as_str()));
    assert_eq!(write.subject_person_id.as_deref(), Some(p.as_str()));
    assert_eq!(write.roles, "caseworker");
    let all = serde_json::to_string(
        &rows
            .iter()
            .map(|r| (&r.detail, &r.bases, &r.operation))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(
        !all.contains("秘密") && !all.contains("ヒミツ"),
        "the ledger holds no field values"
    );
    // Every row links to the one before it.
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
}

async fn ledger_is_for_overseers_only(srv: &Server) {
    let a = srv.agency("o-a", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("o-cw", &a, &["caseworker"]).await;
    let (_, aud) = srv
        .account("o-auditor", &srv.city_agency, &["auditor"])
        .await;
    let (_, an) = srv
        .account("o-analyst", &srv.city_agency, &["analyst"])
        .await;
    let p = srv
        .person(&cw, person_input("木村", "一", "キムラ", "ハジメ"))
        .await;
    for tok in [&cw, &an] {
        for q in [VERIFY, "{ auditEvents { edges { node { seq } } } }"] {
            srv.gql(tok, q, json!({})).await.only_error("FORBIDDEN");
        }
        srv.gql(
            tok,
            "query($p: ID!) { accessLog(personId: $p) { edges { node { seq } } } }",
            json!({ "p": p }),
        )
        .await
        .only_error("FORBIDDEN");
    }
    let before = srv.ledger().await.len();
    let log = srv.gql(&aud, "query LedgerCheck($p: ID!) { auditEvents(personId: $p) { edges { node { action operation recordId } } } }", json!({ "p": p })).await;
    let edges = log.ok()["auditEvents"]["edges"].as_array().unwrap().clone();
    assert!(edges
        .iter()
        .any(|e| e["node"]["action"] == "WRITE" && e["node"]["operation"] == "createPerson"));
    let rows = srv.ledger().await;
    assert_eq!(rows.len(), before + 1, "reading the ledger is ledgered");
    let last = rows.last().unwrap();
    assert_eq!(
        (
            last.action.as_str(),
            last.record_type.as_str(),
            last.operation.as_str()
        ),
        ("READ", "ledger", "LedgerCheck")
    );
    assert_eq!(last.subject_person_id.as_deref(), Some(p.as_str()));
}

async fn edited_row_is_detected(srv: &Server) {
    let n = some_history(srv).await;
    assert!(n >= 5);
    exec(
        srv,
        "UPDATE audit_event SET withheld = '[]', shown = '[\"HEALTH\"]' WHERE seq = 4",
    )
    .await;
    let (seq, problem) = broken_at(srv).await;
    assert_eq!(seq, 4);
    assert!(problem.contains("hash"), "{problem}");
}

async fn deleted_row_is_detected(srv: &Server) {
    some_history(srv).await;
    exec(srv, "DELETE FROM audit_event WHERE seq = 3").await;
    let (seq, problem) = broken_at(srv).await;
    assert_eq!(seq, 3);
    assert!(problem.contains("missing"), "{problem}");
}

async fn reordered_rows_are_detected(srv: &Server) {
    some_history(srv).await;
    exec(srv, "UPDATE audit_event SET seq = -1 WHERE seq = 2").await;
    exec(srv, "UPDATE audit_event SET seq = 2 WHERE seq = 3").await;
    exec(srv, "UPDATE audit_event SET seq = 3 WHERE seq = -1").await;
    let (seq, _) = broken_at(srv).await;
    assert_eq!(seq, 2);
}

/// A filter reads what it matches: `persons(kana:)` returning only ids still ledgers an
/// IDENTITY read of each person returned (else names could be rebuilt prefix by prefix
/// without a trace).
async fn filters_are_ledgered_as_reads(srv: &Server) {
    let a = srv.agency("f-a", "SELF_RELIANCE").await;
    let (cw, tok) = srv.account("f-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&tok, person_input("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    // By kana, and by name as written: each reads the name it matches.
    for (operation, query) in [
        (
            "KanaProbe",
            "query KanaProbe { persons(kana: \"ヤマ\") { edges { node { id } } } }",
        ),
        (
            "NameProbe",
            "query NameProbe { persons(name: \"山田 太\") { edges { node { id } } } }",
        ),
    ] {
        let before = srv.ledger().await.len();
        let r = srv.gql(&tok, query, json!({})).await;
        assert_eq!(r.ok()["persons"]["edges"][0]["node"]["id"], p.as_str());
        let rows = srv.ledger().await;
        let row = rows[before..]
            .iter()
            .find(|r| r.operation == operation)
            .expect("a READ row for the filtered person");
        assert_eq!(row.account_id.as_deref(), Some(cw.as_str()));
        assert_eq!(row.subject_person_id.as_deref(), Some(p.as_str()));
        assert!(row.shown.contains("IDENTITY"), "{operation}: {}", row.shown);
    }
}

/// `bases` and `detail` are JSON objects, not strings holding JSON; `explainAccess.missing`
/// names the agency by code and name, never by its raw id.
async fn ledger_json_and_agency_names(srv: &Server) {
    let a = srv.agency("j-a", "SELF_RELIANCE").await;
    let (_, tok) = srv.account("j-cw", &a, &["caseworker"]).await;
    let b = srv.agency("j-b", "DISABILITY").await;
    let (b_cw, _) = srv.account("j-b-cw", &b, &["caseworker"]).await;
    let p = srv
        .person(&tok, person_input("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    srv.gql(
        &tok,
        "query JsonProbe($p: ID!) { person(id: $p) { familyName } }",
        json!({ "p": p }),
    )
    .await
    .ok();
    let r = srv
        .gql(
            &srv.admin_token,
            "query($p: ID!) { auditEvents(personId: $p, first: 50) { nodes { operation action bases detail } } }",
            json!({ "p": p }),
        )
        .await;
    let rows = r.ok()["auditEvents"]["nodes"].as_array().unwrap().clone();
    let read = rows
        .iter()
        .find(|n| n["operation"] == "JsonProbe")
        .expect("the read");
    assert_eq!(read["bases"]["IDENTITY"], json!(["OWN"]), "{read}");
    assert!(read["detail"].is_object(), "{read}");
    let write = rows
        .iter()
        .find(|n| n["operation"] == "createPerson")
        .expect("the write");
    assert!(write["bases"].is_object(), "{write}");
    assert!(write["detail"]["categories"].is_array(), "{write}");
    // The schema says so too.
    let r = srv
        .gql(
            &srv.admin_token,
            "{ __type(name: \"AuditEvent\") { fields { name type { kind ofType { name } } } } }",
            json!({}),
        )
        .await;
    for f in r.ok()["__type"]["fields"].as_array().unwrap() {
        if f["name"] == "bases" || f["name"] == "detail" {
            assert_eq!(f["type"]["ofType"]["name"], "JSON", "{f}");
        }
    }

    let r = srv
        .gql(
            &srv.admin_token,
            "query($p: ID!, $a: ID) { explainAccess(personId: $p, accountId: $a) { items { category allowed missing } } }",
            json!({ "p": p, "a": b_cw }),
        )
        .await;
    let items = r.ok()["explainAccess"]["items"].as_array().unwrap().clone();
    let health = items
        .iter()
        .find(|i| i["category"] == "HEALTH")
        .expect("HEALTH");
    let missing = health["missing"].as_str().expect("missing");
    assert!(missing.contains("j-b (j-b 機関)"), "{missing}");
    for i in &items {
        let text = i["missing"].as_str().unwrap_or_default();
        assert!(!text.contains(b.as_str()), "no raw agency id: {text}");
    }
}

/// Reads are committed to the ledger in groups (audit::GroupCommit): many requests at once,
/// reads interleaved with writes that append in their own transactions, must still give
/// every read exactly its own row, one chain without gaps, and a chain that verifies.
async fn concurrent_reads_and_writes_are_each_ledgered_once(srv: &Server) {
    let a = srv.agency("g-a", "SELF_RELIANCE").await;
    let (cw, tok) = srv.account("g-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(&tok, person_input("山田", "太郎", "ヤマダ", "タロウ"))
        .await;
    let before = srv.ledger().await.len();
    let reads = (0..40).map(|i| {
        let (tok, p) = (tok.clone(), p.clone());
        async move {
            let q = format!("query Group{i}($p: ID!) {{ person(id: $p) {{ familyName }} }}");
            let r = srv.gql(&tok, &q, json!({ "p": p })).await;
            assert_eq!(r.ok()["person"]["familyName"], "山田", "{:?}", r.body);
        }
    });
    let writes = (0..8).map(|i| {
        let tok = tok.clone();
        async move {
            srv.person(
                &tok,
                person_input("佐藤", &format!("{i}"), "サトウ", "イチ"),
            )
            .await;
        }
    });
    futures::future::join(
        futures::future::join_all(reads),
        futures::future::join_all(writes),
    )
    .await;
    let rows = srv.ledger().await;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.seq, i as i64 + 1, "the chain's sequence has no gaps");
    }
    let new = &rows[before..];
    for i in 0..40 {
        let op = format!("Group{i}");
        let mine: Vec<_> = new.iter().filter(|r| r.operation == op).collect();
        assert_eq!(
            mine.len(),
            1,
            "{op}: exactly one READ row, got {}",
            mine.len()
        );
        assert_eq!(mine[0].action, "READ");
        assert_eq!(mine[0].account_id.as_deref(), Some(cw.as_str()));
        assert_eq!(mine[0].subject_person_id.as_deref(), Some(p.as_str()));
    }
    let created = new
        .iter()
        .filter(|r| r.action == "WRITE" && r.operation == "createPerson")
        .count();
    assert_eq!(created, 8, "each of the eight writes is ledgered once");
    let v = srv.gql(&srv.admin_token, VERIFY, json!({})).await;
    assert_eq!(v.ok()["verifyAuditChain"]["ok"], true, "{:?}", v.body);
}

/// `auditEvents` narrows by agency, by the kind of basis a field was shown on, and by a time
/// window, in the database (so a filter finds rows beyond the first page); a window that ends
/// before it starts is refused naming `until`.
async fn audit_events_filter_by_agency_basis_and_time(srv: &Server) {
    let a = srv.agency("flt-a", "SELF_RELIANCE").await;
    let b = srv.agency("flt-b", "DISABILITY").await;
    let (_, ta) = srv.account("flt-a-cw", &a, &["caseworker"]).await;
    let (_, tb) = srv.account("flt-b-cw", &b, &["caseworker"]).await;
    let p = srv
        .person(&ta, person_input("松本", "和子", "マツモト", "カズコ"))
        .await;
    srv.consent(
        &ta,
        tsunagi_tests::consent_input(&p, &["IDENTITY"], &[&b], &[]),
    )
    .await;
    let read = "query($p: ID!) { person(id: $p) { familyName } }";
    srv.gql(&ta, read, json!({ "p": p })).await.ok();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    srv.gql(&tb, read, json!({ "p": p })).await.ok();
    // Rows nobody asked about, so that the filters have something to leave out.
    some_history(srv).await;

    let q = "query($p: ID, $ag: ID, $b: BasisKind, $f: DateTime, $u: DateTime) { auditEvents(personId: $p, agencyId: $ag, basis: $b, from: $f, until: $u, first: 100) { nodes { agencyId bases at action } } }";
    let rows = |v: serde_json::Value| async move {
        let r = srv.gql(&srv.admin_token, q, v).await;
        r.ok()["auditEvents"]["nodes"].as_array().unwrap().clone()
    };
    let by_b = rows(json!({ "ag": b })).await;
    assert!(!by_b.is_empty());
    assert!(by_b.iter().all(|e| e["agencyId"] == b.as_str()), "{by_b:?}");
    let ledger = srv.ledger().await;
    assert_eq!(
        by_b.len(),
        ledger
            .iter()
            .filter(|e| e.agency_id.as_deref() == Some(b.as_str()))
            .count(),
        "every row of B's"
    );
    let consent = rows(json!({ "p": p, "b": "CONSENT" })).await;
    assert_eq!(consent.len(), 1, "B's one read on the consent: {consent:?}");
    assert_eq!(consent[0]["agencyId"], b.as_str());
    let own = rows(json!({ "p": p, "b": "OWN" })).await;
    assert!(
        !own.is_empty()
            && own
                .iter()
                .all(|e| e["agencyId"] == a.as_str() && e["bases"].to_string().contains("\"OWN\"")),
        "{own:?}"
    );
    let after = rows(json!({ "p": p, "f": between.to_rfc3339() })).await;
    let at = |e: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap()
    };
    assert!(after.iter().all(|e| at(e) >= between), "{after:?}");
    assert!(
        after.iter().any(|e| e["agencyId"] == b.as_str())
            && !after.iter().any(|e| e["agencyId"] == a.as_str()),
        "{after:?}"
    );
    let before = rows(json!({ "p": p, "u": between.to_rfc3339() })).await;
    assert!(
        !before.is_empty() && before.iter().all(|e| e["agencyId"] == a.as_str()),
        "{before:?}"
    );
    let wrong = srv
        .gql(&srv.admin_token, q, json!({ "f": between.to_rfc3339(), "u": (between - chrono::Duration::hours(1)).to_rfc3339() }))
        .await;
    assert_eq!(
        wrong.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "until"
    );
}
