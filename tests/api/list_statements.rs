//! Lists run a fixed number of SQL statements per request, however long the page: what each
//! row needs (household members, memberships, issues, agencies, a case's decisions and
//! plans, the persons' policy facts) is loaded in one batch for the page, not once per row.
//! Each test asks the same list for a small page (2 rows) and a large one (12 rows) over the
//! same data, as a caller whose access is mixed (own records, consents of different breadth,
//! records it may not see at all), and compares the statements the server ran. The pages
//! are built so that the small one already holds every kind of row the large one does.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, split_ledger, tests, Gql, Server};

use crate::cases;

tests!(
    households_list_statements_do_not_grow,
    persons_list_statements_do_not_grow,
    consultations_list_statements_do_not_grow,
    case_lists_statements_do_not_grow,
    external_refs_on_lists_cost_one_statement_per_request,
);

const SMALL: usize = 2;
const LARGE: usize = 12;

/// Run `query` with `$n` = SMALL and LARGE; check both answered with `n` rows at `list` and
/// that the large page ran no more statements than the small one. Returns both answers.
async fn compare(
    srv: &Server,
    tok: &str,
    what: &str,
    query: &str,
    vars: Value,
    list: &[&str],
) -> (Gql, Gql) {
    let mut answers = Vec::new();
    let mut counts = Vec::new();
    for n in [SMALL, LARGE] {
        let mut v = vars.clone();
        v["n"] = json!(n);
        let (r, sql) = srv.gql_counted(tok, query, v).await;
        let rows = list
            .iter()
            .fold(r.data(), |d, k| &d[*k])
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no list at {list:?}: {}", r.body))
            .len();
        assert_eq!(rows, n, "{what}: page of {n}: {}", r.body);
        counts.push(sql);
        answers.push(r);
    }
    let (small, large) = (split_ledger(&counts[0]), split_ledger(&counts[1]));
    assert!(small.1 >= 1 && large.1 >= 1, "{what}: reads are ledgered");
    assert_no_growth(what, &counts[0], &counts[1]);
    let large_answer = answers.pop().unwrap();
    (answers.pop().unwrap(), large_answer)
}

/// The large request ran no more statements, and no more ledger inserts, than the small one
/// (both printed, and both listed when it did).
fn assert_no_growth(what: &str, small_sql: &[String], large_sql: &[String]) {
    let (small, large) = (split_ledger(small_sql), split_ledger(large_sql));
    eprintln!(
        "{what}: {} statements and {} ledger insert(s) for {SMALL} rows, {} and {} for {LARGE}",
        small.0, small.1, large.0, large.1
    );
    assert!(
        large.0 <= small.0 && large.1 <= small.1,
        "{what}: statements must not grow with the rows ({small:?} for {SMALL}, {large:?} \
         for {LARGE}).\nsmall:\n{}\nlarge:\n{}",
        small_sql.join("\n"),
        large_sql.join("\n")
    );
}

struct World {
    a: String,
    b: String,
    a_cw: String,
    b_cw: String,
    b_coord: String,
}

async fn world(srv: &Server) -> World {
    let a = srv.agency("ls-a", "DISABILITY").await;
    let b = srv.agency("ls-b", "MULTI_AGENCY").await;
    let (_, a_cw) = srv.account("ls-a-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("ls-b-cw", &b, &["caseworker"]).await;
    let (_, b_coord) = srv.account("ls-b-coord", &b, &["coordinator"]).await;
    World {
        a,
        b,
        a_cw,
        b_cw,
        b_coord,
    }
}

const KANA: [&str; 12] = [
    "イチ",
    "ニ",
    "サン",
    "シ",
    "ゴ",
    "ロク",
    "ナナ",
    "ハチ",
    "ク",
    "ジュウ",
    "ジュウイチ",
    "ジュウニ",
];

/// Twelve households, alternating: even ones are B's (a B person, and an A person with a
/// broad consent to B); odd ones are A's (an A person consenting to B for IDENTITY and
/// HOUSEHOLD only, and an A person B may not know at all). Returns the households and,
/// per household, the persons B may know.
async fn households_world(srv: &Server, w: &World) -> (Vec<String>, Vec<Vec<String>>) {
    let mut households = Vec::new();
    let mut known = Vec::new();
    for (i, given) in KANA.iter().enumerate() {
        if i % 2 == 0 {
            let own = srv
                .person(&w.b_cw, person_input("田中", given, "タナカ", given))
                .await;
            let other = srv
                .person(&w.a_cw, person_input("田中", given, "タナカ", given))
                .await;
            srv.consent(
                &w.a_cw,
                consent_input(
                    &other,
                    &[
                        "IDENTITY",
                        "CONTACT",
                        "HOUSEHOLD",
                        "NARRATIVE",
                        "HEALTH",
                        "LIVELIHOOD",
                        "PLAN",
                    ],
                    &[&w.b],
                    &[],
                ),
            )
            .await;
            households.push(srv.household(&w.b_cw, &[&own, &other]).await);
            known.push(vec![own, other]);
        } else {
            let narrow = srv
                .person(&w.a_cw, person_input("田中", given, "タナカ", given))
                .await;
            srv.consent(
                &w.a_cw,
                consent_input(&narrow, &["IDENTITY", "HOUSEHOLD"], &[&w.b], &[]),
            )
            .await;
            let unknown = srv
                .person(&w.a_cw, person_input("佐藤", given, "サトウ", given))
                .await;
            households.push(srv.household(&w.a_cw, &[&narrow, &unknown]).await);
            known.push(vec![narrow]);
        }
    }
    (households, known)
}

const HOUSEHOLDS: &str = "query($n: Int!) { households(first: $n) { nodes { id version
    ownerAgency { id name }
    members { id relationship isHead joinedOn person { id familyName givenName
        households { id householdId relationship isHead } } } } } }";

async fn households_list_statements_do_not_grow(srv: &Server) {
    let w = world(srv).await;
    let (households, known) = households_world(srv, &w).await;
    let (small, large) = compare(
        srv,
        &w.b_cw,
        "households",
        HOUSEHOLDS,
        json!({}),
        &["households", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        let nodes = r.data()["households"]["nodes"].as_array().unwrap();
        for (i, h) in nodes.iter().enumerate() {
            assert_eq!(h["id"], households[i], "{}", r.body);
            let members = h["members"].as_array().unwrap();
            let ids: Vec<&str> = members
                .iter()
                .map(|m| m["person"]["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, known[i], "only the memberships B may see: {}", r.body);
            if i % 2 == 0 {
                assert_eq!(h["ownerAgency"]["id"], w.b);
                for m in members {
                    let own = m["person"]["households"].as_array().unwrap();
                    assert_eq!(own.len(), 1);
                    assert_eq!(own[0]["householdId"], households[i]);
                }
            } else {
                // Which agency holds it is NARRATIVE of every member: not consented.
                assert!(h["ownerAgency"].is_null(), "{}", r.body);
                r.assert_withheld(
                    &[
                        json!("households"),
                        json!("nodes"),
                        json!(i),
                        json!("ownerAgency"),
                    ],
                    "NARRATIVE",
                );
            }
        }
        let body = r.body.to_string();
        assert!(!body.contains("佐藤"), "a person B may not know: {body}");
    }
}

const PERSONS_BENCH: &str = "query($kana: String!, $n: Int!) { persons(kana: $kana, first: $n) {
    nodes { id familyName givenName familyNameKana givenNameKana birthDate district } } }";

const PERSONS: &str = "query($kana: String!, $n: Int!) { persons(kana: $kana, first: $n) {
    nodes { id familyName givenName district careLevel ownerAgency { id }
        households { id householdId relationship isHead joinedOn
            person { id givenName } } } } }";

async fn persons_list_statements_do_not_grow(srv: &Server) {
    let w = world(srv).await;
    let (households, known) = households_world(srv, &w).await;
    let kana = json!({ "kana": "タナカ" });
    let (small, large) = compare(
        srv,
        &w.b_cw,
        "persons (benchmark)",
        PERSONS_BENCH,
        kana.clone(),
        &["persons", "nodes"],
    )
    .await;
    // B's own person and the broadly consenting one first (the even household).
    for r in [&small, &large] {
        let nodes = r.data()["persons"]["nodes"].as_array().unwrap();
        assert_eq!(nodes[0]["id"], known[0][0]);
        assert_eq!(nodes[1]["id"], known[0][1]);
        assert_eq!(nodes[0]["district"], "中央圏域");
    }
    let (small, large) = compare(
        srv,
        &w.b_cw,
        "persons with households",
        PERSONS,
        kana,
        &["persons", "nodes"],
    )
    .await;
    let order: Vec<(usize, &String)> = known
        .iter()
        .enumerate()
        .flat_map(|(h, ps)| ps.iter().map(move |p| (h, p)))
        .collect();
    for r in [&small, &large] {
        let nodes = r.data()["persons"]["nodes"].as_array().unwrap();
        for (i, p) in nodes.iter().enumerate() {
            let (h, id) = order[i];
            assert_eq!(&p["id"], id, "{}", r.body);
            let memberships = p["households"].as_array().unwrap();
            assert_eq!(memberships.len(), 1, "{}", r.body);
            assert_eq!(memberships[0]["householdId"], households[h]);
            assert_eq!(memberships[0]["person"]["id"], *id);
        }
        // The narrowly consenting persons (odd households): no HEALTH, no CONTACT.
        let narrow = order.iter().position(|(h, _)| h % 2 == 1).unwrap();
        if narrow < nodes.len() {
            assert!(nodes[narrow]["careLevel"].is_null());
            r.assert_withheld(
                &[
                    json!("persons"),
                    json!("nodes"),
                    json!(narrow),
                    json!("careLevel"),
                ],
                "HEALTH",
            );
        }
    }
}

const RECORD: &str =
    "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }";

const CONSULTATIONS_BENCH: &str = "query($agency: ID!, $n: Int!) {
    consultations(receivingAgencyId: $agency, first: $n) { nodes { id receivedAt channel urgency
      status summary subjects { id familyName givenName } issues { main category { code } } } } }";

const CONSULTATIONS: &str = "query($until: DateTime!, $n: Int!) {
    consultations(receivedUntil: $until, first: $n) { nodes { id summary
    receivingAgency { id name kind }
    subjects { id familyName careLevel households { id householdId } }
    issues { main category { code policyCategory } }
    household { id ownerAgency { id } members { id person { id } } } } } }";

async fn consultations_list_statements_do_not_grow(srv: &Server) {
    let w = world(srv).await;
    let c = srv.agency("ls-c", "CHILD_FAMILY").await;
    let (_, c_cw) = srv.account("ls-c-cw", &c, &["caseworker"]).await;
    let (households, known) = households_world(srv, &w).await;
    // A person of A's no one else may know: a co-subject B may not see.
    let hidden = srv
        .person(&w.a_cw, person_input("佐藤", "秘", "サトウ", "ヒ"))
        .await;
    // Twelve consultations received by A, newest first in creation order, about a broadly
    // consenting person; every other one also about a person B may not know (so its summary
    // and issues are withheld). Then, older, a mix for the unfiltered list: B's own about its
    // household, A's about a broad and a narrow person and their (A's) household, A's about
    // a broad person alone; and C's, which B may not know at all.
    let mut at = 0;
    let mut record = |tok: String, subjects: Vec<String>, household: Option<String>| {
        at += 1;
        let when = format!("2026-10-01T23:{:02}:00Z", 59 - at);
        async move {
            let r = srv
                .gql(
                    &tok,
                    RECORD,
                    json!({ "i": { "receivedAt": when, "channel": "VISIT",
                        "subjectPersonIds": subjects, "householdId": household,
                        "issues": [{ "code": "HIKIKOMORI", "main": true }, { "code": "DEBT" }],
                        "summary": "相談の要約", "urgency": "NORMAL" } }),
                )
                .await;
            r.ok()["recordConsultation"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    for i in 0..LARGE {
        let broad = known[(i / 2) * 2][1].clone();
        let subjects = if i % 2 == 0 {
            vec![broad]
        } else {
            vec![broad, hidden.clone()]
        };
        record(w.a_cw.clone(), subjects, None).await;
    }
    for i in 0..LARGE {
        let even = (i / 2) * 2;
        let odd = even + 1;
        let broad = known[even][1].clone();
        match i % 3 {
            0 => {
                let subjects = vec![broad, known[odd][0].clone()];
                record(w.a_cw.clone(), subjects, Some(households[odd].clone())).await
            }
            1 => {
                let h = Some(households[even].clone());
                record(w.b_cw.clone(), known[even].clone(), h).await
            }
            _ => record(w.a_cw.clone(), vec![broad], None).await,
        };
        let p = srv
            .person(&c_cw, person_input("鈴木", "三", "スズキ", "サン"))
            .await;
        record(c_cw.clone(), vec![p], None).await;
    }
    // The unfiltered list starts after the first twelve.
    let until = format!("2026-10-01T23:{:02}:00Z", 59 - LARGE);

    let (small, large) = compare(
        srv,
        &w.b_cw,
        "consultations (benchmark)",
        CONSULTATIONS_BENCH,
        json!({ "agency": w.a }),
        &["consultations", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        let nodes = r.data()["consultations"]["nodes"].as_array().unwrap();
        for (i, n) in nodes.iter().enumerate() {
            assert_eq!(n["subjects"].as_array().unwrap().len(), 1, "{}", r.body);
            if i % 2 == 0 {
                assert_eq!(n["summary"], "相談の要約");
                assert_eq!(n["issues"].as_array().unwrap().len(), 2);
            } else {
                // A co-subject without a basis: the summary and issues are withheld.
                assert!(n["summary"].is_null(), "{}", r.body);
                assert_eq!(n["issues"].as_array().unwrap().len(), 0);
            }
        }
        let body = r.body.to_string();
        assert!(!body.contains("佐藤") && !body.contains(hidden.as_str()));
    }
    let (small, large) = compare(
        srv,
        &w.b_cw,
        "consultations",
        CONSULTATIONS,
        json!({ "until": until }),
        &["consultations", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        let body = r.body.to_string();
        assert!(!body.contains("佐藤") && !body.contains("鈴木"), "{body}");
        for n in r.data()["consultations"]["nodes"].as_array().unwrap() {
            assert_ne!(n["receivingAgency"]["id"], c);
        }
    }
}

const MY_CASES: &str = "query($n: Int!) { myCases(first: $n) { nodes { id status
    ownerAgency { id }
    decisions { id kind basis note }
    supportDecision { id basis }
    involvements { id role agency { id name } }
    plans { id planVersion wishes assignments { id task agency { id } } }
    currentPlan { id planVersion wishes longTermGoal nextReviewOn
        assignments { id task contactFrequency agency { id } } } } } }";

const SUPPORT_CASES: &str = "query($h: ID!) { supportCases(householdId: $h) { id status
    ownerAgency { id }
    decisions { id kind basis reason note }
    supportDecision { id basis }
    plans { id planVersion wishes assignments { id task } }
    currentPlan { id wishes assignments { id task agency { id } } } } }";

/// Open a case on the household, with a 支援決定, the last agency's involvement and two plan
/// versions; returns (id, version).
async fn case(srv: &Server, tok: &str, household: &str, agencies: &[&str]) -> (String, i64) {
    let (id, _) = cases::open(srv, tok, household).await;
    srv.gql(
        tok,
        "mutation($id: ID!, $i: SupportDecisionInput!) { recordSupportDecision(caseId: $id, input: $i) { id } }",
        json!({ "id": id, "i": { "decidedOn": "2026-10-02", "decider": "福祉課長", "basis": "支援会議で決定" } }),
    )
    .await
    .ok();
    srv.gql(
        tok,
        "mutation($id: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $id, input: $i) { id } }",
        json!({ "id": id, "i": { "agencyId": agencies[agencies.len() - 1], "role": "SUPPORTING",
            "startedOn": "2026-10-02" } }),
    )
    .await
    .ok();
    for v in 0..2 {
        let assignments: Vec<Value> = agencies
            .iter()
            .enumerate()
            .map(|(i, a)| {
                json!({ "agencyId": a, "role": if i == 0 { "LEAD" } else { "SUPPORTING" },
                "task": format!("訪問 {v}"), "contactFrequency": "月1回" })
            })
            .collect();
        srv.gql(
            tok,
            "mutation($id: ID!, $i: PlanInput!) { createPlanVersion(caseId: $id, input: $i) { id } }",
            json!({ "id": id, "i": { "wishes": format!("思い {v}"), "longTermGoal": "地域につながる",
                "shortTermGoals": ["週1回外出する"], "nextReviewOn": "2099-01-01",
                "assignments": assignments } }),
        )
        .await
        .ok();
    }
    (id.clone(), cases::state(srv, tok, &id).await.1)
}

async fn case_lists_statements_do_not_grow(srv: &Server) {
    let w = world(srv).await;
    let c = srv.agency("ls-c", "CHILD_FAMILY").await;
    let (_, c_cw) = srv.account("ls-c-cw", &c, &["caseworker"]).await;
    // Twelve households of B: B's person and an A person, who consents to B (broadly for
    // the even households, IDENTITY and HOUSEHOLD only for the odd ones) and to C for
    // IDENTITY, HOUSEHOLD and PLAN. B's cases are B's own (OWN for all of it); C sees them
    // through one member's consent, so their content (PLAN of every member) is withheld.
    let mut households = Vec::new();
    for (i, given) in KANA.iter().enumerate() {
        let own = srv
            .person(&w.b_cw, person_input("田中", given, "タナカ", given))
            .await;
        let other = srv
            .person(&w.a_cw, person_input("田中", given, "タナカ", given))
            .await;
        let cats: &[&str] = if i % 2 == 0 {
            &["IDENTITY", "HOUSEHOLD", "NARRATIVE", "PLAN"]
        } else {
            &["IDENTITY", "HOUSEHOLD"]
        };
        srv.consent(&w.a_cw, consent_input(&other, cats, &[&w.b], &[]))
            .await;
        srv.consent(
            &w.a_cw,
            consent_input(&other, &["IDENTITY", "HOUSEHOLD", "PLAN"], &[&c], &[]),
        )
        .await;
        households.push(srv.household(&w.b_cw, &[&own, &other]).await);
    }
    for h in &households {
        case(srv, &w.b_coord, h, &[&w.b, &w.a]).await;
    }
    let (small, large) = compare(
        srv,
        &w.b_coord,
        "myCases",
        MY_CASES,
        json!({}),
        &["myCases", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        for n in r.data()["myCases"]["nodes"].as_array().unwrap() {
            assert_eq!(n["plans"].as_array().unwrap().len(), 2, "{}", r.body);
            assert_eq!(n["decisions"].as_array().unwrap().len(), 1);
            assert_eq!(n["currentPlan"]["planVersion"], 2);
            assert_eq!(n["currentPlan"]["wishes"], "思い 1");
            assert_eq!(n["plans"][1]["wishes"], "思い 0");
            assert_eq!(n["supportDecision"]["basis"], "支援会議で決定");
            assert_eq!(n["currentPlan"]["assignments"].as_array().unwrap().len(), 2);
            assert_eq!(n["currentPlan"]["assignments"][1]["agency"]["id"], w.a);
            assert_eq!(n["involvements"][0]["agency"]["id"], w.a);
        }
    }

    // One household's cases: two, then twelve (each closed before the next is opened).
    for (h, n) in [(&households[0], SMALL), (&households[1], LARGE)] {
        for k in 0..n {
            // The household's open case from above first.
            let (id, version) = if k == 0 {
                let r = srv
                    .gql(
                        &w.b_coord,
                        "query($h: ID!) { supportCases(householdId: $h) { id version } }",
                        json!({ "h": h }),
                    )
                    .await;
                let c = &r.ok()["supportCases"][0];
                (
                    c["id"].as_str().unwrap().to_owned(),
                    c["version"].as_i64().unwrap(),
                )
            } else {
                case(srv, &w.b_coord, h, &[&w.b, &w.a]).await
            };
            // A case conference on each case, which decides the closure of all but the last.
            let r = srv
                .gql(
                    &w.b_coord,
                    "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }",
                    json!({ "i": { "kind": "CASE_CONFERENCE", "householdId": h, "caseId": id,
                        "heldAt": "2026-10-03T10:00:00Z", "participantAgencyIds": [w.a],
                        "categories": ["PLAN"] } }),
                )
                .await;
            let meeting = r.ok()["createMeeting"]["id"].as_str().unwrap().to_owned();
            if k + 1 < n {
                srv.gql(
                    &w.b_coord,
                    "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { closeCase(id: $id, version: $v, decision: $d) { id } }",
                    json!({ "id": id, "v": version, "d": { "decidedOn": "2026-10-03", "decider": "福祉課長",
                        "reason": "GOAL_ACHIEVED", "note": "終結の備考", "meetingId": meeting } }),
                )
                .await
                .ok();
            }
        }
    }
    for (who, tok) in [("B", &w.b_coord), ("C", &c_cw)] {
        let mut counts = Vec::new();
        for (h, n) in [(&households[0], SMALL), (&households[1], LARGE)] {
            let (r, sql) = srv.gql_counted(tok, SUPPORT_CASES, json!({ "h": h })).await;
            let cases = r.data()["supportCases"].as_array().unwrap();
            assert_eq!(cases.len(), n, "{}", r.body);
            for (i, k) in cases.iter().enumerate() {
                assert_eq!(k["plans"].as_array().unwrap().len(), 2, "{}", r.body);
                // Newest first: all but the open one were closed.
                let decisions = if i == 0 { 1 } else { 2 };
                assert_eq!(k["decisions"].as_array().unwrap().len(), decisions);
                if who == "B" {
                    assert_eq!(k["currentPlan"]["wishes"], "思い 1");
                    assert_eq!(k["currentPlan"]["assignments"][0]["agency"]["id"], w.b);
                } else {
                    assert!(k["currentPlan"]["wishes"].is_null(), "{}", r.body);
                    assert!(k["currentPlan"]["assignments"].is_null());
                    r.assert_withheld(
                        &[
                            json!("supportCases"),
                            json!(i),
                            json!("currentPlan"),
                            json!("wishes"),
                        ],
                        "PLAN",
                    );
                }
            }
            counts.push(sql);
        }
        assert_no_growth(&format!("supportCases as {who}"), &counts[0], &counts[1]);
    }

    // The household's meetings (one per case), as the convener and as a participant.
    for (who, tok) in [("B", &w.b_coord), ("A", &w.a_cw)] {
        let mut counts = Vec::new();
        for (h, n) in [(&households[0], SMALL), (&households[1], LARGE)] {
            let (r, sql) = srv.gql_counted(tok, MEETINGS, json!({ "h": h })).await;
            let meetings = r.data()["meetings"].as_array().unwrap();
            assert_eq!(meetings.len(), n, "{}", r.body);
            let decided = meetings
                .iter()
                .filter(|m| !m["decisions"].as_array().unwrap().is_empty())
                .count();
            // A's caseworker may not see B's cases: their decisions are left out.
            let expected = if who == "B" { n - 1 } else { 0 };
            assert_eq!(decided, expected, "{}", r.body);
            counts.push(sql);
        }
        assert_no_growth(&format!("meetings as {who}"), &counts[0], &counts[1]);
    }
}

const MEETINGS: &str = "query($h: ID!) { meetings(householdId: $h) { id kind heldAt version
    convener { id } participants { id } categories inEffect minutes caseId
    decisions { id kind decidedOn reason }
    household { id ownerAgency { id } } } }";

/// Store agency `agency`'s reference `(system, id)` to a record of `record_type`, as the
/// agency's upsert would have stored it with the record.
async fn hold_ref(srv: &Server, agency: &str, record_type: &str, record: &str, id: &str) {
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};
    entity::external_ref::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        agency_id: Set(agency.to_owned()),
        record_type: Set(record_type.to_owned()),
        record_id: Set(record.to_owned()),
        system: Set("sys".to_owned()),
        external_id: Set(id.to_owned()),
        input_hash: Set(None),
        created_by: Set("ls".to_owned()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&srv.db)
    .await
    .expect("external reference");
}

/// Every node of the list at `list` shows exactly the caller's agency's reference `mine(id)`
/// and none of the other agency's (`theirs` is in no answer).
fn only_own_refs(r: &Gql, list: &[&str], sel: &str, mine: impl Fn(&str) -> String) {
    let nodes = list.iter().fold(r.data(), |d, k| &d[*k]);
    for n in nodes.as_array().unwrap() {
        let id = n["id"].as_str().unwrap();
        assert_eq!(
            n[sel],
            json!([{ "system": "sys", "externalId": mine(id) }]),
            "{}",
            r.body
        );
    }
    assert!(!r.body.to_string().contains("theirs-"), "{}", r.body);
}

const REFS_HOUSEHOLDS: &str = "query($n: Int!) { households(first: $n) { nodes { id
    externalRefs { system externalId }
    members { id person { id externalRefs { system externalId } } } } } }";

const REFS_PERSONS: &str = "query($kana: String!, $n: Int!) { persons(kana: $kana, first: $n) {
    nodes { id externalRefs { system externalId } } } }";

const REFS_CONSULTATIONS: &str = "query($agency: ID!, $n: Int!) {
    consultations(receivingAgencyId: $agency, first: $n) { nodes { id summary
      externalRefs { system externalId } subjects { id externalRefs { system externalId } } } } }";

const REFS_REFERRALS: &str = "query($n: Int!) { referrals(incoming: false, first: $n) {
    nodes { id reason externalRefs { system externalId } person { id } } } }";

const REFS_ACTIVITIES: &str = "query($p: ID!, $n: Int!) { activities(personId: $p, first: $n) {
    nodes { id note externalRefs { system externalId } } } }";

/// `externalRefs` on a list (and on the persons under its items) is read for the whole page
/// in one statement: a page of 12 runs no more statements than a page of 2. Every record
/// carries a reference of the caller's agency and one of another agency's; only the
/// caller's are shown.
async fn external_refs_on_lists_cost_one_statement_per_request(srv: &Server) {
    let w = world(srv).await;
    let (households, known) = households_world(srv, &w).await;
    for (h, persons) in households.iter().zip(&known) {
        for (record_type, id) in
            std::iter::once(("HOUSEHOLD", h)).chain(persons.iter().map(|p| ("PERSON", p)))
        {
            hold_ref(srv, &w.b, record_type, id, &format!("mine-{id}")).await;
            hold_ref(srv, &w.a, record_type, id, &format!("theirs-{id}")).await;
        }
    }
    let mine = |id: &str| format!("mine-{id}");
    let (small, large) = compare(
        srv,
        &w.b_cw,
        "households with externalRefs",
        REFS_HOUSEHOLDS,
        json!({}),
        &["households", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        only_own_refs(r, &["households", "nodes"], "externalRefs", mine);
        for h in r.data()["households"]["nodes"].as_array().unwrap() {
            for m in h["members"].as_array().unwrap() {
                let p = m["person"]["id"].as_str().unwrap();
                assert_eq!(m["person"]["externalRefs"][0]["externalId"], mine(p));
            }
        }
    }
    let (small, large) = compare(
        srv,
        &w.b_cw,
        "persons with externalRefs",
        REFS_PERSONS,
        json!({ "kana": "タナカ" }),
        &["persons", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        only_own_refs(r, &["persons", "nodes"], "externalRefs", mine);
    }

    // Twelve consultations B receives, about its own persons; twelve referrals A sends, about
    // the persons consenting broadly to B; twelve activities of A about one of them. Each
    // with the caller's reference (stored by the write itself for referrals and
    // activities) and the other agency's.
    for i in 0..LARGE {
        let own = &known[(i / 2) * 2][0];
        let r = srv
            .gql(
                &w.b_cw,
                RECORD,
                json!({ "i": { "receivedAt": format!("2026-10-01T10:{i:02}:00Z"),
                    "channel": "VISIT", "subjectPersonIds": [own],
                    "issues": [{ "code": "HIKIKOMORI", "main": true }],
                    "summary": "相談の要約", "urgency": "NORMAL" } }),
            )
            .await;
        let c = r.ok()["recordConsultation"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        hold_ref(srv, &w.b, "CONSULTATION", &c, &mine(&c)).await;
        hold_ref(srv, &w.a, "CONSULTATION", &c, &format!("theirs-{c}")).await;
    }
    let (small, large) = compare(
        srv,
        &w.b_cw,
        "consultations with externalRefs",
        REFS_CONSULTATIONS,
        json!({ "agency": w.b }),
        &["consultations", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        only_own_refs(r, &["consultations", "nodes"], "externalRefs", mine);
    }
    let broad = &known[0][1];
    for i in 0..LARGE {
        let r = srv
            .gql(
                &w.a_cw,
                "mutation($i: ProposeReferralInput!, $r: ExternalRefInput) {
                    proposeReferral(input: $i, ref: $r) { id } }",
                json!({ "i": { "personId": broad, "toAgencyId": w.b, "reason": "依頼" },
                    "r": { "system": "sys", "externalId": format!("ref-{i}") } }),
            )
            .await;
        let id = r.ok()["proposeReferral"]["id"].as_str().unwrap().to_owned();
        hold_ref(srv, &w.b, "REFERRAL", &id, &format!("theirs-{id}")).await;
        let r = srv
            .gql(
                &w.a_cw,
                "mutation($i: RecordActivityInput!, $r: ExternalRefInput) {
                    recordActivity(input: $i, ref: $r) { id } }",
                json!({ "i": { "kind": "MONITORING", "personId": broad,
                    "occurredOn": crate::activities::day(-(i as i64) - 1), "note": "電話" },
                    "r": { "system": "sys", "externalId": format!("act-{i}") } }),
            )
            .await;
        let id = r.ok()["recordActivity"]["id"].as_str().unwrap().to_owned();
        hold_ref(srv, &w.b, "ACTIVITY", &id, &format!("theirs-{id}")).await;
    }
    let (small, large) = compare(
        srv,
        &w.a_cw,
        "referrals with externalRefs",
        REFS_REFERRALS,
        json!({}),
        &["referrals", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        for n in r.data()["referrals"]["nodes"].as_array().unwrap() {
            let refs = n["externalRefs"].as_array().unwrap();
            assert_eq!(refs.len(), 1, "{}", r.body);
            assert!(refs[0]["externalId"].as_str().unwrap().starts_with("ref-"));
        }
        assert!(!r.body.to_string().contains("theirs-"), "{}", r.body);
    }
    let (small, large) = compare(
        srv,
        &w.a_cw,
        "activities with externalRefs",
        REFS_ACTIVITIES,
        json!({ "p": broad }),
        &["activities", "nodes"],
    )
    .await;
    for r in [&small, &large] {
        for n in r.data()["activities"]["nodes"].as_array().unwrap() {
            let refs = n["externalRefs"].as_array().unwrap();
            assert_eq!(refs.len(), 1, "{}", r.body);
            assert!(refs[0]["externalId"].as_str().unwrap().starts_with("act-"));
        }
        assert!(!r.body.to_string().contains("theirs-"), "{}", r.body);
    }
}
