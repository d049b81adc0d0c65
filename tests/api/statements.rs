//! The household overview (bench/queries/household_overview.graphql) runs a fixed number of
//! SQL statements, however many members, consultations and consents the household has, and
//! at most six besides the ledger append: the account with its agency, the household with
//! its members, the persons with all their policy facts and consent records, the
//! consultations with their subjects, issues and the agencies named, the cases with their
//! plans, each in one statement; the request's ledger rows are written in one insert. Checked by counting the statements the server's connection
//! runs for the request (sea-orm's metric callback), for a one-member household and for a
//! six-member one whose members each have more than five consultations and several consents
//! (in force, withdrawn, naming other agencies), as a caseworker whose access is mixed: own
//! records, consent, narrower consent, and a withdrawn consent.

use crate::cases;
use serde_json::{json, Value};
use tsunagi_tests::{
    consent_input, person_input, split_ledger, tests, Gql, Server, HOUSEHOLD_OVERVIEW,
};

tests!(household_overview_statements_do_not_grow);

const RECORD: &str =
    "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }";

async fn consult(srv: &Server, tok: &str, person: &str, n: usize) {
    for i in 0..n {
        srv.gql(
            tok,
            RECORD,
            json!({ "i": { "receivedAt": format!("2026-10-0{}T09:00:00Z", i + 1), "channel": "VISIT",
                "subjectPersonIds": [person],
                "issues": [{ "code": "HIKIKOMORI", "main": true }],
                "summary": format!("相談 {i}"), "urgency": "NORMAL" } }),
        )
        .await
        .ok();
    }
}

/// Record a consent and withdraw it at once.
async fn withdrawn(srv: &Server, tok: &str, input: Value) {
    let (id, v) = srv.consent(tok, input).await;
    srv.gql(
        tok,
        "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id } }",
        json!({ "id": id, "v": v }),
    )
    .await
    .ok();
}

/// Consultations per member: more than the overview's `first: 5`.
const CONSULTATIONS: usize = 7;

/// A case on the household with one plan version.
async fn case_with_plan(srv: &Server, tok: &str, household: &str, agency: &str) {
    let (case, _) = cases::open(srv, tok, household).await;
    cases::create_plan(srv, tok, &case, "2099-01-01", &[agency])
        .await
        .ok();
}

fn member_of<'a>(r: &'a Gql, person: &str) -> &'a Value {
    r.data()["household"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["person"]["id"] == person)
        .unwrap_or_else(|| panic!("member {person} not shown"))
}

fn consultation_count(m: &Value) -> usize {
    m["person"]["consultations"].as_array().unwrap().len()
}

/// (consent state, recipient agency ids) of a member's consents as shown.
fn consents_of(m: &Value) -> Vec<(String, Vec<String>)> {
    m["person"]["consents"]
        .as_array()
        .unwrap_or_else(|| panic!("no consents: {m}"))
        .iter()
        .map(|c| {
            (
                c["state"].as_str().unwrap().to_owned(),
                c["recipientAgencies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["id"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

async fn household_overview_statements_do_not_grow(srv: &Server) {
    let a = srv.agency("ov-a", "DISABILITY").await;
    let b = srv.agency("ov-b", "MULTI_AGENCY").await;
    let (_, a_cw) = srv.account("ov-a-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("ov-b-cw", &b, &["caseworker"]).await;
    let (_, b_coord) = srv.account("ov-b-coord", &b, &["coordinator"]).await;
    let c = srv.agency("ov-c", "CHILD_FAMILY").await;

    // Small: one own person with three consents (to A, to C, and a withdrawn one), more
    // consultations than the overview shows, a case with a plan.
    let s1 = srv
        .person(&b_cw, person_input("小林", "一", "コバヤシ", "ハジメ"))
        .await;
    srv.consent(
        &b_cw,
        consent_input(&s1, &["IDENTITY", "HOUSEHOLD"], &[&a], &[]),
    )
    .await;
    srv.consent(&b_cw, consent_input(&s1, &["IDENTITY"], &[&c], &[]))
        .await;
    withdrawn(srv, &b_cw, consent_input(&s1, &["NARRATIVE"], &[&a], &[])).await;
    let small = srv.household(&b_cw, &[&s1]).await;
    consult(srv, &b_cw, &s1, CONSULTATIONS).await;
    case_with_plan(srv, &b_coord, &small, &b).await;

    // Large: two own persons (each with consents to A and to C, and a withdrawn one); two
    // of agency A with a broad consent to B (and one to C only, and a withdrawn one to B);
    // one with a consent to B for IDENTITY and HOUSEHOLD only (and one to C); one whose
    // consent was withdrawn after B put them in the household. Seven consultations each,
    // recorded by their own agencies.
    let own1 = srv
        .person(&b_cw, person_input("田中", "太郎", "タナカ", "タロウ"))
        .await;
    let own2 = srv
        .person(&b_cw, person_input("田中", "花子", "タナカ", "ハナコ"))
        .await;
    for p in [&own1, &own2] {
        srv.consent(
            &b_cw,
            consent_input(p, &["IDENTITY", "NARRATIVE"], &[&a], &[]),
        )
        .await;
        srv.consent(&b_cw, consent_input(p, &["IDENTITY"], &[&c], &[]))
            .await;
        withdrawn(srv, &b_cw, consent_input(p, &["HEALTH"], &[&a, &c], &[])).await;
    }
    let mut broad = Vec::new();
    for given in ["次郎", "三郎"] {
        let p = srv
            .person(&a_cw, person_input("田中", given, "タナカ", "ジロウ"))
            .await;
        srv.consent(
            &a_cw,
            consent_input(
                &p,
                &[
                    "IDENTITY",
                    "CONTACT",
                    "HOUSEHOLD",
                    "HEALTH",
                    "LIVELIHOOD",
                    "NARRATIVE",
                    "PLAN",
                ],
                &[&b],
                &[],
            ),
        )
        .await;
        srv.consent(
            &a_cw,
            consent_input(&p, &["IDENTITY", "HEALTH"], &[&c], &[]),
        )
        .await;
        withdrawn(srv, &a_cw, consent_input(&p, &["PLAN"], &[&b, &c], &[])).await;
        broad.push(p);
    }
    let narrow = srv
        .person(&a_cw, person_input("田中", "四郎", "タナカ", "シロウ"))
        .await;
    srv.consent(
        &a_cw,
        consent_input(&narrow, &["IDENTITY", "HOUSEHOLD"], &[&b], &[]),
    )
    .await;
    srv.consent(&a_cw, consent_input(&narrow, &["IDENTITY"], &[&c], &[]))
        .await;
    let gone = srv
        .person(&a_cw, person_input("田中", "五郎", "タナカ", "ゴロウ"))
        .await;
    let (gone_consent, gone_v) = srv
        .consent(
            &a_cw,
            consent_input(&gone, &["IDENTITY", "HOUSEHOLD"], &[&b], &[]),
        )
        .await;
    let large = srv
        .household(&b_cw, &[&own1, &own2, &broad[0], &broad[1], &narrow, &gone])
        .await;
    srv.gql(
        &a_cw,
        "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id } }",
        json!({ "id": gone_consent, "v": gone_v }),
    )
    .await
    .ok();
    for p in [&own1, &own2] {
        consult(srv, &b_cw, p, CONSULTATIONS).await;
    }
    for p in [&broad[0], &broad[1], &narrow, &gone] {
        consult(srv, &a_cw, p, CONSULTATIONS).await;
    }
    case_with_plan(srv, &b_coord, &large, &b).await;

    let (rs, small_sql) = srv
        .gql_counted(&b_cw, HOUSEHOLD_OVERVIEW, json!({ "id": small }))
        .await;
    let (rl, large_sql) = srv
        .gql_counted(&b_cw, HOUSEHOLD_OVERVIEW, json!({ "id": large }))
        .await;

    // What the small overview shows.
    let m = member_of(&rs, &s1);
    assert_eq!(m["person"]["familyName"], "小林");
    assert_eq!(m["person"]["careLevel"], "要介護2");
    assert_eq!(consultation_count(m), 5, "the five most recent");
    assert_eq!(
        m["person"]["consultations"][0]["receivedAt"],
        format!("2026-10-0{CONSULTATIONS}T09:00:00Z"),
        "newest first"
    );
    // B registered the person: every consent, every recipient.
    assert_eq!(
        consents_of(m),
        vec![
            ("ACTIVE".to_owned(), vec![a.clone()]),
            ("ACTIVE".to_owned(), vec![c.clone()]),
            ("WITHDRAWN".to_owned(), vec![a.clone()]),
        ]
    );
    assert_eq!(rs.ok()["supportCases"].as_array().unwrap().len(), 1);
    assert_eq!(
        rs.ok()["supportCases"][0]["currentPlan"]["wishes"],
        "家で母と暮らし続けたい"
    );

    // What the large one shows and withholds.
    let data = rl.data();
    let members = data["household"]["members"].as_array().unwrap();
    assert_eq!(
        members.len(),
        6,
        "every membership is in B's own household record"
    );
    for p in [&own1, &own2, &broad[0], &broad[1]] {
        let m = member_of(&rl, p);
        assert_eq!(m["person"]["familyName"], "田中");
        assert_eq!(m["person"]["careLevel"], "要介護2");
        assert_eq!(consultation_count(m), 5, "{p}");
    }
    let mut ac = vec![a.clone(), c.clone()];
    ac.sort();
    for p in [&own1, &own2] {
        assert_eq!(
            consents_of(member_of(&rl, p)),
            vec![
                ("ACTIVE".to_owned(), vec![a.clone()]),
                ("ACTIVE".to_owned(), vec![c.clone()]),
                ("WITHDRAWN".to_owned(), ac.clone()),
            ],
            "B's own person: every consent"
        );
    }
    for p in [&broad[0], &broad[1]] {
        assert_eq!(
            consents_of(member_of(&rl, p)),
            vec![
                ("ACTIVE".to_owned(), vec![b.clone()]),
                ("WITHDRAWN".to_owned(), vec![b.clone()]),
            ],
            "A's person: only the consents naming B, with only B among the recipients"
        );
    }
    let at = |id: &str| {
        members
            .iter()
            .position(|m| m["person"]["id"] == id)
            .unwrap_or_else(|| panic!("member {id} not shown: {}", rl.body))
    };
    let n = json!(at(&narrow));
    let m = &members[at(&narrow)];
    assert_eq!(m["person"]["givenName"], "四郎");
    rl.assert_withheld(
        &[
            json!("household"),
            json!("members"),
            n.clone(),
            json!("person"),
            json!("careLevel"),
        ],
        "HEALTH",
    );
    rl.assert_withheld(
        &[
            json!("household"),
            json!("members"),
            n,
            json!("person"),
            json!("phone"),
        ],
        "CONTACT",
    );
    assert_eq!(consultation_count(m), 0, "NARRATIVE not consented");
    assert_eq!(
        consents_of(m),
        vec![("ACTIVE".to_owned(), vec![b.clone()])],
        "not the consent naming C only"
    );
    let hidden: Vec<usize> = (0..members.len())
        .filter(|i| members[*i]["person"].is_null())
        .collect();
    assert_eq!(
        hidden.len(),
        1,
        "the person whose consent was withdrawn: {}",
        rl.body
    );
    rl.assert_withheld(
        &[
            json!("household"),
            json!("members"),
            json!(hidden[0]),
            json!("person"),
        ],
        "IDENTITY",
    );
    let body = rl.body.to_string();
    assert!(!body.contains("五郎") && !body.contains(gone.as_str()));
    assert_eq!(data["supportCases"].as_array().unwrap().len(), 1);

    // The statements: the same number of reads for both, and the ledger append the same
    // whatever the size. The group commit reads the chain's tail only when it does not know
    // it, and its insert is refused once when a write appended since its last group (then
    // it reads the tail and inserts again), so the append is one or two inserts and the
    // tail read is not one of the request's reads.
    let (s_reads, s_ledger) = split_ledger(&small_sql);
    let (l_reads, l_ledger) = split_ledger(&large_sql);
    let reads = |sql: &[String]| sql.iter().filter(|s| !ledger_append(s)).count();
    eprintln!(
        "household overview: {} reads and {l_ledger} ledger insert(s)",
        reads(&large_sql)
    );
    assert!(
        (1..=2).contains(&s_ledger) && (1..=2).contains(&l_ledger),
        "reads are ledgered, in one insert (two after a write): {s_ledger}, {l_ledger}"
    );
    assert_eq!(
        reads(&large_sql),
        reads(&small_sql),
        "statements per overview must not grow with the household ({s_reads} and {l_reads} \
         with the ledger).\nsmall:\n{}\nlarge:\n{}",
        small_sql.join("\n"),
        large_sql.join("\n")
    );

    // At most six reads besides the ledger append: the account with its agency, the
    // household with its members, the persons with their policy facts, the consultations
    // with their subjects, issues and agencies, the cases with their plans (five today).
    let reads: Vec<&String> = large_sql.iter().filter(|s| !ledger_append(s)).collect();
    assert!(
        reads.len() <= 6,
        "{} reads besides the ledger append:\n{}",
        reads.len(),
        large_sql.join("\n")
    );
    assert!(
        reads[0].contains("\"account\"") && reads[0].contains("\"agency\""),
        "the account with its agency in one statement: {}",
        reads[0]
    );
}

/// A statement of the ledger append: the chain lock (PostgreSQL), the chain's tail, the
/// insert.
fn ledger_append(sql: &str) -> bool {
    sql.contains("pg_advisory_xact_lock") || sql.contains("FROM \"audit_event\"") || {
        let (_, inserts) = split_ledger(&[sql.to_owned()]);
        inserts == 1
    }
}
