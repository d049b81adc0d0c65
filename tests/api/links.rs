//! 名寄せの結びつき (issue 16, item 3): links between two records of one person are proposed
//! by staff who may know both, confirmed by another coordinator, revocable with a reason,
//! kept with their history and ledgered on both records; nothing is merged. A link opens
//! nothing (the access policy never reads it), and to a caller who may not know both records
//! it does not exist.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

tests!(
    a_link_is_proposed_confirmed_by_another_coordinator_and_revoked_with_its_history,
    a_link_widens_no_access_and_is_hidden_from_a_caller_who_may_not_know_both
);

const PROPOSE: &str = "mutation($p: ID!, $o: ID!, $n: String) { proposePersonLink(personId: $p, otherPersonId: $o, note: $n) { id status version } }";
const CONFIRM: &str = "mutation($id: ID!, $v: Int!, $n: String) { confirmPersonLink(id: $id, version: $v, note: $n) { id status version decidedBy } }";
const REVOKE: &str = "mutation($id: ID!, $v: Int!, $r: String!) { revokePersonLink(id: $id, version: $v, reason: $r) { id status version } }";
const LINKS: &str =
    "query($p: ID!) { personLinks(personId: $p) { id status version proposedBy persons { id }
  proposedByAgency { id } history { action accountId agency { id } note } } }";

/// The other records P's disclosure report (開示請求) names as the same person.
async fn linked_in_report(srv: &Server, person: &str) -> Value {
    let r = srv
        .gql(
            &srv.admin_token,
            "query($p: ID!) { disclosureReport(personId: $p) { linkedRecords { personId ownerAgency { id } } } }",
            json!({ "p": person }),
        )
        .await;
    r.ok()["disclosureReport"]["linkedRecords"].clone()
}

fn only(r: &Gql, code: &str, field: &str) {
    let e = r.only_error(code);
    if !field.is_empty() {
        assert_eq!(e["extensions"]["field"], field, "{}", r.body);
    }
    assert!(r.data().is_null(), "no data: {}", r.body);
}

async fn links(srv: &Server, token: &str, person: &str) -> Vec<Value> {
    srv.gql(token, LINKS, json!({ "p": person })).await.ok()["personLinks"]
        .as_array()
        .unwrap()
        .clone()
}

async fn a_link_is_proposed_confirmed_by_another_coordinator_and_revoked_with_its_history(
    srv: &Server,
) {
    let a = srv.agency("lk-a", "MULTI_AGENCY").await;
    let (cw_id, cw) = srv.account("lk-a-cw", &a, &["caseworker"]).await;
    let (coord_id, coord) = srv.account("lk-a-coord", &a, &["coordinator"]).await;
    let (coord2_id, coord2) = srv.account("lk-a-coord2", &a, &["coordinator"]).await;
    let (_, lsc) = srv
        .account("lk-a-lsc", &a, &["life_support_coordinator"])
        .await;
    // One woman registered twice (髙橋 / 高橋), and someone else.
    let p = srv
        .person(&cw, person_input("髙橋", "花子", "タカハシ", "ハナコ"))
        .await;
    let q = srv
        .person(&cw, person_input("高橋", "花子", "タカハシ", "ハナコ"))
        .await;
    let r = srv
        .person(&cw, person_input("佐藤", "一郎", "サトウ", "イチロウ"))
        .await;

    // Proposed by a caseworker, with a note; ledgered on both records.
    let seq = srv.ledger().await.last().map_or(0, |e| e.seq);
    let made = srv
        .gql(
            &cw,
            PROPOSE,
            json!({ "p": p, "o": q, "n": "氏名カナ・生年月日が一致" }),
        )
        .await;
    let link = made.ok()["proposePersonLink"].clone();
    assert_eq!(
        (link["status"].clone(), link["version"].clone()),
        (json!("PROPOSED"), json!(1))
    );
    let id = link["id"].as_str().unwrap().to_owned();
    let writes: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.seq > seq && e.action == "WRITE")
        .collect();
    let mut subjects: Vec<String> = writes
        .iter()
        .map(|e| {
            assert_eq!(e.operation, "proposePersonLink");
            assert_eq!(e.record_id.as_deref(), Some(id.as_str()));
            e.subject_person_id.clone().unwrap()
        })
        .collect();
    subjects.sort();
    let mut both = vec![p.clone(), q.clone()];
    both.sort();
    assert_eq!(subjects, both);

    // A proposal is not the person's: the report does not name the other record.
    assert_eq!(linked_in_report(srv, &p).await, json!([]));
    // Nothing merged: both records are there as they were.
    for (person, family) in [(&p, "髙橋"), (&q, "高橋")] {
        let got = srv
            .gql(
                &cw,
                "query($id: ID!) { person(id: $id) { familyName } }",
                json!({ "id": person }),
            )
            .await;
        assert_eq!(got.ok()["person"]["familyName"], family);
    }

    // Refusals, nothing written: the same pair again (either way round), a record with
    // itself, a role that does not link, a caseworker confirming.
    let before = srv.snapshot().await;
    only(
        &srv.gql(&cw, PROPOSE, json!({ "p": q, "o": p })).await,
        "CONFLICT",
        "",
    );
    only(
        &srv.gql(&cw, PROPOSE, json!({ "p": p, "o": p })).await,
        "CONFLICT",
        "",
    );
    only(
        &srv.gql(&lsc, PROPOSE, json!({ "p": p, "o": r })).await,
        "FORBIDDEN",
        "",
    );
    only(
        &srv.gql(&cw, CONFIRM, json!({ "id": id, "v": 1 })).await,
        "FORBIDDEN",
        "",
    );
    only(
        &srv.gql(&coord, CONFIRM, json!({ "id": id, "v": 7 })).await,
        "CONFLICT",
        "",
    );
    srv.assert_unchanged(&before, "refused link operations")
        .await;

    // Confirmed by a coordinator; the proposer cannot confirm its own proposal.
    let c = srv
        .gql(
            &coord,
            CONFIRM,
            json!({ "id": id, "v": 1, "n": "本人に確認済み" }),
        )
        .await;
    assert_eq!(
        c.ok()["confirmPersonLink"],
        json!({ "id": id, "status": "CONFIRMED", "version": 2, "decidedBy": coord_id })
    );
    // Confirmed: each record's disclosure report names the other, so both are produced.
    assert_eq!(
        linked_in_report(srv, &p).await,
        json!([{ "personId": q, "ownerAgency": { "id": a } }])
    );
    assert_eq!(
        linked_in_report(srv, &q).await,
        json!([{ "personId": p, "ownerAgency": { "id": a } }])
    );
    let own = srv.gql(&coord, PROPOSE, json!({ "p": p, "o": r })).await;
    let own = own.ok()["proposePersonLink"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = srv.snapshot().await;
    only(
        &srv.gql(&coord, CONFIRM, json!({ "id": own, "v": 1 })).await,
        "CONFLICT",
        "",
    );
    srv.assert_unchanged(&before, "confirming one's own proposal")
        .await;
    // Another coordinator rejects it.
    let rej = srv
        .gql(
            &coord2,
            REVOKE,
            json!({ "id": own, "v": 1, "r": "別人 (生年月日が違う)" }),
        )
        .await;
    assert_eq!(rej.ok()["revokePersonLink"]["status"], "REVOKED");

    // A caseworker cannot revoke a confirmed link; a coordinator can, with a reason.
    let before = srv.snapshot().await;
    only(
        &srv.gql(&cw, REVOKE, json!({ "id": id, "v": 2, "r": "誤り" }))
            .await,
        "FORBIDDEN",
        "",
    );
    only(
        &srv.gql(&coord2, REVOKE, json!({ "id": id, "v": 2, "r": "" }))
            .await,
        "BAD_USER_INPUT",
        "reason",
    );
    srv.assert_unchanged(&before, "refused revocations").await;
    let rv = srv
        .gql(
            &coord2,
            REVOKE,
            json!({ "id": id, "v": 2, "r": "同姓同名の別人と判明" }),
        )
        .await;
    assert_eq!(rv.ok()["revokePersonLink"]["status"], "REVOKED");
    assert_eq!(
        linked_in_report(srv, &p).await,
        json!([]),
        "revoked: not the person's"
    );
    // Proposed again (the same link, its history going on), then withdrawn by its proposer.
    let again = srv.gql(&cw, PROPOSE, json!({ "p": p, "o": q })).await;
    assert_eq!(
        again.ok()["proposePersonLink"],
        json!({ "id": id, "status": "PROPOSED", "version": 4 })
    );
    let wd = srv
        .gql(&cw, REVOKE, json!({ "id": id, "v": 4, "r": "入力誤り" }))
        .await;
    assert_eq!(wd.ok()["revokePersonLink"]["status"], "REVOKED");

    let listed = links(srv, &coord, &q).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let l = &listed[0];
    assert_eq!(l["id"], id.as_str());
    assert_eq!(l["proposedBy"], cw_id.as_str());
    assert_eq!(l["proposedByAgency"]["id"], a.as_str());
    let mut ids: Vec<&str> = l["persons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, both.iter().map(String::as_str).collect::<Vec<_>>());
    let history: Vec<(Value, Value, Value)> = l["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].clone(),
                e["accountId"].clone(),
                e["note"].clone(),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            (
                json!("PROPOSED"),
                json!(cw_id),
                json!("氏名カナ・生年月日が一致")
            ),
            (json!("CONFIRMED"), json!(coord_id), json!("本人に確認済み")),
            (
                json!("REVOKED"),
                json!(coord2_id),
                json!("同姓同名の別人と判明")
            ),
            (json!("PROPOSED"), json!(cw_id), Value::Null),
            (json!("WITHDRAWN"), json!(cw_id), json!("入力誤り")),
        ]
    );
    // p has both of its links, the rejected one too.
    let of_p = links(srv, &cw, &p).await;
    assert_eq!(of_p.len(), 2);
    assert!(of_p
        .iter()
        .any(|l| l["id"] == own.as_str() && l["history"][1]["action"] == "REJECTED"));
    // Two proposals of one new pair at once: one is stored, the other is CONFLICT.
    let s1 = srv
        .person(&cw, person_input("並行", "一", "ヘイコウ", "ハジメ"))
        .await;
    let s2 = srv
        .person(&cw, person_input("並行", "壱", "ヘイコウ", "ハジメ"))
        .await;
    let (x, y) = tokio::join!(
        srv.gql(&cw, PROPOSE, json!({ "p": s1, "o": s2 })),
        srv.gql(&coord, PROPOSE, json!({ "p": s2, "o": s1 })),
    );
    let mut codes = [x.codes(), y.codes()];
    codes.sort();
    assert_eq!(
        codes,
        [vec![], vec!["CONFLICT".to_owned()]],
        "{} {}",
        x.body,
        y.body
    );
    assert_eq!(links(srv, &coord, &s1).await.len(), 1);
}

async fn a_link_widens_no_access_and_is_hidden_from_a_caller_who_may_not_know_both(srv: &Server) {
    let a = srv.agency("lk-wa", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("lk-wb", "MULTI_AGENCY").await;
    let (_, a_cw) = srv.account("lk-wa-cw", &a, &["caseworker"]).await;
    let (_, a_coord) = srv.account("lk-wa-coord", &a, &["coordinator"]).await;
    let (_, b_cw) = srv.account("lk-wb-cw", &b, &["caseworker"]).await;
    let (_, b_coord) = srv.account("lk-wb-coord", &b, &["coordinator"]).await;
    // The same man, registered at A and at B; A's record is shared with B for IDENTITY only.
    let pa = srv
        .person(&a_cw, person_input("齋藤", "健", "サイトウ", "ケン"))
        .await;
    let mut hidden = person_input("斎藤", "健", "サイトウ", "ケン");
    hidden["phone"] = json!("0235-44-5566");
    let pb = srv.person(&b_cw, hidden).await;
    srv.consent(&a_cw, consent_input(&pa, &["IDENTITY"], &[&b], &[]))
        .await;
    const READ: &str = "query($id: ID!) { person(id: $id) { familyName phone careLevel } }";
    let before_link = srv.gql(&b_cw, READ, json!({ "id": pa })).await;
    assert_eq!(before_link.data()["person"]["familyName"], "齋藤");
    assert!(before_link.codes().iter().all(|c| c == "CONSENT_REQUIRED"));

    let link = srv.gql(&b_cw, PROPOSE, json!({ "p": pa, "o": pb })).await;
    let id = link.ok()["proposePersonLink"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    srv.gql(&b_coord, CONFIRM, json!({ "id": id, "v": 1 }))
        .await
        .ok();

    // B sees exactly what it saw before: the link opened nothing of A's record.
    let after = srv.gql(&b_cw, READ, json!({ "id": pa })).await;
    assert_eq!(after.body, before_link.body);
    // A may not know B's record: the link is not listed to A, B's record stays unknown, and
    // the link's id answers as an id that does not exist.
    assert_eq!(links(srv, &a_cw, &pa).await, Vec::<Value>::new());
    let unknown = srv
        .gql(
            &a_cw,
            "query($id: ID!) { person(id: $id) { id } }",
            json!({ "id": pb }),
        )
        .await;
    only(&unknown, "NOT_FOUND", "id");
    let ghost = "00000000-0000-4000-8000-000000000000";
    let before = srv.snapshot().await;
    for (op, vars, ghost_vars) in [
        (
            REVOKE,
            json!({ "id": id, "v": 2, "r": "確認" }),
            json!({ "id": ghost, "v": 2, "r": "確認" }),
        ),
        (
            CONFIRM,
            json!({ "id": id, "v": 2 }),
            json!({ "id": ghost, "v": 2 }),
        ),
    ] {
        let hidden = srv.gql(&a_coord, op, vars).await;
        let none = srv.gql(&a_coord, op, ghost_vars).await;
        only(&hidden, "NOT_FOUND", "id");
        assert_eq!(hidden.body, none.body, "a hidden link answers as no link");
    }
    let proposed = srv.gql(&a_cw, PROPOSE, json!({ "p": pa, "o": pb })).await;
    let none = srv
        .gql(&a_cw, PROPOSE, json!({ "p": pa, "o": ghost }))
        .await;
    only(&proposed, "NOT_FOUND", "otherPersonId");
    assert_eq!(proposed.body, none.body);
    srv.assert_unchanged(&before, "A's attempts on B's link")
        .await;
    // A third agency Z that knows both records (by consent) revokes the link: B, which
    // registered one record, is not told that Z handled the person, nor Z's reason (the
    // note is NARRATIVE of both records, and B may not see A's).
    let z = srv.agency("lk-wz", "CHILD_FAMILY").await;
    let (_, z_coord) = srv.account("lk-wz-coord", &z, &["coordinator"]).await;
    srv.consent(&a_cw, consent_input(&pa, &["IDENTITY"], &[&z], &[]))
        .await;
    srv.consent(&b_cw, consent_input(&pb, &["IDENTITY"], &[&z], &[]))
        .await;
    let rv = srv
        .gql(
            &z_coord,
            REVOKE,
            json!({ "id": id, "v": 2, "r": "DV 避難中のため別登録" }),
        )
        .await;
    assert_eq!(rv.ok()["revokePersonLink"]["status"], "REVOKED");
    let seen = srv.gql(&b_cw, LINKS, json!({ "p": pb })).await;
    let l = &seen.data()["personLinks"][0];
    assert_eq!(l["proposedByAgency"]["id"], b.as_str(), "B's own proposal");
    let last = &l["history"][2];
    assert_eq!(
        (
            last["action"].clone(),
            last["accountId"].clone(),
            last["agency"].clone(),
            last["note"].clone()
        ),
        (json!("REVOKED"), Value::Null, Value::Null, Value::Null),
        "{}",
        seen.body
    );
    assert!(
        seen.codes().iter().all(|c| c == "CONSENT_REQUIRED"),
        "{}",
        seen.body
    );
    let text = seen.body.to_string();
    assert!(
        !text.contains(&z) && !text.contains("DV") && !text.contains("lk-wz"),
        "{text}"
    );
    // Z itself sees its own act and note.
    let own = srv.gql(&z_coord, LINKS, json!({ "p": pb })).await;
    let last = &own.ok()["personLinks"][0]["history"][2];
    assert_eq!(last["agency"]["id"], z.as_str());
    assert_eq!(last["note"], "DV 避難中のため別登録");
    // Nothing of B's record reached A anywhere above.
    for r in [&unknown, &proposed] {
        let text = r.body.to_string();
        assert!(
            !text.contains(&pb) && !text.contains("斎藤") && !text.contains("0235-44-5566"),
            "{text}"
        );
    }
}
