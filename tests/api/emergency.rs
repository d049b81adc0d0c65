//! Emergency access (生命・身体の保護): a stated reason opens one person to one account for
//! hours, every read is ledgered as EMERGENCY, admins see it at once and can close it; it
//! expires by itself; it never opens a suppressed address.

use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};
use tsunagi_tests::{person_input, tests, Server};

tests!(
    break_glass_opens_one_person_for_one_account,
    break_glass_limits_and_roles
);

const VIEW: &str =
    "query EmergencyView($p: ID!) { person(id: $p) { familyName careLevel address phone } }";
const REQUEST: &str = "mutation($p: ID!, $r: String!, $h: Int) { requestEmergencyAccess(personId: $p, reason: $r, hours: $h) { id active expiresAt grantedAt } }";

async fn break_glass_opens_one_person_for_one_account(srv: &Server) {
    let a = srv.agency("em-a", "COMPREHENSIVE_CARE").await;
    let c = srv.agency("em-c", "SELF_RELIANCE").await;
    let (_, a_tok) = srv.account("em-a-cw", &a, &["caseworker"]).await;
    let (c_cw, c_tok) = srv.account("em-c-cw", &c, &["caseworker"]).await;
    let (_, c_other) = srv.account("em-c-cw2", &c, &["caseworker"]).await;
    let mut input = person_input("緊急", "花子", "キンキュウ", "ハナコ");
    input["addressConfidential"] = json!(true);
    let p = srv.person(&a_tok, input).await;

    srv.gql(&c_tok, VIEW, json!({ "p": p }))
        .await
        .only_error("NOT_FOUND");
    let g = srv
        .gql(&c_tok, REQUEST, json!({ "p": p, "r": "自宅で倒れているとの通報。救急搬送先に既往歴を伝える必要", "h": 2 }))
        .await;
    let grant = g.ok()["requestEmergencyAccess"].clone();
    assert_eq!(grant["active"], true);
    let grant_id = grant["id"].as_str().unwrap().to_owned();

    // No renewing it by oneself while it is open.
    srv.gql(
        &c_tok,
        REQUEST,
        json!({ "p": p, "r": "延長したいので再申請します、まだ搬送中", "h": 24 }),
    )
    .await
    .only_error("CONFLICT");

    // The grantee sees the person, health included; never the suppressed address.
    let seen = srv.gql(&c_tok, VIEW, json!({ "p": p })).await;
    assert_eq!(seen.data()["person"]["familyName"], "緊急");
    assert_eq!(seen.data()["person"]["careLevel"], "要介護2");
    seen.assert_withheld(&[json!("person"), json!("address")], "CONTACT");
    assert_eq!(
        seen.errors()[0]["extensions"]["reason"],
        "NO_BASIS",
        "the client is not told that the address is suppressed"
    );
    assert!(!seen.body.to_string().contains("ADDRESS_CONFIDENTIAL"));
    // Another account of the same agency does not.
    srv.gql(&c_other, VIEW, json!({ "p": p }))
        .await
        .only_error("NOT_FOUND");

    // The ledger marks the reads as EMERGENCY with the grant, and the grant itself as an alert.
    let rows = srv.ledger().await;
    let read = rows
        .iter()
        .rev()
        .find(|r| {
            r.account_id.as_deref() == Some(c_cw.as_str())
                && r.action == "READ"
                && r.operation == "EmergencyView"
        })
        .expect("read row");
    let bases: Value = serde_json::from_str(&read.bases).unwrap();
    assert_eq!(bases["HEALTH"], json!([format!("EMERGENCY:{grant_id}")]));
    assert_eq!(bases["IDENTITY"], json!([format!("EMERGENCY:{grant_id}")]));
    let write = rows
        .iter()
        .find(|r| r.operation == "requestEmergencyAccess")
        .expect("grant row");
    assert_eq!(write.subject_person_id.as_deref(), Some(p.as_str()));
    assert!(write.detail.contains("EMERGENCY_ACCESS"));

    // Admins see it at once; auditors too; a caseworker may not list grants.
    let open = srv
        .gql(
            &srv.admin_token,
            "{ emergencyGrants { id personId reason active account { login } } }",
            json!({}),
        )
        .await;
    let open = open.ok()["emergencyGrants"].as_array().unwrap().clone();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["account"]["login"], "em-c-cw");
    srv.gql(&c_tok, "{ emergencyGrants { id } }", json!({}))
        .await
        .only_error("FORBIDDEN");

    // The alert feed carries it, newest first.
    let feed = srv
        .gql(
            &srv.admin_token,
            "{ alertFeed { edges { node { operation subjectPersonId detail } } } }",
            json!({}),
        )
        .await;
    let feed = feed.ok()["alertFeed"]["edges"].as_array().unwrap().clone();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0]["node"]["operation"], "requestEmergencyAccess");
    assert_eq!(feed[0]["node"]["subjectPersonId"], p.as_str());
    srv.gql(
        &c_tok,
        "{ alertFeed { edges { node { seq } } } }",
        json!({}),
    )
    .await
    .only_error("FORBIDDEN");

    // An admin closes it: access ends on the next request.
    let closed = srv
        .gql(&srv.admin_token, "mutation($id: ID!) { closeEmergencyGrant(id: $id, note: \"搬送完了を確認\") { active closedAt reviewNote } }", json!({ "id": grant_id }))
        .await;
    assert_eq!(closed.ok()["closeEmergencyGrant"]["active"], false);
    srv.gql(&c_tok, VIEW, json!({ "p": p }))
        .await
        .only_error("NOT_FOUND");
    let again = srv
        .gql(
            &srv.admin_token,
            "mutation($id: ID!) { closeEmergencyGrant(id: $id, note: \"x\") { id } }",
            json!({ "id": grant_id }),
        )
        .await;
    again.only_error("CONFLICT");

    // A second grant expires by itself (moved into the past here; nothing else changes).
    let g2 = srv
        .gql(
            &c_tok,
            REQUEST,
            json!({ "p": p, "r": "再度の緊急連絡、安否確認が必要なため", "h": null }),
        )
        .await;
    let g2 = g2.ok()["requestEmergencyAccess"].clone();
    let granted = chrono::DateTime::parse_from_rfc3339(g2["grantedAt"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(g2["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!((expires - granted).num_hours(), 4, "the configured default");
    assert_eq!(
        srv.gql(&c_tok, VIEW, json!({ "p": p })).await.data()["person"]["familyName"],
        "緊急"
    );
    let backend = srv.db.get_database_backend();
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    srv.db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    "UPDATE emergency_grant SET expires_at = $1 WHERE id = $2"
                }
                _ => "UPDATE emergency_grant SET expires_at = ? WHERE id = ?",
            },
            [past.into(), g2["id"].as_str().unwrap().into()],
        ))
        .await
        .unwrap();
    srv.gql(&c_tok, VIEW, json!({ "p": p }))
        .await
        .only_error("NOT_FOUND");
    let mine = srv
        .gql(&c_tok, "{ myEmergencyGrants { id active } }", json!({}))
        .await;
    let mine = mine.ok()["myEmergencyGrants"].as_array().unwrap().clone();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|g| g["active"] == false));
}

async fn break_glass_limits_and_roles(srv: &Server) {
    let a = srv.agency("el-a", "COMPREHENSIVE_CARE").await;
    let (_, a_tok) = srv.account("el-a-cw", &a, &["caseworker"]).await;
    let (_, analyst) = srv.account("el-analyst", &a, &["analyst"]).await;
    let (_, lsc) = srv
        .account("el-lsc", &a, &["life_support_coordinator"])
        .await;
    let p = srv
        .person(&a_tok, person_input("制限", "一郎", "セイゲン", "イチロウ"))
        .await;
    let before = srv.snapshot().await;
    for (tok, vars, code, field) in [
        (
            &a_tok,
            json!({ "p": p, "r": "理由が十分に長い緊急の説明", "h": 25 }),
            "BAD_USER_INPUT",
            Some("hours"),
        ),
        (
            &a_tok,
            json!({ "p": p, "r": "理由が十分に長い緊急の説明", "h": 0 }),
            "BAD_USER_INPUT",
            Some("hours"),
        ),
        (
            &a_tok,
            json!({ "p": p, "r": "短い", "h": 1 }),
            "BAD_USER_INPUT",
            Some("reason"),
        ),
        (
            &a_tok,
            json!({ "p": "01890000-0000-7000-8000-000000000000", "r": "理由が十分に長い緊急の説明", "h": 1 }),
            "NOT_FOUND",
            Some("personId"),
        ),
        (
            &analyst,
            json!({ "p": p, "r": "理由が十分に長い緊急の説明", "h": 1 }),
            "FORBIDDEN",
            None,
        ),
        (
            &lsc,
            json!({ "p": p, "r": "理由が十分に長い緊急の説明", "h": 1 }),
            "FORBIDDEN",
            None,
        ),
    ] {
        let e = srv.gql(tok, REQUEST, vars).await.only_error(code);
        if let Some(f) = field {
            assert_eq!(e["extensions"]["field"], f);
        }
    }
    srv.assert_unchanged(&before, "refused emergency requests")
        .await;
    // Only an admin closes; an auditor may look but not close.
    let (_, auditor) = srv
        .account("el-auditor", &srv.city_agency, &["auditor"])
        .await;
    let g = srv
        .gql(
            &a_tok,
            REQUEST,
            json!({ "p": p, "r": "自傷のおそれがあり所在確認が必要", "h": 1 }),
        )
        .await;
    let id = g.ok()["requestEmergencyAccess"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        srv.gql(&auditor, "{ emergencyGrants { id } }", json!({}))
            .await
            .ok()["emergencyGrants"][0]["id"],
        id.as_str()
    );
    srv.gql(
        &auditor,
        "mutation($id: ID!) { closeEmergencyGrant(id: $id, note: \"確認\") { id } }",
        json!({ "id": id }),
    )
    .await
    .only_error("FORBIDDEN");
}
