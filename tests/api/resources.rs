//! 社会資源 and participation placements: every role reads the directory, only its
//! maintainers write it; a placement is PLAN data of the person for other agencies.

use serde_json::json;
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(
    directory_is_public_and_maintained_by_its_agency,
    placements_follow_the_person_policy
);

const CREATE: &str =
    "mutation($i: ResourceInput!) { createCommunityResource(input: $i) { id version name kind } }";

fn salon(name: &str) -> serde_json::Value {
    json!({ "kind": "SALON", "name": name, "district": "中央圏域", "schedule": "毎週水曜 10:00-12:00", "targetGroups": "高齢者", "capacity": 20, "contact": "0235-00-1111" })
}

async fn directory_is_public_and_maintained_by_its_agency(srv: &Server) {
    let shakyo = srv.agency("rs-shakyo", "COMMUNITY_BUILDING").await;
    let other = srv.agency("rs-other", "COMMUNITY_BUILDING").await;
    let (_, lsc) = srv
        .account("rs-lsc", &shakyo, &["life_support_coordinator"])
        .await;
    let (_, lsc2) = srv
        .account("rs-lsc2", &other, &["life_support_coordinator"])
        .await;
    let (_, cw) = srv.account("rs-cw", &other, &["caseworker"]).await;
    let (_, analyst) = srv
        .account("rs-analyst", &srv.city_agency, &["analyst"])
        .await;
    let r = srv
        .gql(&lsc, CREATE, json!({ "i": salon("ふれあいサロン本町") }))
        .await;
    let created = r.ok()["createCommunityResource"].clone();
    let id = created["id"].as_str().unwrap().to_owned();
    // Every role reads it, the analyst included (no personal data).
    for tok in [&lsc, &lsc2, &cw, &analyst] {
        let list = srv.gql(tok, "{ communityResources(kind: SALON, district: \"中央圏域\") { name capacity schedule } }", json!({})).await;
        assert_eq!(
            list.ok()["communityResources"][0]["name"],
            "ふれあいサロン本町"
        );
    }
    // Caseworkers and analysts may not write; another agency's coordinator may not update it.
    srv.gql(&cw, CREATE, json!({ "i": salon("x") }))
        .await
        .only_error("FORBIDDEN");
    srv.gql(&analyst, CREATE, json!({ "i": salon("x") }))
        .await
        .only_error("FORBIDDEN");
    let upd = "mutation($id: ID!, $v: Int!, $i: ResourceInput!, $a: Boolean) { updateCommunityResource(id: $id, version: $v, input: $i, active: $a) { version active name } }";
    srv.gql(
        &lsc2,
        upd,
        json!({ "id": id, "v": 1, "i": salon("乗っ取り"), "a": null }),
    )
    .await
    .only_error("FORBIDDEN");
    let ok = srv
        .gql(
            &lsc,
            upd,
            json!({ "id": id, "v": 1, "i": salon("ふれあいサロン本町 (移転)"), "a": false }),
        )
        .await;
    assert_eq!(ok.ok()["updateCommunityResource"]["version"], 2);
    srv.gql(
        &lsc,
        upd,
        json!({ "id": id, "v": 1, "i": salon("stale"), "a": null }),
    )
    .await
    .only_error("CONFLICT");
    // Inactive resources leave the default list but stay readable by id.
    let list = srv
        .gql(&cw, "{ communityResources { id } }", json!({}))
        .await;
    assert_eq!(list.ok()["communityResources"], json!([]));
    let all = srv
        .gql(
            &cw,
            "{ communityResources(activeOnly: false) { name active } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all.ok()["communityResources"][0]["name"],
        "ふれあいサロン本町 (移転)"
    );
    // Bad input names its field.
    let mut bad = salon("x");
    bad["capacity"] = json!(-1);
    let e = srv
        .gql(&lsc, CREATE, json!({ "i": bad }))
        .await
        .only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "input.capacity");
}

async fn placements_follow_the_person_policy(srv: &Server) {
    let shakyo = srv.agency("pl-shakyo", "COMMUNITY_BUILDING").await;
    let b = srv.agency("pl-b", "DISABILITY").await;
    let c = srv.agency("pl-c", "CHILD_FAMILY").await;
    let (_, lsc) = srv
        .account("pl-lsc", &shakyo, &["life_support_coordinator"])
        .await;
    let (_, cw) = srv.account("pl-cw", &shakyo, &["caseworker"]).await;
    let (_, b_tok) = srv.account("pl-b-cw", &b, &["caseworker"]).await;
    let (_, c_tok) = srv.account("pl-c-cw", &c, &["caseworker"]).await;
    let res = srv
        .gql(&lsc, CREATE, json!({ "i": salon("居場所カフェ") }))
        .await;
    let res = res.ok()["createCommunityResource"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p = srv
        .person(&cw, person_input("参加", "次郎", "サンカ", "ジロウ"))
        .await;
    let start = "mutation($p: ID!, $r: ID!, $d: Date!) { startPlacement(personId: $p, resourceId: $r, startedOn: $d) { id version status resource { name } } }";
    let placed = srv
        .gql(&lsc, start, json!({ "p": p, "r": res, "d": "2026-11-01" }))
        .await;
    let placement = placed.ok()["startPlacement"].clone();
    assert_eq!(placement["status"], "ACTIVE");
    let pid = placement["id"].as_str().unwrap().to_owned();
    // B knows the person by consent for IDENTITY only: the placement is not listed for it.
    srv.consent(&cw, consent_input(&p, &["IDENTITY"], &[&b], &[]))
        .await;
    let q = "query($p: ID!) { placements(personId: $p) { id status } }";
    assert_eq!(
        srv.gql(&b_tok, q, json!({ "p": p })).await.ok()["placements"],
        json!([])
    );
    // With PLAN it is.
    srv.consent(&cw, consent_input(&p, &["PLAN"], &[&b], &[]))
        .await;
    assert_eq!(
        srv.gql(&b_tok, q, json!({ "p": p })).await.ok()["placements"][0]["id"],
        pid.as_str()
    );
    // C, with nothing, gets NOT_FOUND for the person; and cannot change the placement.
    srv.gql(&c_tok, q, json!({ "p": p }))
        .await
        .only_error("NOT_FOUND");
    let set = "mutation($id: ID!, $v: Int!, $s: PlacementStatus!, $e: Date) { setPlacementStatus(id: $id, version: $v, status: $s, endedOn: $e) { status endedOn version } }";
    srv.gql(
        &c_tok,
        set,
        json!({ "id": pid, "v": 1, "s": "ENDED", "e": "2026-11-20" }),
    )
    .await
    .only_error("NOT_FOUND");
    srv.gql(
        &b_tok,
        set,
        json!({ "id": pid, "v": 1, "s": "ENDED", "e": "2026-11-20" }),
    )
    .await
    .only_error("FORBIDDEN");
    let e = srv
        .gql(
            &lsc,
            set,
            json!({ "id": pid, "v": 1, "s": "ENDED", "e": null }),
        )
        .await
        .only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "endedOn");
    let e = srv
        .gql(
            &lsc,
            set,
            json!({ "id": pid, "v": 1, "s": "ENDED", "e": "2026-10-01" }),
        )
        .await
        .only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "endedOn");
    let ended = srv
        .gql(
            &lsc,
            set,
            json!({ "id": pid, "v": 1, "s": "ENDED", "e": "2026-11-20" }),
        )
        .await;
    assert_eq!(ended.ok()["setPlacementStatus"]["endedOn"], "2026-11-20");
    srv.gql(
        &lsc,
        set,
        json!({ "id": pid, "v": 1, "s": "ACTIVE", "e": null }),
    )
    .await
    .only_error("CONFLICT");
    // Both writes are ledgered against the person.
    let ops: Vec<String> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|r| r.action == "WRITE" && r.subject_person_id.as_deref() == Some(p.as_str()))
        .map(|r| r.operation)
        .collect();
    assert!(
        ops.contains(&"startPlacement".to_owned())
            && ops.contains(&"setPlacementStatus".to_owned()),
        "{ops:?}"
    );
    // A bad date is BAD_USER_INPUT naming its argument.
    let e = srv
        .gql(&lsc, start, json!({ "p": p, "r": res, "d": "2026-13-01" }))
        .await
        .only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "startedOn");
}
