//! Service clients (OAuth 2.0 client credentials, RFC 6749 §4.4) through the real HTTP API:
//! an admin issues a client to a SERVICE account, agency software exchanges its id and secret
//! at POST /oauth/token for a short-lived hub token whose roles are the granted scope, and a
//! rotation or revocation ends the old credentials and tokens on their next use. Secrets are
//! shown once and stored only as argon2id hashes; the ledger holds the admin changes without
//! secret material; every refusal has its RFC 6749 error and status and writes nothing.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tsunagi_tests::{person_input, tests, Server, AUDIENCE, ISSUER, SECRET};

tests!(
    client_token_calls_graphql_with_narrowed_roles,
    secret_is_shown_once_and_stored_as_argon2id,
    token_errors_follow_rfc6749,
    rotation_ends_the_old_secret_and_its_tokens,
    revocation_is_effective_on_the_next_request,
    client_token_is_bound_to_its_account_and_client,
    only_admins_manage_clients,
    client_accounts_and_scopes_are_validated,
    ledger_holds_client_changes_without_secrets,
    token_lifetime_and_rate_limit_are_configurable,
);

const CREATE: &str = "mutation($i: CreateServiceClientInput!) { createServiceClient(input: $i) { clientSecret client { id name scopes active version secretRotatedAt revokedAt account { id } } } }";
const ROTATE: &str = "mutation($id: ID!, $v: Int!) { rotateServiceClientSecret(id: $id, version: $v) { clientSecret client { id version } } }";
const REVOKE: &str = "mutation($id: ID!, $v: Int!) { revokeServiceClient(id: $id, version: $v) { id active revokedAt version } }";
const LIST: &str = "query($a: ID) { serviceClients(accountId: $a) { id name scopes active version secretRotatedAt revokedAt createdAt account { id login } } }";
const VIEWER: &str = "{ viewer { account { id } effectiveRoles } }";
const CC: &str = "grant_type=client_credentials";

/// A SERVICE account created through the admin API; returns its id.
async fn service_account(srv: &Server, login: &str, agency: &str, roles: &[&str]) -> String {
    let r = srv
        .gql(
            &srv.admin_token,
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
            json!({ "i": { "login": login, "displayName": login, "agencyId": agency, "kind": "SERVICE", "roles": roles } }),
        )
        .await;
    r.ok()["createAccount"]["id"].as_str().unwrap().to_owned()
}

/// An agency with one SERVICE account holding INTEGRATION and LIFE_SUPPORT_COORDINATOR.
async fn vendor(srv: &Server, code: &str) -> (String, String) {
    let agency = srv.agency(code, "COMPREHENSIVE_CARE").await;
    let account = service_account(
        srv,
        &format!("{code}-svc"),
        &agency,
        &["INTEGRATION", "LIFE_SUPPORT_COORDINATOR"],
    )
    .await;
    (agency, account)
}

/// Issue a client as the admin; returns (client id, secret).
async fn create_client(srv: &Server, account: &str, scopes: &[&str]) -> (String, String) {
    let r = srv
        .gql(
            &srv.admin_token,
            CREATE,
            json!({ "i": { "accountId": account, "name": "介護記録システム連携", "scopes": scopes } }),
        )
        .await;
    let issued = &r.ok()["createServiceClient"];
    (
        issued["client"]["id"].as_str().unwrap().to_owned(),
        issued["clientSecret"].as_str().unwrap().to_owned(),
    )
}

/// How the client authenticates at the token endpoint.
enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Header(&'a str),
}

struct TokenResponse {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl TokenResponse {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// A successful token response; returns the access token.
    fn token(&self) -> String {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(self.body["token_type"], "Bearer");
        assert_eq!(self.header("cache-control"), "no-store");
        self.body["access_token"].as_str().unwrap().to_owned()
    }

    /// A §5.2 error: status, `error`, no-store, an ASCII description (the RFC allows no
    /// other characters there), and for 401 a Basic challenge.
    fn error(&self, status: u16, error: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], error, "{}", self.body);
        assert!(self.body.get("access_token").is_none());
        assert_eq!(self.header("cache-control"), "no-store");
        let description = self.body["error_description"].as_str().unwrap();
        assert!(
            description
                .bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
            "{description}"
        );
        if status == 401 {
            assert!(self.header("www-authenticate").starts_with("Basic"));
        }
        &self.body
    }
}

async fn post_token(srv: &Server, auth: Auth<'_>, content_type: &str, body: &str) -> TokenResponse {
    let mut req = reqwest::Client::new()
        .post(srv.url("/oauth/token"))
        .header("content-type", content_type)
        .body(body.to_owned());
    req = match auth {
        Auth::None => req,
        Auth::Basic(id, secret) => req.basic_auth(id, Some(secret)),
        Auth::Header(value) => req.header("authorization", value),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap();
    TokenResponse {
        status,
        headers,
        body,
    }
}

/// A form-encoded token request with HTTP Basic credentials.
async fn token_request(srv: &Server, id: &str, secret: &str, body: &str) -> TokenResponse {
    post_token(
        srv,
        Auth::Basic(id, secret),
        "application/x-www-form-urlencoded",
        body,
    )
    .await
}

/// Claims of a token the hub signed (verifies the signature too).
fn claims(token: &str) -> Value {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[AUDIENCE]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(SECRET), &v)
        .unwrap()
        .claims
}

fn roles(viewer: &Value) -> Vec<String> {
    let mut r: Vec<String> = viewer["viewer"]["effectiveRoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    r.sort();
    r
}

async fn client_rows(srv: &Server) -> Vec<entity::service_client::Model> {
    entity::service_client::Entity::find()
        .all(&srv.db)
        .await
        .unwrap()
}

async fn client_token_calls_graphql_with_narrowed_roles(srv: &Server) {
    let (_, account) = vendor(srv, "cc-vendor").await;
    let (id, secret) =
        create_client(srv, &account, &["INTEGRATION", "LIFE_SUPPORT_COORDINATOR"]).await;

    // No scope asked: all the client's scopes.
    let all = token_request(srv, &id, &secret, CC).await;
    let token = all.token();
    assert_eq!(all.body["expires_in"], 600);
    assert_eq!(all.header("pragma"), "no-cache");
    let mut scope: Vec<&str> = all.body["scope"].as_str().unwrap().split(' ').collect();
    scope.sort();
    assert_eq!(scope, ["integration", "life_support_coordinator"]);
    let c = claims(&token);
    assert_eq!(c["sub"], account.as_str());
    assert_eq!(c["cid"], id.as_str());
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 600);
    let v = srv.gql(&token, VIEWER, json!({})).await;
    assert_eq!(v.ok()["viewer"]["account"]["id"], account.as_str());
    assert_eq!(roles(v.ok()), ["INTEGRATION", "LIFE_SUPPORT_COORDINATOR"]);

    // Narrowed to life_support_coordinator: that role may not register persons...
    let lsc = token_request(
        srv,
        &id,
        &secret,
        &format!("{CC}&scope=life_support_coordinator"),
    )
    .await;
    assert_eq!(lsc.body["scope"], "life_support_coordinator");
    let lsc = lsc.token();
    assert_eq!(
        roles(srv.gql(&lsc, VIEWER, json!({})).await.ok()),
        ["LIFE_SUPPORT_COORDINATOR"]
    );
    let create = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id familyName } }";
    let input = json!({ "i": person_input("連携", "一郎", "レンケイ", "イチロウ") });
    let refused = srv.gql(&lsc, create, input.clone()).await;
    refused.only_error("FORBIDDEN");
    assert_eq!(
        entity::person::Entity::find().count(&srv.db).await.unwrap(),
        0
    );

    // ...integration may; the form-field method works as well as HTTP Basic.
    let integration = post_token(
        srv,
        Auth::None,
        "application/x-www-form-urlencoded; charset=UTF-8",
        &format!("{CC}&scope=integration&client_id={id}&client_secret={secret}"),
    )
    .await
    .token();
    let created = srv.gql(&integration, create, input).await;
    assert_eq!(created.ok()["createPerson"]["familyName"], "連携");
    // The write is ledgered as the service account, with the narrowed roles.
    let ledger = srv.ledger().await;
    let write = ledger
        .iter()
        .find(|r| r.operation == "createPerson" && r.action == "WRITE")
        .unwrap();
    assert_eq!(write.account_id.as_deref(), Some(account.as_str()));
    assert_eq!(write.roles, "integration");
    // ... and names the client, on the WRITE row and on the READ row of the answer (the
    // familyName it asked back); a staff token's rows name none.
    assert_eq!(write.client_id.as_deref(), Some(id.as_str()));
    let read = ledger
        .iter()
        .find(|r| r.action == "READ" && r.seq > write.seq)
        .unwrap();
    assert_eq!(read.client_id.as_deref(), Some(id.as_str()));
    assert!(ledger
        .iter()
        .filter(|r| r.account_id.as_deref() != Some(account.as_str()))
        .all(|r| r.client_id.is_none()));
    // Hashed with the row: the chain verifies, and the ledger query shows it.
    let v = srv
        .gql(
            &srv.admin_token,
            "{ verifyAuditChain { ok } auditEvents(first: 100) { edges { node { seq clientId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(v.ok()["verifyAuditChain"]["ok"], true, "{}", v.body);
    let shown: Vec<&Value> = v.ok()["auditEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["node"]["seq"] == write.seq)
        .collect();
    assert_eq!(shown[0]["node"]["clientId"], id.as_str());
    // Editing the client out of a row breaks the chain there.
    use sea_orm::{ConnectionTrait, Statement};
    let backend = srv.db.get_database_backend();
    srv.db
        .execute_raw(Statement::from_string(
            backend,
            format!(
                "UPDATE audit_event SET client_id = NULL WHERE seq = {}",
                write.seq
            ),
        ))
        .await
        .unwrap();
    let v = srv
        .gql(
            &srv.admin_token,
            "{ verifyAuditChain { ok firstBrokenSeq } }",
            json!({}),
        )
        .await;
    assert_eq!(v.ok()["verifyAuditChain"]["firstBrokenSeq"], write.seq);
}

async fn secret_is_shown_once_and_stored_as_argon2id(srv: &Server) {
    let (_, account) = vendor(srv, "sec-vendor").await;
    let r = srv
        .gql(
            &srv.admin_token,
            CREATE,
            json!({ "i": { "accountId": account, "name": "  相談記録連携  ", "scopes": ["INTEGRATION"] } }),
        )
        .await;
    let issued = &r.ok()["createServiceClient"];
    let secret = issued["clientSecret"].as_str().unwrap().to_owned();
    let id = issued["client"]["id"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("tsc_") && secret.len() >= 4 + 43,
        "{secret}"
    );
    assert_eq!(issued["client"]["name"], "相談記録連携");
    assert_eq!(issued["client"]["scopes"], json!(["INTEGRATION"]));
    assert_eq!(issued["client"]["active"], true);
    assert_eq!(issued["client"]["version"], 1);
    assert_eq!(issued["client"]["account"]["id"], account.as_str());
    let body = secret.trim_start_matches("tsc_");

    // Not retrievable afterwards: no field of the type holds it, and the listing (every
    // field there is) does not contain it.
    let fields = srv
        .gql(
            &srv.admin_token,
            "{ __type(name: \"ServiceClient\") { fields { name } } }",
            json!({}),
        )
        .await;
    let names: Vec<String> = fields.ok()["__type"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("secret") || n == "secretrotatedat"),
        "{names:?}"
    );
    assert!(names.iter().all(|n| !n.contains("hash")), "{names:?}");
    let listed = srv
        .gql(&srv.admin_token, LIST, json!({ "a": account }))
        .await;
    let list = listed.ok()["serviceClients"].as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert!(!listed.body.to_string().contains(body));
    assert!(!listed.body.to_string().contains("argon2"));

    // The row holds an argon2id hash and nothing of the secret.
    let rows = client_rows(srv).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert!(
        row.secret_hash.starts_with("$argon2id$v=19$"),
        "{}",
        row.secret_hash
    );
    assert!(!format!("{row:?}").contains(body));
    assert_eq!(row.scopes, "integration");
    assert_eq!(
        row.created_by,
        srv.ledger().await[0].account_id.clone().unwrap()
    );
    // And the hash is what verifies it.
    token_request(srv, &id, &secret, CC).await.token();
}

async fn token_errors_follow_rfc6749(srv: &Server) {
    let (_, account) = vendor(srv, "err-vendor").await;
    let (id, secret) = create_client(srv, &account, &["INTEGRATION"]).await;
    let (_, other_secret) = create_client(srv, &account, &["INTEGRATION"]).await;
    let form = "application/x-www-form-urlencoded";
    let before = srv.snapshot().await;

    // Wrong secret and unknown client: the same 401 invalid_client, the same body.
    let wrong = token_request(srv, &id, "tsc_not-the-secret", CC).await;
    let wrong_body = wrong.error(401, "invalid_client").clone();
    let unknown_id = "01890000-0000-7000-8000-000000000000";
    let unknown = token_request(srv, unknown_id, &secret, CC).await;
    assert_eq!(unknown.error(401, "invalid_client"), &wrong_body);
    token_request(srv, "not-a-uuid", &secret, CC)
        .await
        .error(401, "invalid_client");
    // A secret of another client does not open this one.
    token_request(srv, &id, &other_secret, CC)
        .await
        .error(401, "invalid_client");
    // No client authentication at all; an unsupported method.
    post_token(srv, Auth::None, form, CC)
        .await
        .error(401, "invalid_client");
    post_token(srv, Auth::Header("Bearer abc"), form, CC)
        .await
        .error(401, "invalid_client");

    // Grant type missing, or another one.
    let missing = token_request(srv, &id, &secret, "scope=integration").await;
    assert_eq!(missing.error(400, "invalid_request")["field"], "grant_type");
    let password = token_request(
        srv,
        &id,
        &secret,
        "grant_type=password&username=a&password=b",
    )
    .await;
    assert_eq!(
        password.error(400, "unsupported_grant_type")["field"],
        "grant_type"
    );

    // A scope beyond the client's (the account holds it, the client does not), or no role.
    for scope in [
        "life_support_coordinator",
        "integration+admin",
        "everything",
    ] {
        let r = token_request(srv, &id, &secret, &format!("{CC}&scope={scope}")).await;
        assert_eq!(r.error(400, "invalid_scope")["field"], "scope", "{scope}");
    }

    // Both authentication methods at once.
    let both = token_request(
        srv,
        &id,
        &secret,
        &format!("{CC}&client_id={id}&client_secret={secret}"),
    )
    .await;
    assert_eq!(both.error(400, "invalid_request")["field"], "Authorization");
    // Half of the form credentials.
    let half = post_token(srv, Auth::None, form, &format!("{CC}&client_id={id}")).await;
    assert_eq!(half.error(400, "invalid_request")["field"], "client_secret");
    // Not a form body; a repeated parameter; malformed Basic credentials.
    let as_json = token_request_json(srv, &id, &secret).await;
    assert_eq!(
        as_json.error(400, "invalid_request")["field"],
        "Content-Type"
    );
    let twice = token_request(srv, &id, &secret, &format!("{CC}&{CC}")).await;
    assert_eq!(twice.error(400, "invalid_request")["field"], "grant_type");
    let garbled = post_token(srv, Auth::Header("Basic %%%"), form, CC).await;
    assert_eq!(
        garbled.error(400, "invalid_request")["field"],
        "Authorization"
    );
    // GET is not the token endpoint.
    let get = reqwest::get(srv.url("/oauth/token")).await.unwrap();
    assert_eq!(get.status(), 405);

    // None of it was written anywhere; the right request still works.
    srv.assert_unchanged(&before, "refused token requests")
        .await;
    token_request(srv, &id, &secret, &format!("{CC}&scope=integration"))
        .await
        .token();
}

async fn token_request_json(srv: &Server, id: &str, secret: &str) -> TokenResponse {
    post_token(
        srv,
        Auth::Basic(id, secret),
        "application/json",
        &json!({ "grant_type": "client_credentials" }).to_string(),
    )
    .await
}

async fn rotation_ends_the_old_secret_and_its_tokens(srv: &Server) {
    let (_, account) = vendor(srv, "rot-vendor").await;
    let (id, old) = create_client(srv, &account, &["INTEGRATION"]).await;
    let old_token = token_request(srv, &id, &old, CC).await.token();
    srv.gql(&old_token, VIEWER, json!({})).await.ok();

    let r = srv
        .gql(&srv.admin_token, ROTATE, json!({ "id": id, "v": 1 }))
        .await;
    let rotated = &r.ok()["rotateServiceClientSecret"];
    let new = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(new.starts_with("tsc_"));
    assert_eq!(rotated["client"]["version"], 2);
    let row = client_rows(srv).await.pop().unwrap();
    assert!(row.secret_hash.starts_with("$argon2id$"));
    assert!(!format!("{row:?}").contains(new.trim_start_matches("tsc_")));

    // The old secret is refused; a token obtained with it is refused on its next use.
    token_request(srv, &id, &old, CC)
        .await
        .error(401, "invalid_client");
    let stale = srv.gql(&old_token, VIEWER, json!({})).await;
    assert_eq!(stale.status, 401);
    assert_eq!(
        stale.only_error("UNAUTHENTICATED")["extensions"]["reason"],
        "client_secret_rotated"
    );
    assert_eq!(stale.data(), &Value::Null);
    // The new one works.
    let fresh = token_request(srv, &id, &new, CC).await.token();
    srv.gql(&fresh, VIEWER, json!({})).await.ok();

    // A stale version is a conflict, and nothing changes.
    let before = srv.snapshot().await;
    srv.gql(&srv.admin_token, ROTATE, json!({ "id": id, "v": 1 }))
        .await
        .only_error("CONFLICT");
    // So is the largest version (it must not overflow into a panic or a wrap).
    srv.gql(&srv.admin_token, ROTATE, json!({ "id": id, "v": i32::MAX }))
        .await
        .only_error("CONFLICT");
    srv.assert_unchanged(&before, "stale rotations").await;
    token_request(srv, &id, &new, CC).await.token();
}

async fn revocation_is_effective_on_the_next_request(srv: &Server) {
    let (_, account) = vendor(srv, "rev-vendor").await;
    let (id, secret) = create_client(srv, &account, &["INTEGRATION"]).await;
    let (other, other_secret) = create_client(srv, &account, &["INTEGRATION"]).await;
    let token = token_request(srv, &id, &secret, CC).await.token();
    let other_token = token_request(srv, &other, &other_secret, CC).await.token();
    srv.gql(&token, VIEWER, json!({})).await.ok();

    let r = srv
        .gql(&srv.admin_token, REVOKE, json!({ "id": id, "v": 1 }))
        .await;
    let revoked = &r.ok()["revokeServiceClient"];
    assert_eq!(revoked["active"], false);
    assert!(revoked["revokedAt"].is_string());
    assert_eq!(revoked["version"], 2);

    // The token already issued is refused on its very next request.
    let refused = srv.gql(&token, VIEWER, json!({})).await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.only_error("UNAUTHENTICATED")["extensions"]["reason"],
        "client_revoked"
    );
    // New token requests fail even with the right secret.
    let again = token_request(srv, &id, &secret, CC).await;
    again.error(401, "invalid_client");
    // The account's other client is untouched.
    srv.gql(&other_token, VIEWER, json!({})).await.ok();
    // The listing says so; a revoked client cannot be rotated or revoked again.
    let listed = srv
        .gql(&srv.admin_token, LIST, json!({ "a": account }))
        .await;
    let list = listed.ok()["serviceClients"].as_array().unwrap().clone();
    let mine = list.iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert_eq!(mine["active"], false);
    let before = srv.snapshot().await;
    srv.gql(&srv.admin_token, ROTATE, json!({ "id": id, "v": 2 }))
        .await
        .only_error("CONFLICT");
    srv.gql(&srv.admin_token, REVOKE, json!({ "id": id, "v": 2 }))
        .await
        .only_error("CONFLICT");
    srv.assert_unchanged(&before, "a revoked client rotated or revoked")
        .await;
    token_request(srv, &id, &secret, CC)
        .await
        .error(401, "invalid_client");

    // Deactivating the account ends its clients' tokens and token requests too.
    srv.gql(
        &srv.admin_token,
        "mutation($id: ID!) { deactivateAccount(id: $id, version: 1) { active } }",
        json!({ "id": account }),
    )
    .await
    .ok();
    let gone = srv.gql(&other_token, VIEWER, json!({})).await;
    assert_eq!(
        gone.only_error("UNAUTHENTICATED")["extensions"]["reason"],
        "account_deactivated"
    );
    token_request(srv, &other, &other_secret, CC)
        .await
        .error(401, "invalid_client");
}

async fn client_token_is_bound_to_its_account_and_client(srv: &Server) {
    let (agency, account) = vendor(srv, "bind-vendor").await;
    let second = service_account(srv, "bind-second", &agency, &["INTEGRATION"]).await;
    let (id, secret) = create_client(srv, &account, &["INTEGRATION"]).await;
    let issued = claims(&token_request(srv, &id, &secret, CC).await.token());
    let generation = issued["cgen"].as_i64().unwrap();
    let integration = [tsunagi_api::policy::Role::Integration]
        .into_iter()
        .collect();
    let mint = |sub: &str, cid: &str, generation: i64| {
        tsunagi_api::auth::mint_for_client(&srv.jwt, sub, cid, generation, &integration, 600)
            .unwrap()
    };
    // The same client id under another account, an unknown client id, another generation.
    let cases = [
        (mint(&second, &id, generation), "unknown_client"),
        (
            mint(&account, "01890000-0000-7000-8000-000000000000", generation),
            "unknown_client",
        ),
        (mint(&account, &id, generation - 1), "client_secret_rotated"),
    ];
    for (token, reason) in cases {
        let r = srv.gql(&token, VIEWER, json!({})).await;
        assert_eq!(r.status, 401);
        assert_eq!(
            r.only_error("UNAUTHENTICATED")["extensions"]["reason"],
            reason
        );
    }
    // The genuine claims pass; a token's roles cannot exceed the client's scopes even when
    // the account holds more.
    let widened = tsunagi_api::auth::mint_for_client(
        &srv.jwt,
        &account,
        &id,
        generation,
        &[
            tsunagi_api::policy::Role::Integration,
            tsunagi_api::policy::Role::LifeSupportCoordinator,
        ]
        .into_iter()
        .collect(),
        600,
    )
    .unwrap();
    assert_eq!(
        roles(srv.gql(&widened, VIEWER, json!({})).await.ok()),
        ["INTEGRATION"]
    );
}

async fn only_admins_manage_clients(srv: &Server) {
    let (agency, account) = vendor(srv, "perm-vendor").await;
    let (id, secret) = create_client(srv, &account, &["INTEGRATION"]).await;
    let (_, caseworker) = srv.account("perm-cw", &agency, &["caseworker"]).await;
    let (_, auditor) = srv
        .account("perm-auditor", &srv.city_agency, &["auditor"])
        .await;
    let client_token = token_request(srv, &id, &secret, CC).await.token();
    let before = srv.snapshot().await;
    let calls = [
        (
            CREATE,
            json!({ "i": { "accountId": account, "name": "x", "scopes": ["INTEGRATION"] } }),
        ),
        (ROTATE, json!({ "id": id, "v": 1 })),
        (REVOKE, json!({ "id": id, "v": 1 })),
        (LIST, json!({ "a": account })),
    ];
    for tok in [&caseworker, &auditor, &client_token] {
        for (q, vars) in &calls {
            let r = srv.gql(tok, q, vars.clone()).await;
            r.only_error("FORBIDDEN");
            assert_eq!(r.data(), &Value::Null);
        }
    }
    srv.assert_unchanged(&before, "client calls without the admin role")
        .await;
    token_request(srv, &id, &secret, CC).await.token();
}

async fn client_accounts_and_scopes_are_validated(srv: &Server) {
    let (agency, service) = vendor(srv, "val-vendor").await;
    let (staff, _) = srv
        .account("val-staff", &agency, &["integration", "caseworker"])
        .await;
    let no_integration = service_account(srv, "val-nointeg", &agency, &["CASEWORKER"]).await;
    let admin_service =
        service_account(srv, "val-admin-svc", &agency, &["ADMIN", "INTEGRATION"]).await;
    let deactivated = service_account(srv, "val-off", &agency, &["INTEGRATION"]).await;
    srv.gql(
        &srv.admin_token,
        "mutation($id: ID!) { deactivateAccount(id: $id, version: 1) { active } }",
        json!({ "id": deactivated }),
    )
    .await
    .ok();
    let before = srv.snapshot().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "accountId": staff, "name": "n", "scopes": ["INTEGRATION"] }),
            "BAD_USER_INPUT",
            "input.accountId",
        ),
        (
            json!({ "accountId": no_integration, "name": "n", "scopes": ["CASEWORKER"] }),
            "BAD_USER_INPUT",
            "input.accountId",
        ),
        (
            json!({ "accountId": deactivated, "name": "n", "scopes": ["INTEGRATION"] }),
            "BAD_USER_INPUT",
            "input.accountId",
        ),
        (
            json!({ "accountId": service, "name": "n", "scopes": ["INTEGRATION", "CASEWORKER"] }),
            "BAD_USER_INPUT",
            "input.scopes",
        ),
        (
            json!({ "accountId": service, "name": "n", "scopes": [] }),
            "BAD_USER_INPUT",
            "input.scopes",
        ),
        (
            json!({ "accountId": admin_service, "name": "n", "scopes": ["ADMIN", "INTEGRATION"] }),
            "BAD_USER_INPUT",
            "input.scopes",
        ),
        (
            json!({ "accountId": service, "name": "  ", "scopes": ["INTEGRATION"] }),
            "BAD_USER_INPUT",
            "input.name",
        ),
        (
            json!({ "accountId": "nope", "name": "n", "scopes": ["INTEGRATION"] }),
            "BAD_USER_INPUT",
            "input.accountId",
        ),
        (
            json!({ "accountId": "01890000-0000-7000-8000-000000000000", "name": "n", "scopes": ["INTEGRATION"] }),
            "NOT_FOUND",
            "input.accountId",
        ),
    ];
    for (input, code, field) in cases {
        let r = srv
            .gql(&srv.admin_token, CREATE, json!({ "i": input }))
            .await;
        let e = r.only_error(code);
        assert_eq!(e["extensions"]["field"], field, "{input}");
        assert_eq!(r.data(), &Value::Null);
    }
    // The beyond-roles message names the role.
    let r = srv
        .gql(
            &srv.admin_token,
            CREATE,
            json!({ "i": { "accountId": service, "name": "n", "scopes": ["INTEGRATION", "CASEWORKER"] } }),
        )
        .await;
    assert!(r.errors()[0]["message"]
        .as_str()
        .unwrap()
        .contains("caseworker"));
    srv.assert_unchanged(&before, "refused client creations")
        .await;
    // Rotating or revoking what does not exist.
    srv.gql(
        &srv.admin_token,
        REVOKE,
        json!({ "id": "01890000-0000-7000-8000-000000000000", "v": 1 }),
    )
    .await
    .only_error("NOT_FOUND");
}

async fn ledger_holds_client_changes_without_secrets(srv: &Server) {
    let (_, account) = vendor(srv, "led-vendor").await;
    let start = srv.ledger().await.len();
    let (id, first) = create_client(srv, &account, &["INTEGRATION"]).await;
    let first_hash = client_rows(srv).await.pop().unwrap().secret_hash;
    let r = srv
        .gql(&srv.admin_token, ROTATE, json!({ "id": id, "v": 1 }))
        .await;
    let second = r.ok()["rotateServiceClientSecret"]["clientSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    let second_hash = client_rows(srv).await.pop().unwrap().secret_hash;
    srv.gql(&srv.admin_token, REVOKE, json!({ "id": id, "v": 2 }))
        .await
        .ok();
    // Token requests themselves leave no ledger rows (they read no personal data).
    token_request(srv, &id, &second, CC)
        .await
        .error(401, "invalid_client");

    let rows = srv.ledger().await;
    let admin = rows[0].account_id.clone();
    let changes: Vec<_> = rows[start..].to_vec();
    let ops: Vec<&str> = changes.iter().map(|r| r.operation.as_str()).collect();
    assert_eq!(
        ops,
        [
            "createServiceClient",
            "rotateServiceClientSecret",
            "revokeServiceClient"
        ]
    );
    for row in &changes {
        assert_eq!(row.action, "WRITE");
        assert_eq!(row.record_type, "service_client");
        assert_eq!(row.record_id.as_deref(), Some(id.as_str()));
        assert_eq!(row.account_id, admin);
        assert!(row.subject_person_id.is_none());
    }
    let detail: Value = serde_json::from_str(&changes[0].detail).unwrap();
    assert_eq!(detail["accountId"], account.as_str());
    assert_eq!(detail["scopes"], "integration");
    // No secret, no hash, not even their distinctive parts, anywhere in the ledger.
    let all = format!("{rows:?}");
    for needle in [
        first.trim_start_matches("tsc_"),
        second.trim_start_matches("tsc_"),
        first_hash.as_str(),
        second_hash.as_str(),
        "argon2",
    ] {
        assert!(!all.contains(needle), "ledger holds {needle}");
    }
    let chain = srv
        .gql(&srv.admin_token, "{ verifyAuditChain { ok } }", json!({}))
        .await;
    assert_eq!(chain.ok()["verifyAuditChain"]["ok"], true);
}

async fn token_lifetime_and_rate_limit_are_configurable(srv: &Server) {
    let tuned = Server::start_with(&srv.backend, |c| {
        c.oauth.token_ttl_secs = 120;
        c.oauth.requests_per_minute = 3;
    })
    .await;
    let (_, account) = vendor(&tuned, "ttl-vendor").await;
    let (id, secret) = create_client(&tuned, &account, &["INTEGRATION"]).await;
    let (other, other_secret) = create_client(&tuned, &account, &["INTEGRATION"]).await;
    let first = token_request(&tuned, &id, &secret, CC).await;
    assert_eq!(first.body["expires_in"], 120);
    let c = claims(&first.token());
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 120);
    // Three tokens per minute per client. Failed attempts are not charged: a client id is
    // no secret (it is in every token's cid), so they must not use up the real client's
    // allowance.
    for _ in 0..5 {
        token_request(&tuned, &id, "tsc_wrong", CC)
            .await
            .error(401, "invalid_client");
    }
    token_request(&tuned, &id, &secret, CC).await.token();
    token_request(&tuned, &id, &secret, CC).await.token();
    let limited = token_request(&tuned, &id, &secret, CC).await;
    limited.error(429, "slow_down");
    assert!(limited.header("retry-after").parse::<u64>().unwrap() >= 1);
    // Another client has its own allowance.
    token_request(&tuned, &other, &other_secret, CC)
        .await
        .token();
    // Unknown ids answer like a wrong secret however often they are tried, so the limit
    // cannot tell which ids exist.
    for i in 0..5 {
        let unknown = format!("01890000-0000-7000-8000-00000000000{i}");
        token_request(&tuned, &unknown, "tsc_guess", CC)
            .await
            .error(401, "invalid_client");
    }
    tuned.stop().await;
}
