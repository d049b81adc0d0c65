//! Keeping the hub administrable: nobody deactivates their own account, the last active
//! admin is neither deactivated nor stripped of the role, and a deactivated account can be
//! reactivated (admin only, ledgered), its old tokens working again from the next request.

use serde_json::{json, Value};
use tsunagi_tests::{tests, Gql, Server};

tests!(
    the_last_admin_and_oneself_are_never_deactivated,
    a_deactivated_account_is_reactivated_by_an_admin,
    an_admin_keeps_their_own_agency_and_accounts_stay_in_active_ones,
    two_admins_deactivating_each_other_at_once_leave_one,
);

const VIEWER: &str = "{ viewer { account { login active } effectiveRoles } }";

/// An account's version, read by an admin (`token`).
async fn version_as(srv: &Server, token: &str, id: &str) -> i64 {
    srv.account_version(token, id).await
}

async fn version(srv: &Server, id: &str) -> i64 {
    version_as(srv, &srv.admin_token, id).await
}

async fn deactivate(srv: &Server, token: &str, id: &str) -> Gql {
    let v = version_as(srv, token, id).await;
    srv.gql(
        token,
        "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { active } }",
        json!({ "id": id, "v": v }),
    )
    .await
}

async fn set_roles(srv: &Server, token: &str, id: &str, roles: Value) -> Gql {
    let v = version_as(srv, token, id).await;
    srv.gql(
        token,
        "mutation($id: ID!, $v: Int!, $r: [Role!]!) { setAccountRoles(id: $id, version: $v, roles: $r) { roles } }",
        json!({ "id": id, "v": v, "r": roles }),
    )
    .await
}

/// The ledger's WRITE rows for `operation`, as record ids.
async fn written(srv: &Server, operation: &str) -> Vec<String> {
    srv.ledger()
        .await
        .into_iter()
        .filter(|e| e.action == "WRITE" && e.operation == operation)
        .filter_map(|e| e.record_id)
        .collect()
}

async fn the_last_admin_and_oneself_are_never_deactivated(srv: &Server) {
    let admin = srv.admin_id.clone();
    // The only admin: not itself, and not by dropping the role either.
    let before = version(srv, &admin).await;
    let r = deactivate(srv, &srv.admin_token, &admin).await;
    let e = r.only_error("CONFLICT");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot deactivate itself"),
        "{e}"
    );
    let r = set_roles(srv, &srv.admin_token, &admin, json!(["AUDITOR"])).await;
    let e = r.only_error("CONFLICT");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("last active admin"),
        "{e}"
    );
    assert_eq!(version(srv, &admin).await, before, "nothing was written");
    let me = srv.gql(&srv.admin_token, VIEWER, json!({})).await;
    assert_eq!(me.ok()["viewer"]["account"]["active"], true);
    assert!(me.ok()["viewer"]["effectiveRoles"]
        .as_array()
        .expect("roles")
        .contains(&json!("ADMIN")));

    // With a second admin, one admin may deactivate the other, and then that one is last.
    let (second, second_token) = srv
        .account("acct-admin-2", &srv.city_agency, &["admin"])
        .await;
    let r = deactivate(srv, &second_token, &admin).await;
    assert_eq!(r.ok()["deactivateAccount"]["active"], false);
    let r = deactivate(srv, &second_token, &second).await;
    r.only_error("CONFLICT");
    let r = set_roles(srv, &second_token, &second, json!(["AUDITOR"])).await;
    let e = r.only_error("CONFLICT");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("last active admin"),
        "{e}"
    );
    // Keeping the role is fine.
    let r = set_roles(srv, &second_token, &second, json!(["ADMIN", "AUDITOR"])).await;
    assert_eq!(
        r.ok()["setAccountRoles"]["roles"],
        json!(["ADMIN", "AUDITOR"])
    );
    // The refusals left no write in the ledger; the one deactivation did.
    assert_eq!(written(srv, "deactivateAccount").await, vec![admin.clone()]);
}

async fn a_deactivated_account_is_reactivated_by_an_admin(srv: &Server) {
    let (worker, token) = srv
        .account("acct-worker", &srv.city_agency, &["caseworker"])
        .await;
    let r = deactivate(srv, &srv.admin_token, &worker).await;
    assert_eq!(r.ok()["deactivateAccount"]["active"], false);
    let refused = srv.gql(&token, VIEWER, json!({})).await;
    assert_eq!(refused.status, 401, "{}", refused.body);

    const REACTIVATE: &str =
        "mutation($id: ID!, $v: Int!) { reactivateAccount(id: $id, version: $v) { active version } }";
    // Not by a caseworker (another one, still active), nor by the account itself.
    let (_, other) = srv
        .account("acct-worker-2", &srv.city_agency, &["caseworker"])
        .await;
    let v = version(srv, &worker).await;
    srv.gql(&other, REACTIVATE, json!({ "id": worker, "v": v }))
        .await
        .only_error("FORBIDDEN");
    // A stale version is a conflict; nothing changes.
    let r = srv
        .gql(
            &srv.admin_token,
            REACTIVATE,
            json!({ "id": worker, "v": v - 1 }),
        )
        .await;
    r.only_error("CONFLICT");
    let r = srv
        .gql(
            &srv.admin_token,
            REACTIVATE,
            json!({ "id": worker, "v": v }),
        )
        .await;
    assert_eq!(
        r.ok()["reactivateAccount"],
        json!({ "active": true, "version": v + 1 })
    );
    // The same token works again, with the account's roles.
    let me = srv.gql(&token, VIEWER, json!({})).await;
    assert_eq!(me.ok()["viewer"]["account"]["login"], "acct-worker");
    assert_eq!(me.ok()["viewer"]["effectiveRoles"], json!(["CASEWORKER"]));
    let rows: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.operation == "reactivateAccount")
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].action, "WRITE");
    assert_eq!(rows[0].record_id.as_deref(), Some(worker.as_str()));
    assert_eq!(rows[0].account_id.as_deref(), Some(srv.admin_id.as_str()));
}

/// Accounts of an inactive agency are refused at sign-in, so an agency's deactivation is an
/// admin's deactivation too: an admin cannot deactivate their own agency, and no account
/// moves into a deactivated one.
async fn an_admin_keeps_their_own_agency_and_accounts_stay_in_active_ones(srv: &Server) {
    const UPDATE: &str = "mutation($id: ID!, $v: Int!, $i: UpdateAgencyInput!) { updateAgency(id: $id, version: $v, input: $i) { active version } }";
    let agency_version = |id: String| async move {
        let r = srv
            .gql(&srv.admin_token, "{ agencies { id version } }", json!({}))
            .await;
        r.ok()["agencies"]
            .as_array()
            .expect("agencies")
            .iter()
            .find(|a| a["id"] == id.as_str())
            .and_then(|a| a["version"].as_i64())
            .expect("agency version")
    };
    let city = srv.city_agency.clone();
    let v = agency_version(city.clone()).await;
    let r = srv
        .gql(
            &srv.admin_token,
            UPDATE,
            json!({ "id": city, "v": v, "i": { "active": false } }),
        )
        .await;
    let e = r.only_error("CONFLICT");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("their own agency"),
        "{e}"
    );
    assert_eq!(agency_version(city.clone()).await, v, "nothing was written");
    // Another agency may be deactivated; then nobody moves into it.
    let other = srv.agency("acct-other", "THIRD_PARTY").await;
    let v = agency_version(other.clone()).await;
    let r = srv
        .gql(
            &srv.admin_token,
            UPDATE,
            json!({ "id": other, "v": v, "i": { "active": false } }),
        )
        .await;
    assert_eq!(r.ok()["updateAgency"]["active"], false);
    let (worker, _) = srv.account("acct-mover", &city, &["caseworker"]).await;
    let v = version(srv, &worker).await;
    let r = srv
        .gql(
            &srv.admin_token,
            "mutation($id: ID!, $v: Int!, $a: ID!) { updateAccount(id: $id, version: $v, input: { agencyId: $a }) { id } }",
            json!({ "id": worker, "v": v, "a": other }),
        )
        .await;
    let e = r.only_error("CONFLICT");
    assert!(
        e["message"]
            .as_str()
            .unwrap_or_default()
            .contains("deactivated agency"),
        "{e}"
    );
    assert_eq!(version(srv, &worker).await, v);
}

/// The last two admins deactivate each other at the same moment: at most one succeeds
/// (the other is refused, or finds its own account already gone), and one admin is left.
/// Four rounds, each with a new second admin reactivated by the survivor.
async fn two_admins_deactivating_each_other_at_once_leave_one(srv: &Server) {
    let mut admins = Vec::new();
    for n in 0..5 {
        admins.push(
            srv.account(&format!("acct-race-{n}"), &srv.city_agency, &["admin"])
                .await,
        );
    }
    let (first, first_token) = admins[0].clone();
    // Only admins[0] and admins[1] stay active.
    for id in [
        srv.admin_id.clone(),
        admins[2].0.clone(),
        admins[3].0.clone(),
        admins[4].0.clone(),
    ] {
        let r = deactivate(srv, &first_token, &id).await;
        assert_eq!(r.ok()["deactivateAccount"]["active"], false);
    }
    const REACTIVATE: &str =
        "mutation($id: ID!, $v: Int!) { reactivateAccount(id: $id, version: $v) { active } }";
    let mut survivor = (first, first_token);
    for other in [1, 2, 3, 4] {
        let (other_id, other_token) = admins[other].clone();
        if other > 1 {
            let v = version_as(srv, &survivor.1, &other_id).await;
            srv.gql(&survivor.1, REACTIVATE, json!({ "id": other_id, "v": v }))
                .await
                .ok();
        }
        let (a, b) = (survivor.clone(), (other_id.clone(), other_token.clone()));
        let va = version_as(srv, &a.1, &b.0).await;
        let vb = version_as(srv, &a.1, &a.0).await;
        const DEACTIVATE: &str =
            "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { active } }";
        let (ra, rb) = tokio::join!(
            srv.gql(&a.1, DEACTIVATE, json!({ "id": b.0, "v": va })),
            srv.gql(&b.1, DEACTIVATE, json!({ "id": a.0, "v": vb })),
        );
        let won = |r: &Gql| r.status == 200 && r.errors().is_empty();
        assert!(
            !(won(&ra) && won(&rb)),
            "round {other}: both admins were deactivated: {} / {}",
            ra.body,
            rb.body
        );
        for r in [&ra, &rb] {
            if !won(r) {
                let code = r.codes();
                assert!(
                    code == ["CONFLICT"] || code == ["UNAUTHENTICATED"],
                    "round {other}: {}",
                    r.body
                );
            }
        }
        survivor = if won(&rb) { b } else { a };
        // The survivor is still an admin who can act.
        let me = srv.gql(&survivor.1, VIEWER, json!({})).await;
        assert_eq!(
            me.ok()["viewer"]["account"]["active"],
            true,
            "round {other}"
        );
    }
}
