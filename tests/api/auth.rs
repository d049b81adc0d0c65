//! Authentication at the HTTP edge. Every refused request is HTTP 401 with `data: null` and
//! exactly one UNAUTHENTICATED error whose `extensions.reason` names the failure, and it
//! carries no field data and leaves no trace in the ledger. The token only says who (`sub`)
//! and may narrow the roles; the registry decides, so a deactivation or a role change takes
//! effect on the very next request made with the same token.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tsunagi_api::auth::{KeyConfig, KeySource};
use tsunagi_tests::fixtures::{jwks, jwt_fixture, jwt_fixture_bytes};
use tsunagi_tests::{tests, Gql, Server, TempDir, AUDIENCE, ISSUER, SECRET};

tests!(
    header_problems_are_refused,
    forged_and_invalid_tokens_are_refused,
    tokens_missing_a_required_claim_are_refused,
    leeway_accepts_slightly_stale_tokens,
    token_size_limit_is_exact,
    unknown_account_is_refused,
    deactivated_account_is_refused_with_the_same_token,
    deactivated_agency_refuses_its_accounts,
    roles_claim_narrows_registry_roles,
    roles_claim_cannot_grant_roles,
    role_change_applies_to_the_next_request,
    non_admin_cannot_create_agency,
    asymmetric_tokens_are_checked_strictly,
    hub_signing_keys_of_each_type_sign_and_verify,
    jwks_rotation_without_restart,
    idp_keys_only_verify_and_refuse_hs256,
    hs256_beside_a_key_set_keeps_algorithms_pinned,
);

const VIEWER: &str = "{ viewer { account { login } effectiveRoles } }";
/// The server's limit (`tsunagi_api::auth::MAX_TOKEN_BYTES`), restated: the test pins it.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
const HOUR: u64 = 3600;

/// Someone the tests act as: an account, its login (which must never leak in a refusal) and
/// a valid token minted by the server's own code.
struct Identity {
    id: String,
    login: String,
    token: String,
}

/// Two caseworkers in two agencies of different kinds.
async fn two_identities(srv: &Server) -> [Identity; 2] {
    let a = srv.agency("auth-houkatsu", "COMPREHENSIVE_CARE").await;
    let b = srv.agency("auth-kodomo", "CHILD_FAMILY").await;
    let (a_id, a_tok) = srv.account("auth-cw-alpha", &a, &["caseworker"]).await;
    let (b_id, b_tok) = srv
        .account("auth-cw-bravo", &b, &["caseworker", "coordinator"])
        .await;
    [
        Identity {
            id: a_id,
            login: "auth-cw-alpha".to_owned(),
            token: a_tok,
        },
        Identity {
            id: b_id,
            login: "auth-cw-bravo".to_owned(),
            token: b_tok,
        },
    ]
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Claims the server accepts for `sub`, valid for an hour.
fn claims(sub: &str) -> Value {
    let now = now();
    json!({ "sub": sub, "iss": ISSUER, "aud": AUDIENCE, "exp": now + HOUR, "nbf": now, "iat": now })
}

/// `claims` with one claim set (or replaced).
fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

/// `claims` with one claim removed.
fn without(mut claims: Value, key: &str) -> Value {
    if let Some(map) = claims.as_object_mut() {
        map.remove(key);
    }
    claims
}

fn sign_with(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
        .expect("encode token")
}

/// Signed correctly (HS256, the server's secret).
fn sign(claims: &Value) -> String {
    sign_with(Algorithm::HS256, SECRET, claims)
}

/// Unpadded base64url (RFC 4648 §5), as JWS uses.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn segment(v: &Value) -> String {
    b64url(v.to_string().as_bytes())
}

/// A token built by hand from a header and claims, signed with HS256 and the server's secret
/// over exactly these segments (whatever the header claims).
fn hand_signed(header: &Value, claims: &Value) -> String {
    let message = format!("{}.{}", segment(header), segment(claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET),
        Algorithm::HS256,
    )
    .expect("sign");
    format!("{message}.{signature}")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn viewer(srv: &Server, authorization: Option<&str>) -> Gql {
    srv.raw(authorization, json!({ "query": VIEWER })).await
}

async fn viewer_as(srv: &Server, token: &str) -> Gql {
    viewer(srv, Some(&bearer(token))).await
}

/// What is wrong with `r` as a refusal: it must be 401 with `data: null`, one
/// UNAUTHENTICATED error with `reason` and a message, and none of `secrets` (logins, ids)
/// anywhere in the body.
fn refusal_problems(r: &Gql, reason: &str, secrets: &[&str]) -> Vec<String> {
    let mut p = Vec::new();
    if r.status != 401 {
        p.push(format!("HTTP status {} (want 401)", r.status));
    }
    if r.body.get("data") != Some(&Value::Null) {
        p.push("data is not present-and-null".to_owned());
    }
    let errors = r.errors();
    if errors.len() == 1 {
        let ext = &errors[0]["extensions"];
        if ext["code"] != "UNAUTHENTICATED" {
            p.push(format!("code {} (want UNAUTHENTICATED)", ext["code"]));
        }
        if ext["reason"] != reason {
            p.push(format!("reason {} (want {reason:?})", ext["reason"]));
        }
        if errors[0]["message"].as_str().is_none_or(str::is_empty) {
            p.push("no message".to_owned());
        }
    } else {
        p.push(format!("{} errors (want 1)", errors.len()));
    }
    let text = r.body.to_string();
    for s in secrets {
        if text.contains(s) {
            p.push(format!("body leaks {s:?}"));
        }
    }
    p
}

fn assert_refused(r: &Gql, reason: &str, secrets: &[&str], case: &str) {
    let p = refusal_problems(r, reason, secrets);
    assert!(p.is_empty(), "{case}: {}; body: {}", p.join(", "), r.body);
}

/// 200, no errors, the viewer is `login` with exactly `roles` in effect.
fn assert_viewer(r: &Gql, login: &str, roles: &[&str], case: &str) {
    assert_eq!(r.status, 200, "{case}: HTTP status, body: {}", r.body);
    assert!(
        r.errors().is_empty(),
        "{case}: unexpected errors: {}",
        r.body
    );
    assert_eq!(
        r.data()["viewer"]["account"]["login"],
        login,
        "{case}: {}",
        r.body
    );
    assert_eq!(
        r.data()["viewer"]["effectiveRoles"],
        json!(roles),
        "{case}: {}",
        r.body
    );
}

/// Run a table of (case, token, reason) against `viewer` and report every mismatch at once;
/// refused requests must not reach the ledger.
async fn check_table(srv: &Server, table: Vec<(String, String, &str)>, secrets: &[&str]) {
    let before = srv.snapshot().await;
    let mut failures = Vec::new();
    for (case, token, reason) in &table {
        let r = viewer_as(srv, token).await;
        let p = refusal_problems(&r, reason, secrets);
        if !p.is_empty() {
            failures.push(format!("  {case}: {}; body: {}", p.join(", "), r.body));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    srv.assert_unchanged(
        &before,
        "a refused request writes nothing, not even the ledger",
    )
    .await;
}

async fn account_version(srv: &Server, id: &str) -> i64 {
    srv.account_version(&srv.admin_token, id).await
}

async fn agency_codes(srv: &Server) -> Vec<String> {
    let r = srv
        .gql(&srv.admin_token, "{ agencies { code } }", json!({}))
        .await;
    let mut codes: Vec<String> = r.ok()["agencies"]
        .as_array()
        .expect("agencies")
        .iter()
        .filter_map(|a| a["code"].as_str().map(str::to_owned))
        .collect();
    codes.sort();
    codes
}

async fn header_problems_are_refused(srv: &Server) {
    let [a, b] = two_identities(srv).await;
    let secrets = [a.login.as_str(), b.login.as_str()];
    let (head, payload, _) = split3(&a.token);
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no Authorization header", None, "missing_token"),
        (
            "Basic scheme",
            Some("Basic abc".to_owned()),
            "malformed_token",
        ),
        (
            "Basic scheme carrying a valid JWT",
            Some(format!("Basic {}", a.token)),
            "malformed_token",
        ),
        (
            "bare token, no scheme",
            Some(a.token.clone()),
            "malformed_token",
        ),
        (
            "Bearer garbage",
            Some("Bearer not-a-jwt-at-all!!".to_owned()),
            "malformed_token",
        ),
        (
            "Bearer, empty token",
            Some("Bearer ".to_owned()),
            "malformed_token",
        ),
        (
            "two segments",
            Some(bearer(&format!("{head}.{payload}"))),
            "malformed_token",
        ),
        (
            "four segments",
            Some(bearer(&format!("{}.extra", b.token))),
            "malformed_token",
        ),
        (
            "header segment not base64url JSON",
            Some(bearer(&format!("%%%.{payload}.abc"))),
            "malformed_token",
        ),
    ];
    let before = srv.snapshot().await;
    for (case, header, reason) in &cases {
        let r = viewer(srv, header.as_deref()).await;
        assert_refused(&r, reason, &secrets, case);
    }
    srv.assert_unchanged(&before, "malformed Authorization headers")
        .await;
    // The same valid tokens, properly presented, work (also with a lower-case scheme).
    assert_viewer(
        &viewer_as(srv, &a.token).await,
        &a.login,
        &["CASEWORKER"],
        "a",
    );
    let lower = viewer(srv, Some(&format!("bearer {}", b.token))).await;
    assert_viewer(
        &lower,
        &b.login,
        &["COORDINATOR", "CASEWORKER"],
        "b, bearer",
    );
}

fn split3(token: &str) -> (String, String, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS compact token: {token}");
    (
        parts[0].to_owned(),
        parts[1].to_owned(),
        parts[2].to_owned(),
    )
}

async fn forged_and_invalid_tokens_are_refused(srv: &Server) {
    let ids = two_identities(srv).await;
    let secrets: Vec<&str> = ids
        .iter()
        .flat_map(|i| [i.login.as_str(), i.id.as_str()])
        .collect();
    let mut table: Vec<(String, String, &str)> = Vec::new();
    for (n, me) in ids.iter().enumerate() {
        let other = &ids[1 - n];
        let base = claims(&me.id);
        let now = now();
        let mut case = |name: &str, token: String, reason: &'static str| {
            table.push((format!("{} / {name}", me.login), token, reason));
        };
        case(
            "expired 2 h ago",
            sign(&with(
                with(base.clone(), "exp", json!(now - 2 * HOUR)),
                "nbf",
                json!(now - 3 * HOUR),
            )),
            "token_expired",
        );
        case(
            "expired 31 min ago (beyond leeway)",
            sign(&with(base.clone(), "exp", json!(now - 31 * 60))),
            "token_expired",
        );
        case(
            "nbf 2 h ahead",
            sign(&with(
                with(base.clone(), "nbf", json!(now + 2 * HOUR)),
                "exp",
                json!(now + 3 * HOUR),
            )),
            "token_not_yet_valid",
        );
        case(
            "signed with another secret",
            sign_with(
                Algorithm::HS256,
                b"another-secret-0123456789-abcdefghijklmnopqrstuv",
                &base,
            ),
            "bad_signature",
        );
        let (head, _, sig) = split3(&me.token);
        case(
            "payload re-encoded with another sub, original signature",
            format!("{head}.{}.{sig}", segment(&claims(&other.id))),
            "bad_signature",
        );
        let (_, payload, _) = split3(&me.token);
        case(
            "signature of another valid token",
            format!("{head}.{payload}.{}", split3(&other.token).2),
            "bad_signature",
        );
        // The first base64url character carries six whole bits, so changing it keeps the
        // signature decodable but wrong.
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        case(
            "signature with its first character changed",
            format!("{head}.{payload}.{flipped}{}", &sig[1..]),
            "bad_signature",
        );
        case(
            "signature not base64url",
            format!("{head}.{payload}.{}", "!".repeat(43)),
            "malformed_token",
        );
        case(
            "wrong iss",
            sign(&with(base.clone(), "iss", json!("someone-else"))),
            "wrong_issuer",
        );
        case(
            "wrong aud",
            sign(&with(base.clone(), "aud", json!("another-api"))),
            "wrong_audience",
        );
        case(
            "alg none, empty signature",
            format!(
                "{}.{}.",
                segment(&json!({ "alg": "none", "typ": "JWT" })),
                segment(&base)
            ),
            "algorithm_not_allowed",
        );
        case(
            "alg HS512 with the right secret",
            sign_with(Algorithm::HS512, SECRET, &base),
            "algorithm_not_allowed",
        );
        case(
            "header claims RS256 (HS256 signature)",
            hand_signed(&json!({ "alg": "RS256", "typ": "JWT" }), &base),
            "algorithm_not_allowed",
        );
        case(
            "header without alg",
            hand_signed(&json!({ "typ": "JWT" }), &base),
            "malformed_token",
        );
        case(
            "oversized (huge claim)",
            sign(&with(base.clone(), "pad", json!("x".repeat(9 * 1024)))),
            "token_too_large",
        );
        case(
            "roles claim with an unknown role",
            sign(&with(base.clone(), "roles", json!(["superuser"]))),
            "invalid_roles_claim",
        );
        case(
            "roles claim mixing a known and an unknown role",
            sign(&with(base.clone(), "roles", json!(["caseworker", "root"]))),
            "invalid_roles_claim",
        );
    }
    check_table(srv, table, &secrets).await;
    // The genuine tokens still work.
    assert_viewer(
        &viewer_as(srv, &ids[0].token).await,
        &ids[0].login,
        &["CASEWORKER"],
        "a",
    );
    assert_viewer(
        &viewer_as(srv, &ids[1].token).await,
        &ids[1].login,
        &["COORDINATOR", "CASEWORKER"],
        "b",
    );
}

/// exp, nbf, iss, aud, sub and iat are all required (auth.rs `validation`, `check_age`): a correctly signed
/// token without one of them is refused as `missing_claim`.
async fn tokens_missing_a_required_claim_are_refused(srv: &Server) {
    let ids = two_identities(srv).await;
    let secrets: Vec<&str> = ids
        .iter()
        .flat_map(|i| [i.login.as_str(), i.id.as_str()])
        .collect();
    let mut table: Vec<(String, String, &str)> = Vec::new();
    for me in &ids {
        for claim in ["exp", "nbf", "sub", "iss", "aud", "iat"] {
            table.push((
                format!("{} / missing {claim}", me.login),
                sign(&without(claims(&me.id), claim)),
                "missing_claim",
            ));
        }
    }
    check_table(srv, table, &secrets).await;
}

async fn leeway_accepts_slightly_stale_tokens(srv: &Server) {
    let ids = two_identities(srv).await;
    let roles: [&[&str]; 2] = [&["CASEWORKER"], &["COORDINATOR", "CASEWORKER"]];
    for (me, roles) in ids.iter().zip(roles) {
        let now = now();
        let expired_10s = sign(&with(
            with(claims(&me.id), "exp", json!(now - 10)),
            "nbf",
            json!(now - HOUR),
        ));
        let r = viewer_as(srv, &expired_10s).await;
        assert_viewer(
            &r,
            &me.login,
            roles,
            "exp 10 s ago is within the 30 s leeway",
        );
        let early_10s = sign(&with(claims(&me.id), "nbf", json!(now + 10)));
        let r = viewer_as(srv, &early_10s).await;
        assert_viewer(
            &r,
            &me.login,
            roles,
            "nbf 10 s ahead is within the 30 s leeway",
        );
    }
}

/// A token of exactly MAX_TOKEN_BYTES is accepted; one byte more is refused.
async fn token_size_limit_is_exact(srv: &Server) {
    let ids = two_identities(srv).await;
    let secrets: Vec<&str> = ids.iter().map(|i| i.login.as_str()).collect();
    let roles: [&[&str]; 2] = [&["CASEWORKER"], &["COORDINATOR", "CASEWORKER"]];
    for (me, roles) in ids.iter().zip(roles) {
        let base = claims(&me.id);
        let sized = |pad: usize| sign(&with(base.clone(), "pad", json!("x".repeat(pad))));
        // Unpadded base64 never has length 4k+1, so walk the pad one byte at a time and keep
        // the longest token within the limit and the shortest beyond it.
        let mut pad = 5_000;
        while sized(pad).len() < MAX_TOKEN_BYTES - 16 {
            pad += 1;
        }
        let (mut within, mut beyond) = (None, None);
        while beyond.is_none() {
            let t = sized(pad);
            if t.len() <= MAX_TOKEN_BYTES {
                within = Some(t);
            } else {
                beyond = Some(t);
            }
            pad += 1;
        }
        let within = within.expect("a token within the limit");
        let beyond = beyond.expect("a token beyond the limit");
        assert!(within.len() >= MAX_TOKEN_BYTES - 1, "{}", within.len());
        assert!(beyond.len() <= MAX_TOKEN_BYTES + 2, "{}", beyond.len());
        let r = viewer_as(srv, &within).await;
        assert_viewer(
            &r,
            &me.login,
            roles,
            &format!("{}-byte token", within.len()),
        );
        let r = viewer_as(srv, &beyond).await;
        let case = format!("{}-byte token", beyond.len());
        assert_refused(&r, "token_too_large", &secrets, &case);
    }
}

async fn unknown_account_is_refused(srv: &Server) {
    let ids = two_identities(srv).await;
    let secrets: Vec<&str> = ids.iter().map(|i| i.login.as_str()).collect();
    let random = uuid::Uuid::new_v4().to_string();
    let table = vec![
        (
            "random uuid".to_owned(),
            sign(&claims(&random)),
            "unknown_account",
        ),
        (
            "another random uuid, narrowed roles".to_owned(),
            sign(&with(
                claims(&uuid::Uuid::new_v4().to_string()),
                "roles",
                json!(["caseworker"]),
            )),
            "unknown_account",
        ),
        (
            "an agency id as sub".to_owned(),
            sign(&claims(&srv.city_agency)),
            "unknown_account",
        ),
        (
            "a login as sub".to_owned(),
            sign(&claims(&ids[0].login)),
            "unknown_account",
        ),
        (
            "an account id in upper case".to_owned(),
            sign(&claims(&ids[1].id.to_uppercase())),
            "unknown_account",
        ),
        ("empty sub".to_owned(), sign(&claims("")), "unknown_account"),
    ];
    check_table(srv, table, &secrets).await;
}

async fn deactivated_account_is_refused_with_the_same_token(srv: &Server) {
    let [a, b] = two_identities(srv).await;
    // A second token for `a`, narrowed, minted before the deactivation.
    let a_narrowed = sign(&with(claims(&a.id), "roles", json!(["caseworker"])));
    assert_viewer(
        &viewer_as(srv, &a.token).await,
        &a.login,
        &["CASEWORKER"],
        "a before",
    );
    assert_viewer(
        &viewer_as(srv, &a_narrowed).await,
        &a.login,
        &["CASEWORKER"],
        "a narrowed before",
    );
    let b_roles: &[&str] = &["COORDINATOR", "CASEWORKER"];
    assert_viewer(
        &viewer_as(srv, &b.token).await,
        &b.login,
        b_roles,
        "b before",
    );

    let v = account_version(srv, &a.id).await;
    let d = srv
        .gql(
            &srv.admin_token,
            "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { active } }",
            json!({ "id": a.id, "v": v }),
        )
        .await;
    assert_eq!(d.ok()["deactivateAccount"]["active"], false);

    let secrets = [a.login.as_str(), a.id.as_str()];
    for (case, token) in [
        ("same token", a.token.clone()),
        ("same narrowed token", a_narrowed.clone()),
        ("freshly minted token", srv.token(&a.id)),
    ] {
        let r = viewer_as(srv, &token).await;
        assert_refused(&r, "account_deactivated", &secrets, case);
        // Not just the viewer: a mutation is refused before it runs.
        let m = srv
            .gql(
                &token,
                "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
                json!({ "i": tsunagi_tests::person_input("佐藤", "花子", "サトウ", "ハナコ") }),
            )
            .await;
        assert_refused(&m, "account_deactivated", &secrets, case);
    }
    // The other account is untouched.
    assert_viewer(
        &viewer_as(srv, &b.token).await,
        &b.login,
        b_roles,
        "b after",
    );
    // A deactivated admin is refused too (and cannot reactivate itself).
    let (admin2, admin2_tok) = srv
        .account("auth-admin-2", &srv.city_agency, &["admin"])
        .await;
    assert_viewer(
        &viewer_as(srv, &admin2_tok).await,
        "auth-admin-2",
        &["ADMIN"],
        "admin2 before",
    );
    let v = account_version(srv, &admin2).await;
    let d = srv
        .gql(
            &srv.admin_token,
            "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { active } }",
            json!({ "id": admin2, "v": v }),
        )
        .await;
    assert_eq!(d.ok()["deactivateAccount"]["active"], false);
    let r = viewer_as(srv, &admin2_tok).await;
    assert_refused(&r, "account_deactivated", &["auth-admin-2"], "admin2 after");
}

async fn deactivated_agency_refuses_its_accounts(srv: &Server) {
    let [a, b] = two_identities(srv).await;
    let r = srv
        .gql(
            &srv.admin_token,
            "{ agencies { id code version } }",
            json!({}),
        )
        .await;
    let agency = r.ok()["agencies"]
        .as_array()
        .expect("agencies")
        .iter()
        .find(|g| g["code"] == "auth-houkatsu")
        .cloned()
        .expect("agency a");
    let u = srv
        .gql(
            &srv.admin_token,
            "mutation($id: ID!, $v: Int!) { updateAgency(id: $id, version: $v, input: { active: false }) { active } }",
            json!({ "id": agency["id"], "v": agency["version"] }),
        )
        .await;
    assert_eq!(u.ok()["updateAgency"]["active"], false);
    let r = viewer_as(srv, &a.token).await;
    assert_refused(
        &r,
        "account_deactivated",
        &[&a.login],
        "account of a deactivated agency",
    );
    let b_roles: &[&str] = &["COORDINATOR", "CASEWORKER"];
    assert_viewer(
        &viewer_as(srv, &b.token).await,
        &b.login,
        b_roles,
        "other agency",
    );
}

async fn roles_claim_narrows_registry_roles(srv: &Server) {
    let agency = srv.agency("auth-jiritsu", "SELF_RELIANCE").await;
    let (id, full) = srv
        .account("auth-cw-analyst", &agency, &["caseworker", "analyst"])
        .await;
    let login = "auth-cw-analyst";
    let narrowed = |roles: Value| sign(&with(claims(&id), "roles", roles));
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("no roles claim", full.clone(), &["CASEWORKER", "ANALYST"]),
        (
            "roles [analyst]",
            narrowed(json!(["analyst"])),
            &["ANALYST"],
        ),
        (
            "roles [caseworker]",
            narrowed(json!(["caseworker"])),
            &["CASEWORKER"],
        ),
        (
            "roles [analyst, caseworker]",
            narrowed(json!(["analyst", "caseworker"])),
            &["CASEWORKER", "ANALYST"],
        ),
        (
            "roles [analyst, admin]: admin is not held",
            narrowed(json!(["analyst", "admin"])),
            &["ANALYST"],
        ),
        ("roles []", narrowed(json!([])), &[]),
    ];
    for (case, token, roles) in &cases {
        assert_viewer(&viewer_as(srv, token).await, login, roles, case);
    }
    // Narrowed to analyst, the caseworker's data work is no longer allowed.
    let an = narrowed(json!(["analyst"]));
    let r = srv
        .gql(
            &an,
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
            json!({ "i": tsunagi_tests::person_input("高橋", "次郎", "タカハシ", "ジロウ") }),
        )
        .await;
    r.only_error("FORBIDDEN");
    assert_eq!(r.data(), &Value::Null);

    // Second identity: the admin narrowed to auditor can no longer manage the registry.
    let admin_id = admin_id(srv).await;
    let auditor = sign(&with(claims(&admin_id), "roles", json!(["auditor"])));
    assert_viewer(
        &viewer_as(srv, &auditor).await,
        "admin",
        &["AUDITOR"],
        "admin as auditor",
    );
    let r = srv.gql(&auditor, "{ accounts { id } }", json!({})).await;
    r.only_error("FORBIDDEN");
    assert_eq!(r.data(), &Value::Null);
    let r = srv
        .gql(&srv.admin_token, "{ accounts { id } }", json!({}))
        .await;
    assert!(r.ok()["accounts"].as_array().is_some_and(|a| a.len() == 2));
}

async fn admin_id(srv: &Server) -> String {
    let r = srv
        .gql(&srv.admin_token, "{ viewer { account { id } } }", json!({}))
        .await;
    r.ok()["viewer"]["account"]["id"]
        .as_str()
        .expect("admin id")
        .to_owned()
}

async fn roles_claim_cannot_grant_roles(srv: &Server) {
    let ids = two_identities(srv).await;
    let count_before = agency_codes(srv).await.len();
    for me in &ids {
        for grant in [
            json!(["admin"]),
            json!(["analyst"]),
            json!(["auditor", "admin"]),
        ] {
            let case = format!("{} with roles {grant}", me.login);
            let token = sign(&with(claims(&me.id), "roles", grant));
            assert_viewer(&viewer_as(srv, &token).await, &me.login, &[], &case);
            let r = srv.gql(&token, "{ accounts { id } }", json!({})).await;
            assert_eq!(r.status, 200, "{case}: {}", r.body);
            r.only_error("FORBIDDEN");
            assert_eq!(r.data(), &Value::Null, "{case}");
            let r = srv
                .gql(
                    &token,
                    "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
                    json!({ "i": { "code": "auth-granted", "name": "x", "kind": "THIRD_PARTY", "legalRegime": "PRIVATE_OPERATOR" } }),
                )
                .await;
            r.only_error("FORBIDDEN");
        }
    }
    assert_eq!(agency_codes(srv).await.len(), count_before);
}

async fn set_roles(srv: &Server, id: &str, roles: Value) {
    let v = account_version(srv, id).await;
    let r = srv
        .gql(
            &srv.admin_token,
            "mutation($id: ID!, $v: Int!, $r: [Role!]!) { setAccountRoles(id: $id, version: $v, roles: $r) { roles } }",
            json!({ "id": id, "v": v, "r": roles }),
        )
        .await;
    assert_eq!(r.ok()["setAccountRoles"]["roles"], roles);
}

async fn role_change_applies_to_the_next_request(srv: &Server) {
    let [a, b] = two_identities(srv).await;
    let b_roles: &[&str] = &["COORDINATOR", "CASEWORKER"];
    assert_viewer(
        &viewer_as(srv, &a.token).await,
        &a.login,
        &["CASEWORKER"],
        "a before",
    );
    // A token minted now, narrowed to a role `a` does not hold yet.
    let a_analyst = sign(&with(claims(&a.id), "roles", json!(["analyst"])));
    assert_viewer(
        &viewer_as(srv, &a_analyst).await,
        &a.login,
        &[],
        "a as analyst before",
    );

    set_roles(srv, &a.id, json!(["ANALYST"])).await;
    assert_viewer(
        &viewer_as(srv, &a.token).await,
        &a.login,
        &["ANALYST"],
        "a after",
    );
    assert_viewer(
        &viewer_as(srv, &a_analyst).await,
        &a.login,
        &["ANALYST"],
        "a as analyst after",
    );
    // The role taken away is gone at once: no more person registration.
    let r = srv
        .gql(
            &a.token,
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
            json!({ "i": tsunagi_tests::person_input("伊藤", "三郎", "イトウ", "サブロウ") }),
        )
        .await;
    r.only_error("FORBIDDEN");
    // The other account is untouched.
    assert_viewer(&viewer_as(srv, &b.token).await, &b.login, b_roles, "b");

    // Second identity: b gains admin, and its existing token can manage the registry.
    let r = srv.gql(&b.token, "{ accounts { id } }", json!({})).await;
    r.only_error("FORBIDDEN");
    set_roles(srv, &b.id, json!(["ADMIN", "CASEWORKER"])).await;
    assert_viewer(
        &viewer_as(srv, &b.token).await,
        &b.login,
        &["ADMIN", "CASEWORKER"],
        "b after",
    );
    let r = srv.gql(&b.token, "{ accounts { id } }", json!({})).await;
    assert!(
        r.ok()["accounts"].as_array().is_some_and(|x| x.len() == 3),
        "{}",
        r.body
    );
    // ... and loses it again.
    set_roles(srv, &b.id, json!(["CASEWORKER"])).await;
    let r = srv.gql(&b.token, "{ accounts { id } }", json!({})).await;
    r.only_error("FORBIDDEN");
}

async fn non_admin_cannot_create_agency(srv: &Server) {
    let ids = two_identities(srv).await;
    let before = agency_codes(srv).await;
    for (n, me) in ids.iter().enumerate() {
        let code = format!("auth-rogue-{n}");
        let r = srv
            .gql(
                &me.token,
                "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id code } }",
                json!({ "i": { "code": code, "name": "勝手な機関", "kind": "THIRD_PARTY", "legalRegime": "PRIVATE_OPERATOR" } }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.only_error("FORBIDDEN");
        assert_eq!(r.data(), &Value::Null, "{}", r.body);
        assert!(!r.body.to_string().contains(&code));
    }
    assert_eq!(agency_codes(srv).await, before, "nothing was created");
    // The admin can, so the refusal was about the caller, not the input.
    srv.agency("auth-rogue-0", "THIRD_PARTY").await;
    assert!(agency_codes(srv).await.contains(&"auth-rogue-0".to_owned()));
}

// ---- Asymmetric keys (RFC 8725): JWKS, the hub's signing key, rotation. ----

/// The server's default maximum token age (`config::DEFAULT_MAX_TOKEN_AGE_SECS`), restated.
const MAX_AGE: u64 = 8 * HOUR;

/// A test-only private key from tests/fixtures/jwt (its public JWK is in public.json under
/// the same kid).
struct TestKey {
    kid: &'static str,
    alg: Algorithm,
    key: EncodingKey,
}

fn test_key(kid: &'static str) -> TestKey {
    let der = jwt_fixture_bytes(&format!("{kid}.der"));
    let (alg, key) = if kid.contains("rsa") {
        (Algorithm::RS256, EncodingKey::from_rsa_der(&der))
    } else if kid.contains("ec") {
        (Algorithm::ES256, EncodingKey::from_ec_der(&der))
    } else {
        (Algorithm::EdDSA, EncodingKey::from_ed_der(&der))
    };
    TestKey { kid, alg, key }
}

fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// Replace a file the way an operator should: write beside it, then rename over it.
fn replace_file(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// A token built by hand: any header, signed over exactly these segments with `key`/`alg`.
fn signed(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let message = format!("{}.{}", segment(header), segment(claims));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), key, alg).expect("sign");
    format!("{message}.{signature}")
}

/// Signed properly by `k`: its alg, its kid, typ JWT.
fn by(k: &TestKey, claims: &Value) -> String {
    let header = json!({ "alg": alg_name(k.alg), "typ": "JWT", "kid": k.kid });
    signed(&header, claims, &k.key, k.alg)
}

/// A server whose token keys are: the hub signing key `signing` (a fixture name), the
/// fixtures' public keys `jwks_kids` in a JWKS file (checked for changes on every request),
/// and the harness's HS256 secret when `hs256`. The JWKS file lives in the returned dir.
async fn keyed_server(
    srv: &Server,
    signing: Option<&str>,
    jwks_kids: &[&str],
    hs256: bool,
) -> (Server, TempDir, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tsunagi-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let jwks_file = dir.join("jwks.json");
    if !jwks_kids.is_empty() {
        replace_file(&jwks_file, &jwks(jwks_kids).to_string());
    }
    let keys = KeySource::load(KeyConfig {
        hs256_secret: hs256.then(|| SECRET.to_vec()),
        signing_key_file: signing.map(|s| jwt_fixture(&format!("{s}.pem"))),
        signing_kid: None,
        jwks_file: (!jwks_kids.is_empty()).then(|| jwks_file.clone()),
        poll: Some(Duration::ZERO),
    })
    .expect("keys");
    let keyed = Server::start_with(&srv.backend, |c| c.jwt.key = keys).await;
    (keyed, TempDir(dir), jwks_file)
}

fn header_of(token: &str) -> Value {
    let head = split3(token).0;
    let bytes = b64url_decode(&head);
    serde_json::from_slice(&bytes).expect("header JSON")
}

fn b64url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64url") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

async fn asymmetric_tokens_are_checked_strictly(srv: &Server) {
    let (keyed, _dir, _) = keyed_server(srv, Some("hub"), &["rsa-1", "ec-1", "ed-1"], false).await;
    let srv = &keyed;
    let [me, other] = two_identities(srv).await;
    let secrets = [
        me.login.as_str(),
        me.id.as_str(),
        other.login.as_str(),
        other.id.as_str(),
    ];
    let (rsa, ec, ed) = (test_key("rsa-1"), test_key("ec-1"), test_key("ed-1"));
    let base = claims(&me.id);
    let now = now();
    let at = |changes: &[(&str, Value)]| {
        let mut c = base.clone();
        for (k, v) in changes {
            c[*k] = v.clone();
        }
        c
    };

    // Accepted: each algorithm with its own key, the hub's own token, the typ variants,
    // the edges of the leeway and of the maximum age, and an IdP-style aud list.
    let mut accepted: Vec<(String, String)> = vec![
        ("hub-signed (srv.token)".to_owned(), me.token.clone()),
        (
            "typ application/jwt".to_owned(),
            signed(
                &json!({ "alg": "EdDSA", "typ": "application/jwt", "kid": "ed-1" }),
                &base,
                &ed.key,
                ed.alg,
            ),
        ),
        (
            "typ at+jwt (RFC 9068)".to_owned(),
            signed(
                &json!({ "alg": "RS256", "typ": "at+jwt", "kid": "rsa-1" }),
                &base,
                &rsa.key,
                rsa.alg,
            ),
        ),
        (
            "typ application/AT+JWT".to_owned(),
            signed(
                &json!({ "alg": "ES256", "typ": "application/AT+JWT", "kid": "ec-1" }),
                &base,
                &ec.key,
                ec.alg,
            ),
        ),
        (
            "exp 10 s ago (within leeway)".to_owned(),
            by(&rsa, &at(&[("exp", json!(now - 10))])),
        ),
        (
            "nbf 10 s ahead (within leeway)".to_owned(),
            by(&ec, &at(&[("nbf", json!(now + 10))])),
        ),
        (
            "iat 10 s ahead (within leeway)".to_owned(),
            by(&ed, &at(&[("iat", json!(now + 10))])),
        ),
        (
            "lifetime exactly the maximum age".to_owned(),
            by(&ed, &at(&[("exp", json!(now + MAX_AGE))])),
        ),
        (
            "issued 7 h ago, valid 1 h more".to_owned(),
            by(
                &rsa,
                &at(&[
                    ("iat", json!(now - 7 * HOUR)),
                    ("nbf", json!(now - 7 * HOUR)),
                    ("exp", json!(now + HOUR)),
                ]),
            ),
        ),
        (
            "aud as a list holding ours".to_owned(),
            by(&ed, &at(&[("aud", json!(["another-api", AUDIENCE]))])),
        ),
    ];
    for k in [&rsa, &ec, &ed] {
        accepted.push((format!("{:?} with kid {}", k.alg, k.kid), by(k, &base)));
    }
    for (case, token) in &accepted {
        assert_viewer(
            &viewer_as(srv, token).await,
            &me.login,
            &["CASEWORKER"],
            case,
        );
    }

    let rsa_pem = jwt_fixture_bytes("rsa-1-public.pem");
    let rsa_der = jwt_fixture_bytes("rsa-1-public.der");
    let rsa_n = b64url_decode(jwks(&["rsa-1"])["keys"][0]["n"].as_str().expect("n"));
    let hs = |secret: &[u8], kid: Option<&str>| {
        let mut header = json!({ "alg": "HS256", "typ": "JWT" });
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        signed(
            &header,
            &base,
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
    };
    let with_header = |k: &TestKey, header: Value| signed(&header, &base, &k.key, k.alg);
    let tampered = |token: &str| {
        let (head, _, sig) = split3(token);
        format!("{head}.{}.{sig}", segment(&claims(&other.id)))
    };
    let other_rsa = test_key("hub-rsa");
    let attacker = test_key("ed-2");
    let attacker_jwk = jwks(&["ed-2"])["keys"][0].clone();
    let mut table: Vec<(String, String, &str)> = vec![
        // The algorithm: never "none", never HS256 (not configured), always the key's own.
        (
            "alg none, kid rsa-1".into(),
            format!(
                "{}.{}.",
                segment(&json!({ "alg": "none", "typ": "JWT", "kid": "rsa-1" })),
                segment(&base)
            ),
            "algorithm_not_allowed",
        ),
        (
            "alg none, no kid".into(),
            format!(
                "{}.{}.",
                segment(&json!({ "alg": "none", "typ": "JWT" })),
                segment(&base)
            ),
            "algorithm_not_allowed",
        ),
        (
            "alg None (case), RSA signature".into(),
            with_header(&rsa, json!({ "alg": "None", "typ": "JWT", "kid": "rsa-1" })),
            "algorithm_not_allowed",
        ),
        (
            "HS256, RSA public key PEM as HMAC secret".into(),
            hs(&rsa_pem, Some("rsa-1")),
            "algorithm_not_allowed",
        ),
        (
            "HS256, RSA public key PKCS#1 DER as HMAC secret".into(),
            hs(&rsa_der, Some("rsa-1")),
            "algorithm_not_allowed",
        ),
        (
            "HS256, RSA modulus bytes as HMAC secret".into(),
            hs(&rsa_n, Some("rsa-1")),
            "algorithm_not_allowed",
        ),
        (
            "HS256 with the harness secret, no kid".into(),
            hs(SECRET, None),
            "algorithm_not_allowed",
        ),
        (
            "ES256 header naming the RSA kid".into(),
            with_header(&ec, json!({ "alg": "ES256", "typ": "JWT", "kid": "rsa-1" })),
            "algorithm_not_allowed",
        ),
        (
            "RS256 header naming the Ed25519 kid".into(),
            with_header(&rsa, json!({ "alg": "RS256", "typ": "JWT", "kid": "ed-1" })),
            "algorithm_not_allowed",
        ),
        (
            "EdDSA header naming the EC kid".into(),
            with_header(&ed, json!({ "alg": "EdDSA", "typ": "JWT", "kid": "ec-1" })),
            "algorithm_not_allowed",
        ),
        (
            "PS256 with the RSA key".into(),
            signed(
                &json!({ "alg": "PS256", "typ": "JWT", "kid": "rsa-1" }),
                &base,
                &rsa.key,
                Algorithm::PS256,
            ),
            "algorithm_not_allowed",
        ),
        // The key.
        (
            "unknown kid".into(),
            with_header(&ed, json!({ "alg": "EdDSA", "typ": "JWT", "kid": "ed-9" })),
            "unknown_kid",
        ),
        (
            "kid of another case".into(),
            with_header(&ed, json!({ "alg": "EdDSA", "typ": "JWT", "kid": "ED-1" })),
            "unknown_kid",
        ),
        (
            "no kid (RS256)".into(),
            with_header(&rsa, json!({ "alg": "RS256", "typ": "JWT" })),
            "missing_kid",
        ),
        (
            "no kid (EdDSA)".into(),
            with_header(&ed, json!({ "alg": "EdDSA", "typ": "JWT" })),
            "missing_kid",
        ),
        (
            "kid rsa-1, signed by another RSA key".into(),
            with_header(
                &other_rsa,
                json!({ "alg": "RS256", "typ": "JWT", "kid": "rsa-1" }),
            ),
            "bad_signature",
        ),
        (
            "embedded jwk header (attacker's key), known kid".into(),
            with_header(
                &attacker,
                json!({ "alg": "EdDSA", "typ": "JWT", "kid": "ed-1", "jwk": attacker_jwk }),
            ),
            "bad_signature",
        ),
        (
            "embedded jwk header (attacker's key), its own kid".into(),
            with_header(
                &attacker,
                json!({ "alg": "EdDSA", "typ": "JWT", "kid": "ed-2", "jwk": attacker_jwk }),
            ),
            "unknown_kid",
        ),
        (
            "crit header".into(),
            with_header(
                &ed,
                json!({ "alg": "EdDSA", "typ": "JWT", "kid": "ed-1", "crit": ["exp"], "exp": 1 }),
            ),
            "malformed_token",
        ),
        // typ.
        (
            "no typ".into(),
            with_header(&ed, json!({ "alg": "EdDSA", "kid": "ed-1" })),
            "wrong_token_type",
        ),
        (
            "typ JOSE".into(),
            with_header(&ed, json!({ "alg": "EdDSA", "typ": "JOSE", "kid": "ed-1" })),
            "wrong_token_type",
        ),
        (
            "typ secevent+jwt".into(),
            with_header(
                &rsa,
                json!({ "alg": "RS256", "typ": "secevent+jwt", "kid": "rsa-1" }),
            ),
            "wrong_token_type",
        ),
        (
            "typ application/jwt+x".into(),
            with_header(
                &ec,
                json!({ "alg": "ES256", "typ": "application/jwt+x", "kid": "ec-1" }),
            ),
            "wrong_token_type",
        ),
        // Time.
        (
            "expired 2 h ago".into(),
            by(
                &rsa,
                &at(&[
                    ("exp", json!(now - 2 * HOUR)),
                    ("nbf", json!(now - 3 * HOUR)),
                    ("iat", json!(now - 3 * HOUR)),
                ]),
            ),
            "token_expired",
        ),
        (
            "expired 45 s ago (beyond leeway)".into(),
            by(&ec, &at(&[("exp", json!(now - 45))])),
            "token_expired",
        ),
        (
            "nbf 2 h ahead".into(),
            by(&ed, &at(&[("nbf", json!(now + 2 * HOUR))])),
            "token_not_yet_valid",
        ),
        (
            "nbf 45 s ahead (beyond leeway)".into(),
            by(&rsa, &at(&[("nbf", json!(now + 45))])),
            "token_not_yet_valid",
        ),
        (
            "iat 2 h ahead".into(),
            by(&ed, &at(&[("iat", json!(now + 2 * HOUR))])),
            "issued_in_future",
        ),
        (
            "iat 45 s ahead (beyond leeway)".into(),
            by(&ec, &at(&[("iat", json!(now + 45))])),
            "issued_in_future",
        ),
        (
            "no iat".into(),
            by(&rsa, &without(base.clone(), "iat")),
            "missing_claim",
        ),
        (
            "issued 9 h ago, still unexpired".into(),
            by(
                &ed,
                &at(&[
                    ("iat", json!(now - 9 * HOUR)),
                    ("nbf", json!(now - 9 * HOUR)),
                ]),
            ),
            "token_too_old",
        ),
        (
            "lifetime 8 h + 1 min".into(),
            by(&rsa, &at(&[("exp", json!(now + MAX_AGE + 60))])),
            "lifetime_too_long",
        ),
        (
            "lifetime a year".into(),
            by(&ec, &at(&[("exp", json!(now + 365 * 24 * HOUR))])),
            "lifetime_too_long",
        ),
        // Claims.
        (
            "wrong iss".into(),
            by(&ed, &at(&[("iss", json!("https://idp.example.org"))])),
            "wrong_issuer",
        ),
        (
            "wrong aud".into(),
            by(&rsa, &at(&[("aud", json!("another-api"))])),
            "wrong_audience",
        ),
        (
            "aud list without ours".into(),
            by(&ec, &at(&[("aud", json!(["another-api", "account"]))])),
            "wrong_audience",
        ),
        (
            "oversized".into(),
            by(&rsa, &at(&[("pad", json!("x".repeat(9 * 1024)))])),
            "token_too_large",
        ),
    ];
    for k in [&rsa, &ec, &ed] {
        table.push((
            format!("{:?}: payload swapped to another sub", k.alg),
            tampered(&by(k, &base)),
            "bad_signature",
        ));
        table.push((
            format!("{:?}: signature of another token", k.alg),
            {
                let (head, payload, _) = split3(&by(k, &base));
                format!(
                    "{head}.{payload}.{}",
                    split3(&by(k, &with(base.clone(), "roles", json!([])))).2
                )
            },
            "bad_signature",
        ));
    }
    check_table(srv, table, &secrets).await;

    // A deactivated account is refused with its RS256 token too.
    let v = account_version(srv, &me.id).await;
    let d = srv
        .gql(
            &srv.admin_token,
            "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { active } }",
            json!({ "id": me.id, "v": v }),
        )
        .await;
    assert_eq!(d.ok()["deactivateAccount"]["active"], false);
    let r = viewer_as(srv, &by(&rsa, &base)).await;
    assert_refused(&r, "account_deactivated", &secrets, "deactivated, RS256");
    let r = viewer_as(srv, &by(&ed, &claims(&other.id))).await;
    assert_viewer(
        &r,
        &other.login,
        &["COORDINATOR", "CASEWORKER"],
        "the other account, EdDSA",
    );
    keyed.stop().await;
}

/// The hub signs with an Ed25519, P-256 or RSA key from a PKCS#8 PEM file; its kid is the RFC
/// 7638 thumbprint unless set, its public half verifies, and `public_jwks` publishes it.
async fn hub_signing_keys_of_each_type_sign_and_verify(srv: &Server) {
    for (name, alg) in [("hub", "EdDSA"), ("hub-ec", "ES256"), ("hub-rsa", "RS256")] {
        let (keyed, _dir, _) = keyed_server(srv, Some(name), &[], false).await;
        let public: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(jwks(&[name])["keys"][0].clone()).expect("jwk");
        let thumbprint = public
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .expect("thumbprint");
        let header = header_of(&keyed.admin_token);
        assert_eq!(header["alg"], alg, "{name}: {header}");
        assert_eq!(header["typ"], "JWT", "{name}");
        assert_eq!(header["kid"], thumbprint.as_str(), "{name}");
        let published = keyed.jwt.key.public_jwks().expect("public jwks");
        assert_eq!(published["keys"][0]["kid"], thumbprint.as_str(), "{name}");
        assert_eq!(published["keys"][0]["alg"], alg, "{name}");
        assert!(
            published["keys"][0].get("d").is_none(),
            "{name}: no private part"
        );
        let r = viewer_as(&keyed, &keyed.admin_token).await;
        assert_viewer(&r, "admin", &["ADMIN", "AUDITOR"], name);
        // A token over the maximum age is not minted.
        let e = tsunagi_api::auth::mint(&keyed.jwt, &keyed.admin_id, MAX_AGE + 1, None)
            .expect_err("too long");
        assert!(
            e.to_string().contains("TSUNAGI_JWT_MAX_TOKEN_AGE_SECS"),
            "{e}"
        );
        keyed.stop().await;
    }
    // An explicit kid.
    let keys = KeySource::load(KeyConfig {
        signing_key_file: Some(jwt_fixture("hub-ec.pem")),
        signing_kid: Some("hub-2026-04".to_owned()),
        ..KeyConfig::default()
    })
    .expect("keys");
    let keyed = Server::start_with(&srv.backend, |c| c.jwt.key = keys).await;
    assert_eq!(header_of(&keyed.admin_token)["kid"], "hub-2026-04");
    assert_viewer(
        &viewer_as(&keyed, &keyed.admin_token).await,
        "admin",
        &["ADMIN", "AUDITOR"],
        "explicit kid",
    );
    keyed.stop().await;
}

/// Keys change without a restart: a new JWKS is used on the next request, a broken one is
/// ignored (the keys in use stay), and the hub's own key keeps working throughout.
async fn jwks_rotation_without_restart(srv: &Server) {
    let (keyed, _dir, jwks_file) = keyed_server(srv, Some("hub"), &["ed-1"], false).await;
    let srv = &keyed;
    let [me, _] = two_identities(srv).await;
    let (old, new) = (test_key("ed-1"), test_key("ed-2"));
    let (old_token, new_token) = (by(&old, &claims(&me.id)), by(&new, &claims(&me.id)));
    let secrets = [me.login.as_str()];
    let ok = |r: &Gql, case: &str| assert_viewer(r, &me.login, &["CASEWORKER"], case);
    ok(&viewer_as(srv, &old_token).await, "old key before");
    assert_refused(
        &viewer_as(srv, &new_token).await,
        "unknown_kid",
        &secrets,
        "new key before",
    );

    // Step 1 of a rotation: publish the new key beside the old one.
    replace_file(&jwks_file, &jwks(&["ed-1", "ed-2"]).to_string());
    ok(&viewer_as(srv, &old_token).await, "old key, both published");
    ok(&viewer_as(srv, &new_token).await, "new key, both published");
    // Last step: the old key is withdrawn.
    replace_file(&jwks_file, &jwks(&["ed-2"]).to_string());
    assert_refused(
        &viewer_as(srv, &old_token).await,
        "unknown_kid",
        &secrets,
        "old key withdrawn",
    );
    ok(&viewer_as(srv, &new_token).await, "new key only");
    ok(&viewer_as(srv, &me.token).await, "hub key throughout");

    // Broken files are not applied: the keys in use stay.
    let hub_kid = header_of(&me.token)["kid"]
        .as_str()
        .expect("kid")
        .to_owned();
    let mut kids = vec![hub_kid, "ed-2".to_owned()];
    kids.sort();
    for (case, text) in [
        ("truncated JSON", r#"{"keys":[{"kty":"OKP""#.to_owned()),
        ("empty key set", r#"{"keys":[]}"#.to_owned()),
        ("a private key", {
            let mut set = jwks(&["ed-1"]);
            set["keys"][0]["d"] = json!("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
            set.to_string()
        }),
        (
            "an HMAC key",
            r#"{"keys":[{"kty":"oct","kid":"h","alg":"HS256"}]}"#.to_owned(),
        ),
    ] {
        replace_file(&jwks_file, &text);
        ok(&viewer_as(srv, &new_token).await, case);
        assert_refused(
            &viewer_as(srv, &old_token).await,
            "unknown_kid",
            &secrets,
            case,
        );
        assert_eq!(srv.jwt.key.kids(), kids, "{case}");
        assert!(
            srv.jwt.key.reload().is_err(),
            "{case}: reload reports the error"
        );
    }
    // A good file again is picked up.
    replace_file(&jwks_file, &jwks(&["ed-1"]).to_string());
    ok(&viewer_as(srv, &old_token).await, "old key back");
    assert_refused(
        &viewer_as(srv, &new_token).await,
        "unknown_kid",
        &secrets,
        "new key gone",
    );
    keyed.stop().await;
}

/// Verification keys from the city's IdP only: the hub verifies but cannot mint, and HS256
/// (never configured) is refused.
async fn idp_keys_only_verify_and_refuse_hs256(srv: &Server) {
    let (keyed, _dir, _) = keyed_server(srv, None, &["rsa-1"], false).await;
    assert!(
        keyed.admin_token.is_empty(),
        "the hub has nothing to sign with"
    );
    let e =
        tsunagi_api::auth::mint(&keyed.jwt, &keyed.admin_id, HOUR, None).expect_err("no signer");
    assert!(
        e.to_string().contains("TSUNAGI_JWT_SIGNING_KEY_FILE"),
        "{e}"
    );
    let rsa = test_key("rsa-1");
    let admin = claims(&keyed.admin_id);
    let r = viewer_as(&keyed, &by(&rsa, &admin)).await;
    assert_viewer(&r, "admin", &["ADMIN", "AUDITOR"], "RS256 from the IdP");
    let table = vec![
        (
            "HS256, no kid".to_owned(),
            sign(&admin),
            "algorithm_not_allowed",
        ),
        (
            "HS256, kid rsa-1".to_owned(),
            signed(
                &json!({ "alg": "HS256", "typ": "JWT", "kid": "rsa-1" }),
                &admin,
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            ),
            "algorithm_not_allowed",
        ),
        (
            "EdDSA (no such key)".to_owned(),
            by(&test_key("ed-1"), &admin),
            "algorithm_not_allowed",
        ),
        (
            "RS256, no kid".to_owned(),
            signed(
                &json!({ "alg": "RS256", "typ": "JWT" }),
                &admin,
                &rsa.key,
                rsa.alg,
            ),
            "missing_kid",
        ),
    ];
    check_table(&keyed, table, &["admin"]).await;
    keyed.stop().await;
}

/// HS256 explicitly configured beside a JWKS: a token without kid means the secret, a kid
/// means that key, and each key verifies only its own algorithm.
async fn hs256_beside_a_key_set_keeps_algorithms_pinned(srv: &Server) {
    let (keyed, _dir, _) = keyed_server(srv, None, &["rsa-1"], true).await;
    let srv = &keyed;
    let header = header_of(&srv.admin_token);
    assert_eq!(header["alg"], "HS256", "the secret signs: {header}");
    let [me, _] = two_identities(srv).await;
    let rsa = test_key("rsa-1");
    let base = claims(&me.id);
    assert_viewer(
        &viewer_as(srv, &sign(&base)).await,
        &me.login,
        &["CASEWORKER"],
        "HS256, no kid",
    );
    assert_viewer(
        &viewer_as(srv, &by(&rsa, &base)).await,
        &me.login,
        &["CASEWORKER"],
        "RS256, kid rsa-1",
    );
    let rsa_pem = jwt_fixture_bytes("rsa-1-public.pem");
    let table = vec![
        (
            "HS256 naming the RSA kid, public key as secret".to_owned(),
            signed(
                &json!({ "alg": "HS256", "typ": "JWT", "kid": "rsa-1" }),
                &base,
                &EncodingKey::from_secret(&rsa_pem),
                Algorithm::HS256,
            ),
            "algorithm_not_allowed",
        ),
        (
            "HS256 naming the RSA kid, the real secret".to_owned(),
            signed(
                &json!({ "alg": "HS256", "typ": "JWT", "kid": "rsa-1" }),
                &base,
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            ),
            "algorithm_not_allowed",
        ),
        (
            "RS256 without kid (means the secret)".to_owned(),
            signed(
                &json!({ "alg": "RS256", "typ": "JWT" }),
                &base,
                &rsa.key,
                rsa.alg,
            ),
            "algorithm_not_allowed",
        ),
        (
            "HS256 with an unknown kid".to_owned(),
            signed(
                &json!({ "alg": "HS256", "typ": "JWT", "kid": "hs" }),
                &base,
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            ),
            "unknown_kid",
        ),
        (
            "HS256 without typ".to_owned(),
            signed(
                &json!({ "alg": "HS256" }),
                &base,
                &EncodingKey::from_secret(SECRET),
                Algorithm::HS256,
            ),
            "wrong_token_type",
        ),
    ];
    check_table(srv, table, &[me.login.as_str()]).await;
    keyed.stop().await;
}
