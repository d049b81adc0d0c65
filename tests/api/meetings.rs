//! Meetings and their legal bases. A 支援会議 (Art. 106-6) constituted by the city's
//! coordination office M lets its member agency B see the declared categories of the
//! household's members without consent while its period runs — never an address under a
//! support measure, never an undeclared category, never before or after the period, never
//! for a non-member C — and it never counts as consent. A 重層的支援会議 gives its
//! participants nothing beyond their consents; consentGaps lists what is missing.

use chrono::{Duration, Utc};
use entity::audit_event::Model as LedgerRow;
use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

tests!(
    support_meeting_member_sees_declared_categories_without_consent,
    support_meeting_outside_its_period_gives_nothing,
    multi_agency_meeting_gives_only_what_consent_allows,
    consent_gaps_list_exactly_what_is_missing,
    minutes_need_narrative_basis_and_the_current_version,
    minutes_of_a_household_with_no_current_member_are_the_conveners_and_ledgered,
    create_meeting_is_for_coordinators_with_valid_input,
    only_the_city_constitutes_a_support_meeting_on_its_own_knowledge
);

const CREATE: &str = "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id kind version inEffect categories participants { id } convener { id } } }";
const PERSON: &str = "query($id: ID!) { person(id: $id) { id familyName careLevel publicAssistance phone address } }";
const EXPLAIN: &str = "query($id: ID!) { explainAccess(personId: $id) { items { category location allowed basis basisReference denial } } }";
const GAPS: &str = "query($id: ID!) { consentGaps(meetingId: $id) { unknownMembers gaps { agency { id } personId category } } }";

/// M: the coordination office (coordinator and a caseworker), B: a member agency, C: a
/// bystander. M registers two persons (P2 under a support measure) in one household.
struct World {
    m: String,
    b: String,
    c: String,
    m_tok: String,
    m_cw_tok: String,
    b_tok: String,
    c_tok: String,
    b_account: String,
    p1: String,
    p2: String,
    household: String,
}

async fn world(srv: &Server) -> World {
    let m = srv.agency("tashoku-m", "MULTI_AGENCY").await;
    let b = srv.agency("shogai-b", "DISABILITY").await;
    let c = srv.agency("jiritsu-c", "SELF_RELIANCE").await;
    let (_, m_tok) = srv.account("m-coord", &m, &["coordinator"]).await;
    let (_, m_cw_tok) = srv.account("m-cw", &m, &["caseworker"]).await;
    let (b_account, b_tok) = srv.account("b-cw", &b, &["caseworker"]).await;
    let (_, c_tok) = srv.account("c-cw", &c, &["caseworker"]).await;
    let p1 = srv
        .person(&m_tok, person_input("佐藤", "一郎", "サトウ", "イチロウ"))
        .await;
    let mut confidential = person_input("佐藤", "花子", "サトウ", "ハナコ");
    confidential["addressConfidential"] = json!(true);
    confidential["address"] = json!("避難先住所");
    let p2 = srv.person(&m_tok, confidential).await;
    let h = srv
        .gql(
            &m_tok,
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            json!({ "m": [
                { "personId": p1, "relationship": "本人", "isHead": true },
                { "personId": p2, "relationship": "妻" },
            ] }),
        )
        .await;
    let household = id_of(&h, "createHousehold");
    World {
        m,
        b,
        c,
        m_tok,
        m_cw_tok,
        b_tok,
        c_tok,
        b_account,
        p1,
        p2,
        household,
    }
}

pub fn id_of(r: &Gql, field: &str) -> String {
    r.ok()[field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{field} id in {}", r.body))
        .to_owned()
}

/// The ledger rows of one action by one operation.
fn rows_of<'a>(rows: &'a [LedgerRow], action: &str, operation: &str) -> Vec<&'a LedgerRow> {
    rows.iter()
        .filter(|r| r.action == action && r.operation == operation)
        .collect()
}

/// The subjects of ledger rows, sorted.
fn subjects(rows: &[&LedgerRow]) -> Vec<String> {
    let mut out: Vec<String> = rows
        .iter()
        .filter_map(|r| r.subject_person_id.clone())
        .collect();
    out.sort();
    out
}

/// The household's two members, sorted.
fn household_members(w: &World) -> Vec<String> {
    let mut out = vec![w.p1.clone(), w.p2.clone()];
    out.sort();
    out
}

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

fn support_meeting(
    w: &World,
    members: &[&str],
    cats: &[&str],
    from: Duration,
    until: Duration,
) -> Value {
    json!({ "kind": "SUPPORT_MEETING", "householdId": w.household, "heldAt": at(Duration::zero()),
        "participantAgencyIds": members, "categories": cats,
        "periodFrom": at(from), "periodUntil": at(until) })
}

fn multi_agency(w: &World, members: &[&str], cats: &[&str]) -> Value {
    json!({ "kind": "MULTI_AGENCY_MEETING", "householdId": w.household,
        "heldAt": at(Duration::days(7)), "participantAgencyIds": members, "categories": cats })
}

async fn create(srv: &Server, tok: &str, input: Value) -> String {
    let r = srv.gql(tok, CREATE, json!({ "i": input })).await;
    id_of(&r, "createMeeting")
}

fn explained<'a>(r: &'a Gql, category: &str) -> &'a Value {
    r.ok()["explainAccess"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["category"] == category && i["location"] == false)
        .unwrap()
}

async fn person_ids(srv: &Server, tok: &str) -> Vec<String> {
    let r = srv
        .gql(
            tok,
            "{ persons(first: 100) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let mut ids: Vec<String> = r.ok()["persons"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn support_meeting_member_sees_declared_categories_without_consent(srv: &Server) {
    let w = world(srv).await;
    // Before the meeting B and C know nothing.
    for tok in [&w.b_tok, &w.c_tok] {
        srv.gql(tok, PERSON, json!({ "id": w.p1 }))
            .await
            .only_error("NOT_FOUND");
        assert!(person_ids(srv, tok).await.is_empty());
    }
    let before = srv.ledger().await.len();
    let input = support_meeting(
        &w,
        &[&w.b],
        &["IDENTITY", "CONTACT", "HEALTH"],
        -Duration::hours(1),
        Duration::days(30),
    );
    let r = srv.gql(&w.m_tok, CREATE, json!({ "i": input })).await;
    let created = &r.ok()["createMeeting"];
    let meeting = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["kind"], "SUPPORT_MEETING");
    assert_eq!(created["inEffect"], true);
    assert_eq!(created["convener"]["id"], w.m.as_str());
    let mut members: Vec<&str> = created["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    members.sort();
    let mut expected = vec![w.m.as_str(), w.b.as_str()];
    expected.sort();
    assert_eq!(members, expected, "the convener is a member");

    // The creation is ledgered once per household member, names only.
    let rows = srv.ledger().await;
    let writes = rows_of(&rows[before..], "WRITE", "createMeeting");
    let want = household_members(&w);
    assert_eq!(subjects(&writes), want);
    assert!(writes
        .iter()
        .all(|r| r.record_id.as_deref() == Some(meeting.as_str())));

    // B: declared categories open without consent; an undeclared one stays withheld.
    let seen = srv.gql(&w.b_tok, PERSON, json!({ "id": w.p1 })).await;
    assert_eq!(seen.data()["person"]["familyName"], "佐藤");
    assert_eq!(seen.data()["person"]["careLevel"], "要介護2");
    assert_eq!(seen.data()["person"]["address"], "鶴岡市本町一丁目 1-1");
    seen.assert_withheld(&[json!("person"), json!("publicAssistance")], "LIVELIHOOD");
    assert_eq!(seen.errors().len(), 1, "{}", seen.body);

    // The ledger marks B's reads as seen under the meeting.
    let row = srv
        .ledger()
        .await
        .into_iter()
        .rev()
        .find(|r| {
            r.action == "READ"
                && r.account_id.as_deref() == Some(w.b_account.as_str())
                && r.subject_person_id.as_deref() == Some(w.p1.as_str())
        })
        .expect("B's read is ledgered");
    let bases: Value = serde_json::from_str(&row.bases).unwrap();
    let basis = json!([format!("SUPPORT_MEETING:{meeting}")]);
    assert_eq!(bases["HEALTH"], basis);
    assert_eq!(bases["IDENTITY"], basis);
    assert!(row.withheld.contains("LIVELIHOOD"), "{row:?}");

    // explainAccess says so too.
    let e = srv.gql(&w.b_tok, EXPLAIN, json!({ "id": w.p1 })).await;
    let health = explained(&e, "HEALTH");
    assert_eq!(health["basis"], "SUPPORT_MEETING");
    assert_eq!(health["basisReference"], meeting.as_str());
    assert_eq!(explained(&e, "LIVELIHOOD")["denial"], "NO_BASIS");

    // It never counts as consent: no consent names B, and the person has none at all.
    for tok in [&w.b_tok, &w.m_tok] {
        let c = srv
            .gql(
                tok,
                "query($id: ID!) { consents(personId: $id) { id } }",
                json!({ "id": w.p1 }),
            )
            .await;
        assert_eq!(c.ok()["consents"], json!([]));
    }

    // The address under a support measure stays closed to the member.
    let hidden = srv.gql(&w.b_tok, PERSON, json!({ "id": w.p2 })).await;
    assert_eq!(hidden.data()["person"]["careLevel"], "要介護2");
    hidden.assert_withheld(&[json!("person"), json!("address")], "CONTACT");
    let reason = hidden
        .errors()
        .into_iter()
        .find(|e| e["path"] == json!(["person", "address"]))
        .unwrap();
    assert_eq!(reason["extensions"]["reason"], "NO_BASIS");
    assert!(!hidden.body.to_string().contains("ADDRESS_CONFIDENTIAL"));
    assert!(!hidden.body.to_string().contains("避難先住所"));

    // Lists: B's persons include both members; C's include nobody.
    assert_eq!(person_ids(srv, &w.b_tok).await, want);
    assert!(person_ids(srv, &w.c_tok).await.is_empty());

    // C, not a member, sees nothing: not the person, not the meeting.
    srv.gql(&w.c_tok, PERSON, json!({ "id": w.p1 }))
        .await
        .only_error("NOT_FOUND");
    srv.gql(&w.c_tok, EXPLAIN, json!({ "id": w.p1 }))
        .await
        .only_error("NOT_FOUND");
    let q = "query($id: ID!) { meeting(id: $id) { id } }";
    srv.gql(&w.c_tok, q, json!({ "id": meeting }))
        .await
        .only_error("NOT_FOUND");
    let list = "query($h: ID!) { meetings(householdId: $h) { id kind inEffect } }";
    let c_list = srv.gql(&w.c_tok, list, json!({ "h": w.household })).await;
    assert_eq!(c_list.ok()["meetings"], json!([]));
    let b_list = srv.gql(&w.b_tok, list, json!({ "h": w.household })).await;
    assert_eq!(b_list.ok()["meetings"][0]["id"], meeting.as_str());
    assert_eq!(b_list.ok()["meetings"][0]["inEffect"], true);
    // HOUSEHOLD was not declared: the meeting does not open the household to B.
    let bm = srv
        .gql(
            &w.b_tok,
            "query($id: ID!) { meeting(id: $id) { household { id } } }",
            json!({ "id": meeting }),
        )
        .await;
    assert_eq!(bm.ok()["meeting"]["household"], Value::Null);
}

async fn support_meeting_outside_its_period_gives_nothing(srv: &Server) {
    let w = world(srv).await;
    let ended = create(
        srv,
        &w.m_tok,
        support_meeting(
            &w,
            &[&w.b],
            &["IDENTITY", "HEALTH"],
            -Duration::days(30),
            -Duration::days(1),
        ),
    )
    .await;
    let future = create(
        srv,
        &w.m_tok,
        support_meeting(
            &w,
            &[&w.b],
            &["IDENTITY", "HEALTH"],
            Duration::days(1),
            Duration::days(10),
        ),
    )
    .await;
    for p in [&w.p1, &w.p2] {
        srv.gql(&w.b_tok, PERSON, json!({ "id": p }))
            .await
            .only_error("NOT_FOUND");
        srv.gql(&w.b_tok, EXPLAIN, json!({ "id": p }))
            .await
            .only_error("NOT_FOUND");
    }
    assert!(person_ids(srv, &w.b_tok).await.is_empty());
    // B still sees the meetings it is a member of, marked as not in effect.
    for id in [&ended, &future] {
        let r = srv
            .gql(
                &w.b_tok,
                "query($id: ID!) { meeting(id: $id) { inEffect periodFrom periodUntil } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(r.ok()["meeting"]["inEffect"], false);
    }
    // The owner still sees everything (OWN), whatever the meetings.
    let own = srv.gql(&w.m_tok, PERSON, json!({ "id": w.p1 })).await;
    assert_eq!(own.ok()["person"]["careLevel"], "要介護2");
}

async fn multi_agency_meeting_gives_only_what_consent_allows(srv: &Server) {
    let w = world(srv).await;
    let meeting = create(
        srv,
        &w.m_tok,
        multi_agency(&w, &[&w.b, &w.c], &["IDENTITY", "HEALTH"]),
    )
    .await;
    // No consent yet: the meeting is no basis.
    for tok in [&w.b_tok, &w.c_tok] {
        srv.gql(tok, PERSON, json!({ "id": w.p1 }))
            .await
            .only_error("NOT_FOUND");
        let r = srv
            .gql(
                tok,
                "query($id: ID!) { meeting(id: $id) { kind inEffect } }",
                json!({ "id": meeting }),
            )
            .await;
        assert_eq!(r.ok()["meeting"]["kind"], "MULTI_AGENCY_MEETING");
        assert_eq!(r.ok()["meeting"]["inEffect"], false);
    }
    // P1 consents to IDENTITY for B: B sees the name only; C still nothing.
    srv.consent(&w.m_tok, consent_input(&w.p1, &["IDENTITY"], &[&w.b], &[]))
        .await;
    let seen = srv.gql(&w.b_tok, PERSON, json!({ "id": w.p1 })).await;
    assert_eq!(seen.data()["person"]["familyName"], "佐藤");
    seen.assert_withheld(&[json!("person"), json!("careLevel")], "HEALTH");
    let e = srv.gql(&w.b_tok, EXPLAIN, json!({ "id": w.p1 })).await;
    assert_eq!(explained(&e, "IDENTITY")["basis"], "CONSENT");
    assert_eq!(explained(&e, "HEALTH")["denial"], "NO_BASIS");
    srv.gql(&w.b_tok, PERSON, json!({ "id": w.p2 }))
        .await
        .only_error("NOT_FOUND");
    srv.gql(&w.c_tok, PERSON, json!({ "id": w.p1 }))
        .await
        .only_error("NOT_FOUND");
    assert_eq!(person_ids(srv, &w.b_tok).await, vec![w.p1.clone()]);
}

fn gap_keys(r: &Gql) -> Vec<(String, String, String)> {
    r.ok()["consentGaps"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["agency"]["id"].as_str().unwrap().to_owned(),
                g["personId"].as_str().unwrap().to_owned(),
                g["category"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn consent_gaps_list_exactly_what_is_missing(srv: &Server) {
    let w = world(srv).await;
    // A third member registered by agency X, known to M only by a consent X later withdraws.
    let x = srv.agency("kodomo-x", "CHILD_FAMILY").await;
    let (_, x_tok) = srv.account("x-cw", &x, &["caseworker"]).await;
    let p3 = srv
        .person(&x_tok, person_input("佐藤", "三郎", "サトウ", "サブロウ"))
        .await;
    let (xc, xc_v) = srv
        .consent(&x_tok, consent_input(&p3, &["IDENTITY"], &[&w.m], &[]))
        .await;
    let add = srv
        .gql(
            &w.m_tok,
            "mutation($h: ID!, $m: MemberInput!) { addHouseholdMember(householdId: $h, member: $m) { id } }",
            json!({ "h": w.household, "m": { "personId": p3, "relationship": "長男" } }),
        )
        .await;
    add.ok();
    let meeting = create(
        srv,
        &w.m_tok,
        multi_agency(&w, &[&w.b, &w.c], &["IDENTITY", "HEALTH"]),
    )
    .await;
    let g = srv.gql(&w.m_tok, GAPS, json!({ "id": meeting })).await;
    assert_eq!(g.ok()["consentGaps"]["unknownMembers"], 0);
    assert_eq!(gap_keys(&g).len(), 2 * 3 * 2);

    // X withdraws: M may no longer know P3, who is counted but never named.
    srv.gql(&x_tok, "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { state } }", json!({ "id": xc, "v": xc_v }))
        .await
        .ok();
    let order = |c: &str| {
        ["IDENTITY", "CONTACT", "HOUSEHOLD", "HEALTH"]
            .iter()
            .position(|x| *x == c)
            .unwrap()
    };
    let mut expected = Vec::new();
    for a in [&w.b, &w.c] {
        for p in [&w.p1, &w.p2] {
            for cat in ["IDENTITY", "HEALTH"] {
                expected.push((a.clone(), p.clone(), cat.to_owned()));
            }
        }
    }
    expected.sort_by(|l, r| (&l.0, &l.1, order(&l.2)).cmp(&(&r.0, &r.1, order(&r.2))));
    let g = srv.gql(&w.m_tok, GAPS, json!({ "id": meeting })).await;
    assert_eq!(g.ok()["consentGaps"]["unknownMembers"], 1);
    assert_eq!(gap_keys(&g), expected);
    assert!(!g.body.to_string().contains(&p3));

    // A consent for B (named) and one for C's kind close exactly those gaps.
    srv.consent(
        &w.m_tok,
        consent_input(&w.p1, &["IDENTITY", "HEALTH"], &[&w.b], &[]),
    )
    .await;
    srv.consent(
        &w.m_tok,
        consent_input(&w.p2, &["HEALTH"], &[], &["SELF_RELIANCE"]),
    )
    .await;
    let g = srv.gql(&w.m_tok, GAPS, json!({ "id": meeting })).await;
    let after = gap_keys(&g);
    let closed = |k: &(String, String, String)| {
        (k.0 == w.b && k.1 == w.p1) || (k.0 == w.c && k.1 == w.p2 && k.2 == "HEALTH")
    };
    let want: Vec<_> = expected.iter().filter(|k| !closed(k)).cloned().collect();
    assert_eq!(after, want);

    // Only the convener asks: caseworkers (of M too) and a participant's coordinator are
    // FORBIDDEN, an outsider coordinator (X) NOT_FOUND; other kinds are BAD_USER_INPUT.
    let (_, b_coord) = srv.account("b-coord", &w.b, &["coordinator"]).await;
    let (_, x_coord) = srv.account("x-coord", &x, &["coordinator"]).await;
    for tok in [&w.b_tok, &w.c_tok, &w.m_cw_tok, &x_tok, &b_coord] {
        srv.gql(tok, GAPS, json!({ "id": meeting }))
            .await
            .only_error("FORBIDDEN");
    }
    srv.gql(&x_coord, GAPS, json!({ "id": meeting }))
        .await
        .only_error("NOT_FOUND");
    let sm = create(
        srv,
        &w.m_tok,
        support_meeting(
            &w,
            &[&w.b],
            &["IDENTITY"],
            -Duration::hours(1),
            Duration::days(1),
        ),
    )
    .await;
    let e = srv
        .gql(&w.m_tok, GAPS, json!({ "id": sm }))
        .await
        .only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "meetingId");
}

async fn minutes_need_narrative_basis_and_the_current_version(srv: &Server) {
    let w = world(srv).await;
    let meeting = create(srv, &w.m_tok, multi_agency(&w, &[&w.b], &["IDENTITY"])).await;
    const UPDATE: &str = "mutation($id: ID!, $v: Int!, $m: String!) { updateMeetingMinutes(id: $id, version: $v, minutes: $m) { version minutes } }";
    let before = srv.ledger().await.len();
    let u = srv
        .gql(
            &w.m_tok,
            UPDATE,
            json!({ "id": meeting, "v": 1, "m": "長男の就労について話し合った。" }),
        )
        .await;
    assert_eq!(u.ok()["updateMeetingMinutes"]["version"], 2);
    assert_eq!(
        u.ok()["updateMeetingMinutes"]["minutes"],
        "長男の就労について話し合った。"
    );
    let writes: Vec<_> = srv.ledger().await[before..]
        .iter()
        .filter(|r| r.action == "WRITE" && r.operation == "updateMeetingMinutes")
        .cloned()
        .collect();
    assert_eq!(writes.len(), 2, "one row per household member");
    assert!(writes
        .iter()
        .all(|r| !r.detail.contains("就労") && r.detail.contains("minutes")));

    // A stale version is CONFLICT and changes nothing.
    srv.gql(
        &w.m_tok,
        UPDATE,
        json!({ "id": meeting, "v": 1, "m": "上書き" }),
    )
    .await
    .only_error("CONFLICT");
    // B takes part but has no NARRATIVE basis for the members: minutes withheld.
    let q = "query($id: ID!) { meeting(id: $id) { version minutes } }";
    let b = srv.gql(&w.b_tok, q, json!({ "id": meeting })).await;
    b.assert_withheld(&[json!("meeting"), json!("minutes")], "NARRATIVE");
    assert_eq!(b.data()["meeting"]["version"], 2);
    // With NARRATIVE consents of every member naming B, they open.
    for p in [&w.p1, &w.p2] {
        srv.consent(&w.m_tok, consent_input(p, &["NARRATIVE"], &[&w.b], &[]))
            .await;
    }
    let b = srv.gql(&w.b_tok, q, json!({ "id": meeting })).await;
    assert_eq!(
        b.ok()["meeting"]["minutes"],
        "長男の就労について話し合った。"
    );
    // Only the convener writes them: a caseworker is FORBIDDEN, so is a participant's
    // coordinator; an outsider coordinator gets NOT_FOUND.
    let (_, b_coord) = srv.account("b-coord", &w.b, &["coordinator"]).await;
    let (_, c_coord) = srv.account("c-coord", &w.c, &["coordinator"]).await;
    srv.gql(
        &b_coord,
        UPDATE,
        json!({ "id": meeting, "v": 2, "m": "B の追記" }),
    )
    .await
    .only_error("FORBIDDEN");
    srv.gql(
        &w.b_tok,
        UPDATE,
        json!({ "id": meeting, "v": 2, "m": "B の追記" }),
    )
    .await
    .only_error("FORBIDDEN");
    srv.gql(
        &c_coord,
        UPDATE,
        json!({ "id": meeting, "v": 2, "m": "C の追記" }),
    )
    .await
    .only_error("NOT_FOUND");
    let m = srv.gql(&w.m_tok, q, json!({ "id": meeting })).await;
    assert_eq!(
        m.ok()["meeting"]["minutes"],
        "長男の就労について話し合った。"
    );
}

/// Once every member has left the household, the minutes are the convener's own record
/// alone: it still reads them, through the gate (OWN), and the read is ledgered for the
/// household's former members; a participant gets null, as before.
async fn minutes_of_a_household_with_no_current_member_are_the_conveners_and_ledgered(
    srv: &Server,
) {
    let w = world(srv).await;
    let meeting = create(srv, &w.m_tok, multi_agency(&w, &[&w.b], &["IDENTITY"])).await;
    let id = json!({ "id": meeting });
    const SET: &str = "mutation($id: ID!) { updateMeetingMinutes(id: $id, version: 1, minutes: \"転居後の連絡方法\") { version } }";
    srv.gql(&w.m_tok, SET, id.clone()).await.ok();
    // Every member leaves the household.
    const MEMBERS: &str = "query($id: ID!) { household(id: $id) { members { id } } }";
    let h = srv
        .gql(&w.m_tok, MEMBERS, json!({ "id": w.household }))
        .await;
    const LEAVE: &str =
        "mutation($m: ID!, $d: Date!) { endHouseholdMembership(memberId: $m, leftOn: $d) { id } }";
    let left = (Utc::now() - Duration::days(2)).date_naive().to_string();
    for m in h.ok()["household"]["members"].as_array().unwrap() {
        let vars = json!({ "m": m["id"], "d": left });
        srv.gql(&w.m_tok, LEAVE, vars).await.ok();
    }

    let before = srv.ledger().await.len();
    const CONVENER: &str = "query Convener($id: ID!) { meeting(id: $id) { minutes } }";
    let r = srv.gql(&w.m_tok, CONVENER, id.clone()).await;
    assert_eq!(r.ok()["meeting"]["minutes"], "転居後の連絡方法");
    let rows = srv.ledger().await;
    let reads = rows_of(&rows[before..], "READ", "Convener");
    let former = household_members(&w);
    assert_eq!(subjects(&reads), former, "one READ row per former member");
    for row in &reads {
        assert!(row.shown.contains("NARRATIVE"), "{}", row.shown);
        assert!(row.bases.contains("OWN"), "{}", row.bases);
        assert!(row.detail.contains(meeting.as_str()), "{}", row.detail);
    }

    // A participant sees no minutes (null, no error) and no read of them is ledgered.
    let before = srv.ledger().await.len();
    const PARTICIPANT: &str = "query Participant($id: ID!) { meeting(id: $id) { minutes } }";
    let b = srv.gql(&w.b_tok, PARTICIPANT, id).await;
    assert!(b.ok()["meeting"]["minutes"].is_null(), "{}", b.body);
    assert!(rows_of(&srv.ledger().await[before..], "READ", "Participant").is_empty());
}

async fn create_meeting_is_for_coordinators_with_valid_input(srv: &Server) {
    let w = world(srv).await;
    let ok = support_meeting(
        &w,
        &[&w.b],
        &["IDENTITY"],
        -Duration::hours(1),
        Duration::days(1),
    );
    // A caseworker may not convene.
    srv.gql(&w.m_cw_tok, CREATE, json!({ "i": ok }))
        .await
        .only_error("FORBIDDEN");
    // A coordinator of another agency cannot reach the household.
    let n = srv.agency("tashoku-n", "MULTI_AGENCY").await;
    let (_, n_tok) = srv.account("n-coord", &n, &["coordinator"]).await;
    let e = srv
        .gql(&n_tok, CREATE, json!({ "i": ok }))
        .await
        .only_error("NOT_FOUND");
    assert_eq!(e["extensions"]["field"], "input.householdId");

    let bad = |patch: Value| {
        let mut i = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            i[k] = v.clone();
        }
        i
    };
    let cases = [
        (
            bad(json!({ "periodFrom": null })),
            "BAD_USER_INPUT",
            "input.periodFrom",
        ),
        (
            bad(json!({ "periodUntil": null })),
            "BAD_USER_INPUT",
            "input.periodUntil",
        ),
        (
            bad(json!({ "periodUntil": at(-Duration::hours(2)) })),
            "BAD_USER_INPUT",
            "input.periodUntil",
        ),
        (
            bad(json!({ "periodUntil": at(Duration::days(400)) })),
            "BAD_USER_INPUT",
            "input.periodUntil",
        ),
        (
            bad(json!({ "categories": [] })),
            "BAD_USER_INPUT",
            "input.categories",
        ),
        (
            bad(json!({ "categories": ["HEALTH", "HEALTH"] })),
            "BAD_USER_INPUT",
            "input.categories.1",
        ),
        (
            bad(json!({ "participantAgencyIds": [] })),
            "BAD_USER_INPUT",
            "input.participantAgencyIds",
        ),
        (
            bad(json!({ "participantAgencyIds": [uuid::Uuid::new_v4().to_string()] })),
            "NOT_FOUND",
            "input.participantAgencyIds.0",
        ),
        (
            bad(json!({ "participantAgencyIds": [w.b, w.b] })),
            "BAD_USER_INPUT",
            "input.participantAgencyIds.1",
        ),
        (
            bad(json!({ "heldAt": "昨日" })),
            "BAD_USER_INPUT",
            "input.heldAt",
        ),
        (
            bad(json!({ "kind": "CASE_CONFERENCE" })),
            "BAD_USER_INPUT",
            "input.periodFrom",
        ),
        (
            bad(json!({ "caseId": uuid::Uuid::new_v4().to_string() })),
            "NOT_FOUND",
            "input.caseId",
        ),
    ];
    for (input, code, field) in cases {
        let r = srv.gql(&w.m_tok, CREATE, json!({ "i": input })).await;
        let e = r.only_error(code);
        assert_eq!(e["extensions"]["field"], field, "{}", r.body);
    }
    let third = srv.agency("tool-t", "THIRD_PARTY").await;
    let r = srv
        .gql(
            &w.m_tok,
            CREATE,
            json!({ "i": bad(json!({ "participantAgencyIds": [third] })) }),
        )
        .await;
    assert_eq!(
        r.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "input.participantAgencyIds.0"
    );
    // Nothing was created by the refused attempts.
    let list = "query($h: ID!) { meetings(householdId: $h) { id } }";
    assert_eq!(
        srv.gql(&w.m_tok, list, json!({ "h": w.household }))
            .await
            .ok()["meetings"],
        json!([])
    );
    // A case conference needs no period; the valid 支援会議 is created.
    let conf = bad(
        json!({ "kind": "CASE_CONFERENCE", "periodFrom": null, "periodUntil": null, "categories": [] }),
    );
    create(srv, &w.m_tok, conf).await;
    create(srv, &w.m_tok, ok).await;
    let l = srv.gql(&w.m_tok, list, json!({ "h": w.household })).await;
    assert_eq!(l.ok()["meetings"].as_array().unwrap().len(), 2);
    assert_eq!(
        srv.gql(&n_tok, list, json!({ "h": w.household }))
            .await
            .ok()["meetings"],
        json!([])
    );
}

/// A 支援会議 opens data without consent, so it must not be a way for one basis to breed
/// another: only the city's coordinators constitute one, only for a household they know by
/// their own record or a member's consent (not by a break-glass grant), and admins are
/// alerted.
async fn only_the_city_constitutes_a_support_meeting_on_its_own_knowledge(srv: &Server) {
    let w = world(srv).await;
    // A coordinator of a (non-city) agency that knows the household by consent: FORBIDDEN.
    let (_, b_coord) = srv.account("b-coord", &w.b, &["coordinator"]).await;
    for p in [&w.p1, &w.p2] {
        srv.consent(
            &w.m_tok,
            consent_input(p, &["IDENTITY", "HOUSEHOLD"], &[&w.b], &[]),
        )
        .await;
    }
    let input = support_meeting(
        &w,
        &[&w.b],
        &["HEALTH"],
        -Duration::hours(1),
        Duration::days(30),
    );
    let before = srv.ledger().await.len();
    srv.gql(&b_coord, CREATE, json!({ "i": input }))
        .await
        .only_error("FORBIDDEN");
    // A second city office whose coordinator knows the person only by a break-glass grant.
    let city2 = srv.agency("city-2", "MULTI_AGENCY").await;
    let (_, c2_coord) = srv
        .account("c2-coord", &city2, &["coordinator", "caseworker"])
        .await;
    let g = srv
        .gql(&c2_coord, "mutation($p: ID!) { requestEmergencyAccess(personId: $p, reason: \"安否確認のため緊急に必要です\", hours: 1) { id } }", json!({ "p": w.p1 }))
        .await;
    g.ok();
    let mut via_grant = support_meeting(
        &w,
        &[&city2],
        &["HEALTH", "CHILD_PROTECTION"],
        -Duration::hours(1),
        Duration::days(300),
    );
    via_grant["participantAgencyIds"] = json!([city2]);
    let r = srv.gql(&c2_coord, CREATE, json!({ "i": via_grant })).await;
    // It may not even see the household (households need HOUSEHOLD, which the grant opens
    // for p1 only) — either way no meeting is constituted.
    assert!(
        matches!(r.codes().as_slice(), [c] if c == "FORBIDDEN" || c == "NOT_FOUND"),
        "{}",
        r.body
    );
    // No meeting rows were written by the refused attempts (only the grant itself).
    let rows = srv.ledger().await;
    assert!(rows[before..]
        .iter()
        .all(|r| r.operation != "createMeeting"));
    // The city office that registered the household may, and admins are alerted.
    let ok = srv.gql(&w.m_tok, CREATE, json!({ "i": support_meeting(&w, &[&w.b], &["HEALTH"], -Duration::hours(1), Duration::days(30)) })).await;
    ok.ok();
    let feed = srv
        .gql(
            &srv.admin_token,
            "{ alertFeed { edges { node { operation detail } } } }",
            json!({}),
        )
        .await;
    let ops: Vec<String> = feed.ok()["alertFeed"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["operation"].as_str().unwrap().to_owned())
        .collect();
    assert!(ops.contains(&"createMeeting".to_owned()), "{ops:?}");
    assert!(
        ops.contains(&"requestEmergencyAccess".to_owned()),
        "{ops:?}"
    );
    // The ledger keeps the grant's reason out (it may describe the person's situation).
    assert!(rows.iter().all(|r| !r.detail.contains("安否確認")));
}
