//! Authentication at the HTTP edge. Every refused request is HTTP 401 with `data: null` and
//! exactly one UNAUTHENTICATED error whose `extensions.reason` names the failure, and it
//! carries no field data and leaves no trace in the ledger. The token only says who (`sub`)
//! and may narrow the roles; the registry decides, so a deactivation or a role change takes
//! effect on the very next request made with the same token.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tsunagi_tests::{tests, Gql, Server, AUDIENCE, ISSUER, SECRET};

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
    let ledger_before = srv.ledger().await.len();
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
    assert_eq!(
        srv.ledger().await.len(),
        ledger_before,
        "a refused request leaves no ledger entry"
    );
}

async fn account_version(srv: &Server, id: &str) -> i64 {
    let r = srv
        .gql(&srv.admin_token, "{ accounts { id version } }", json!({}))
        .await;
    r.ok()["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["id"] == id)
        .and_then(|a| a["version"].as_i64())
        .expect("account version")
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
    let ledger_before = srv.ledger().await.len();
    for (case, header, reason) in &cases {
        let r = viewer(srv, header.as_deref()).await;
        assert_refused(&r, reason, &secrets, case);
    }
    assert_eq!(srv.ledger().await.len(), ledger_before);
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

/// exp, nbf, iss, aud and sub are all required (auth.rs `validation`): a correctly signed
/// token without one of them is refused as `missing_claim`.
async fn tokens_missing_a_required_claim_are_refused(srv: &Server) {
    let ids = two_identities(srv).await;
    let secrets: Vec<&str> = ids
        .iter()
        .flat_map(|i| [i.login.as_str(), i.id.as_str()])
        .collect();
    let mut table: Vec<(String, String, &str)> = Vec::new();
    for me in &ids {
        for claim in ["exp", "nbf", "sub", "iss", "aud"] {
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
