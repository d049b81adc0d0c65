//! Authentication at the HTTP edge: a bearer JWT → a [`Principal`].
//!
//! The token says who (`sub` = account id) and may narrow the roles (`roles`); the hub's own
//! registry says which agency and which roles the account has, so an admin's change or a
//! deactivation takes effect on the next request. Every failure has its own reason, sent as
//! `extensions.reason` with code UNAUTHENTICATED.

use std::collections::BTreeSet;

use base64::Engine;
use jsonwebtoken::{errors::ErrorKind, Algorithm, Header, Validation};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};

use crate::policy::{AgencyKind, Principal, Role};

mod client;
mod keys;
pub use client::ClientFailure;
pub use keys::{ensure_dev_signing_key, new_ed25519_pem, KeyConfig, KeySource, MIN_RSA_BITS};

/// How tokens are checked: the keys, the expected issuer and audience, the leeway and the
/// maximum token age. Read from the environment with the rest of the configuration.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub key: KeySource,
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on exp, nbf and iat, in seconds (the configuration caps it).
    pub leeway_secs: u64,
    /// The oldest a token may be (now - iat) and the longest it may live (exp - iat), in
    /// seconds.
    pub max_token_age_secs: u64,
}

/// Largest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    pub nbf: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Service client that obtained the token (POST /oauth/token); see [`crate::oauth`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The client's secret generation (when its current secret was set, in microseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgen: Option<i64>,
    /// The granted scope, space-separated (informative: `roles` is what narrows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Why a request was not authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    MissingToken,
    Malformed,
    TooLarge,
    AlgorithmNotAllowed,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
    InvalidRoles,
    UnknownAccount,
    Deactivated,
    /// A service-client token whose client no longer stands behind it.
    Client(ClientFailure),
    /// A key set is configured and the token names no key (`kid`).
    MissingKid,
    /// The token names a key (`kid`) the hub does not have (or no longer has).
    UnknownKid,
    /// The `typ` header is missing or not "JWT" / "at+jwt".
    WrongTokenType,
    /// `iat` lies in the future (beyond the leeway).
    IssuedInFuture,
    /// `iat` lies further back than the maximum token age.
    TooOld,
    /// `exp - iat` is longer than the maximum token age.
    LifetimeTooLong,
}

impl AuthFailure {
    pub fn reason(&self) -> &'static str {
        match self {
            AuthFailure::MissingToken => "missing_token",
            AuthFailure::Malformed => "malformed_token",
            AuthFailure::TooLarge => "token_too_large",
            AuthFailure::AlgorithmNotAllowed => "algorithm_not_allowed",
            AuthFailure::BadSignature => "bad_signature",
            AuthFailure::Expired => "token_expired",
            AuthFailure::NotYetValid => "token_not_yet_valid",
            AuthFailure::WrongIssuer => "wrong_issuer",
            AuthFailure::WrongAudience => "wrong_audience",
            AuthFailure::MissingClaim => "missing_claim",
            AuthFailure::InvalidRoles => "invalid_roles_claim",
            AuthFailure::UnknownAccount => "unknown_account",
            AuthFailure::Deactivated => "account_deactivated",
            AuthFailure::Client(f) => f.reason(),
            AuthFailure::MissingKid => "missing_kid",
            AuthFailure::UnknownKid => "unknown_kid",
            AuthFailure::WrongTokenType => "wrong_token_type",
            AuthFailure::IssuedInFuture => "issued_in_future",
            AuthFailure::TooOld => "token_too_old",
            AuthFailure::LifetimeTooLong => "lifetime_too_long",
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            AuthFailure::MissingToken => {
                "Authorization: Bearer <JWT> が必要です / a bearer token is required"
            }
            AuthFailure::Malformed => "トークンの形式が不正です / the token is malformed",
            AuthFailure::TooLarge => "トークンが大きすぎます / the token is too large",
            AuthFailure::AlgorithmNotAllowed => {
                "許可されていない署名アルゴリズムです / signing algorithm not allowed"
            }
            AuthFailure::BadSignature => "署名が不正です / bad signature",
            AuthFailure::Expired => "トークンの有効期限が切れています / the token has expired",
            AuthFailure::NotYetValid => {
                "トークンはまだ有効ではありません / the token is not yet valid"
            }
            AuthFailure::WrongIssuer => "発行者が不正です / wrong issuer",
            AuthFailure::WrongAudience => "対象者 (aud) が不正です / wrong audience",
            AuthFailure::MissingClaim => "必須クレームがありません / a required claim is missing",
            AuthFailure::InvalidRoles => "roles クレームが不正です / invalid roles claim",
            AuthFailure::UnknownAccount => "アカウントが見つかりません / unknown account",
            AuthFailure::Deactivated => {
                "アカウントは無効化されています / the account is deactivated"
            }
            AuthFailure::Client(f) => f.message(),
            AuthFailure::MissingKid => {
                "トークンに鍵 ID (kid) がありません / the token names no key (kid)"
            }
            AuthFailure::UnknownKid => "鍵 ID (kid) が不明です / unknown key id (kid)",
            AuthFailure::WrongTokenType => "トークン種別 (typ) が不正です / wrong token type (typ)",
            AuthFailure::IssuedInFuture => {
                "発行時刻 (iat) が未来です / the token is issued in the future"
            }
            AuthFailure::TooOld => "トークンが古すぎます / the token is too old",
            AuthFailure::LifetimeTooLong => {
                "トークンの有効期間が長すぎます / the token's lifetime is too long"
            }
        }
    }
}

fn validation(cfg: &JwtConfig, alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.set_issuer(&[&cfg.issuer]);
    v.set_audience(&[&cfg.audience]);
    v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    v.leeway = cfg.leeway_secs;
    v
}

/// The protected header, read by us before any library parsing.
struct TokenHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

fn parse_header(token: &str) -> Result<TokenHeader, AuthFailure> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthFailure::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .map_err(|_| AuthFailure::Malformed)?;
    let json: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| AuthFailure::Malformed)?;
    let text = |name: &str| match json.get(name) {
        None => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AuthFailure::Malformed),
    };
    // `crit` names extensions the verifier must understand (RFC 7515 §4.1.11): we know none.
    if json.get("crit").is_some() {
        return Err(AuthFailure::Malformed);
    }
    Ok(TokenHeader {
        alg: text("alg")?.ok_or(AuthFailure::Malformed)?,
        typ: text("typ")?,
        kid: text("kid")?,
    })
}

/// "JWT" or "at+jwt" (RFC 9068), case-insensitive, with or without "application/".
fn acceptable_typ(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    let typ = typ.strip_prefix("application/").unwrap_or(&typ);
    typ == "jwt" || typ == "at+jwt"
}

/// Verify a raw `Authorization` header value and return the claims.
///
/// The order: shape and size; the header's `alg` must be one some configured key verifies
/// ("none" never is); `typ`; the key named by `kid` (a token without `kid` can only mean the
/// HS256 secret); the header's `alg` must equal that key's pinned algorithm; then signature,
/// exp, nbf, iss, aud (with the leeway), and iat against the maximum token age.
pub fn verify(cfg: &JwtConfig, authorization: Option<&str>) -> Result<Claims, AuthFailure> {
    let value = authorization.ok_or(AuthFailure::MissingToken)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or(AuthFailure::Malformed)?
        .trim();
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthFailure::TooLarge);
    }
    let header = parse_header(token)?;
    let keys = cfg.key.current();
    let alg: Algorithm = header
        .alg
        .parse()
        .map_err(|_| AuthFailure::AlgorithmNotAllowed)?;
    if !keys.allows(alg) {
        return Err(AuthFailure::AlgorithmNotAllowed);
    }
    if !header.typ.as_deref().is_some_and(acceptable_typ) {
        return Err(AuthFailure::WrongTokenType);
    }
    let (pinned, key) = match header.kid.as_deref() {
        Some(kid) => keys
            .keys
            .get(kid)
            .map(|k| (k.alg, &k.key))
            .ok_or(AuthFailure::UnknownKid)?,
        None => keys
            .hs256
            .as_ref()
            .map(|k| (Algorithm::HS256, k))
            .ok_or(AuthFailure::MissingKid)?,
    };
    if alg != pinned {
        return Err(AuthFailure::AlgorithmNotAllowed);
    }
    // Decode to a JSON map first, so the library checks required claims (and reports which
    // is missing) before our typed view is built. The validation allows only the key's
    // pinned algorithm.
    let mut claims =
        jsonwebtoken::decode::<serde_json::Value>(token, key, &validation(cfg, pinned))
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => AuthFailure::BadSignature,
                ErrorKind::ExpiredSignature => AuthFailure::Expired,
                ErrorKind::ImmatureSignature => AuthFailure::NotYetValid,
                ErrorKind::InvalidIssuer => AuthFailure::WrongIssuer,
                ErrorKind::InvalidAudience => AuthFailure::WrongAudience,
                ErrorKind::MissingRequiredClaim(_) => AuthFailure::MissingClaim,
                ErrorKind::InvalidAlgorithm
                | ErrorKind::MissingAlgorithm
                | ErrorKind::InvalidAlgorithmName
                | ErrorKind::UnsupportedAlgorithm => AuthFailure::AlgorithmNotAllowed,
                _ => AuthFailure::Malformed,
            })?;
    check_age(cfg, &claims)?;
    // An IdP may send `aud` as a list; the library has checked ours is in it.
    if claims.get("aud").is_some_and(|a| a.is_array()) {
        claims["aud"] = serde_json::Value::String(cfg.audience.clone());
    }
    serde_json::from_value(claims).map_err(|_| AuthFailure::Malformed)
}

/// `iat` is required; it may not lie in the future (beyond the leeway) nor further back than
/// the maximum token age, and the token may not live longer than that age.
fn check_age(cfg: &JwtConfig, claims: &serde_json::Value) -> Result<(), AuthFailure> {
    let number = |name: &str| match claims.get(name) {
        None => Err(AuthFailure::MissingClaim),
        Some(v) => v.as_u64().ok_or(AuthFailure::Malformed),
    };
    let iat = number("iat")?;
    let exp = number("exp")?;
    let now = jsonwebtoken::get_current_timestamp();
    if iat > now.saturating_add(cfg.leeway_secs) {
        return Err(AuthFailure::IssuedInFuture);
    }
    if now.saturating_sub(iat) > cfg.max_token_age_secs.saturating_add(cfg.leeway_secs) {
        return Err(AuthFailure::TooOld);
    }
    if exp.saturating_sub(iat) > cfg.max_token_age_secs {
        return Err(AuthFailure::LifetimeTooLong);
    }
    Ok(())
}

/// Verify the token and resolve the principal from the registry.
pub async fn authenticate(
    db: &DatabaseConnection,
    cfg: &JwtConfig,
    authorization: Option<&str>,
) -> Result<Result<Principal, AuthFailure>, sea_orm::DbErr> {
    let claims = match verify(cfg, authorization) {
        Ok(c) => c,
        Err(f) => return Ok(Err(f)),
    };
    let narrowed: Option<BTreeSet<Role>> = match &claims.roles {
        None => None,
        Some(names) => match names.iter().map(|n| Role::parse(n)).collect() {
            Some(set) => Some(set),
            None => return Ok(Err(AuthFailure::InvalidRoles)),
        },
    };
    // The account, its agency and the client a client token names: one statement.
    let Some(caller) =
        crate::store::registry::caller(db, &claims.sub, claims.cid.as_deref()).await?
    else {
        return Ok(Err(AuthFailure::UnknownAccount));
    };
    let account = caller.account;
    let Some(agency) = caller.agency.filter(|a| a.active && account.active) else {
        return Ok(Err(AuthFailure::Deactivated));
    };
    let Some(agency_kind) = AgencyKind::parse(&agency.kind) else {
        return Ok(Err(AuthFailure::Deactivated));
    };
    let mut roles = Role::parse_set(&account.roles);
    if let Some(narrow) = narrowed {
        roles.retain(|r| narrow.contains(r));
    }
    if claims.cid.is_some() {
        match client::token_client(caller.client, &account.id, claims.cgen) {
            Ok(scopes) => roles.retain(|r| scopes.contains(r)),
            Err(f) => return Ok(Err(AuthFailure::Client(f))),
        }
    }
    Ok(Ok(Principal {
        account_id: account.id,
        agency_id: agency.id,
        agency_kind,
        roles,
        client_id: claims.cid,
    }))
}

/// Mint a token for an account, valid from now for `ttl_secs` (at most the maximum token
/// age), optionally narrowing roles.
pub fn mint(
    cfg: &JwtConfig,
    account_id: &str,
    ttl_secs: u64,
    roles: Option<&BTreeSet<Role>>,
) -> anyhow::Result<String> {
    sign(cfg, &issued(cfg, account_id, ttl_secs, roles))
}

/// Mint a token for a service client (POST /oauth/token): `sub` is the client's account,
/// `roles` the granted scope; `cid` and `cgen` tie it to the client and its current secret,
/// so revoking the client or rotating its secret ends the token on its next use.
pub fn mint_for_client(
    cfg: &JwtConfig,
    account_id: &str,
    client_id: &str,
    secret_generation: i64,
    scopes: &BTreeSet<Role>,
    ttl_secs: u64,
) -> anyhow::Result<String> {
    let names: Vec<&str> = scopes.iter().map(|r| r.as_str()).collect();
    let claims = Claims {
        scope: Some(names.join(" ")),
        cid: Some(client_id.to_owned()),
        cgen: Some(secret_generation),
        ..issued(cfg, account_id, ttl_secs, Some(scopes))
    };
    sign(cfg, &claims)
}

/// The claims of a token this hub issues for `account_id` now, valid for `ttl_secs`,
/// narrowed to `roles` when given.
fn issued(
    cfg: &JwtConfig,
    account_id: &str,
    ttl_secs: u64,
    roles: Option<&BTreeSet<Role>>,
) -> Claims {
    let now = jsonwebtoken::get_current_timestamp();
    Claims {
        sub: account_id.to_owned(),
        iss: cfg.issuer.clone(),
        aud: cfg.audience.clone(),
        exp: now + ttl_secs,
        nbf: now,
        iat: Some(now),
        roles: roles.map(|r| r.iter().map(|r| r.as_str().to_owned()).collect()),
        cid: None,
        cgen: None,
        scope: None,
    }
}

/// Sign `claims` with the hub's signing key (its `kid` in the header, `typ` "JWT"). Refuses
/// claims the hub itself would refuse for their age: `iat` is required and `exp - iat` may
/// not exceed the maximum token age.
pub fn sign(cfg: &JwtConfig, claims: &Claims) -> anyhow::Result<String> {
    let Some(iat) = claims.iat else {
        anyhow::bail!("a token needs iat");
    };
    let lifetime = claims.exp.saturating_sub(iat);
    if lifetime > cfg.max_token_age_secs {
        anyhow::bail!(
            "有効期間 {lifetime} 秒は最大 {} 秒を超えます / a lifetime of {lifetime} s exceeds the maximum token age of {} s (TSUNAGI_JWT_MAX_TOKEN_AGE_SECS)",
            cfg.max_token_age_secs,
            cfg.max_token_age_secs
        );
    }
    let keys = cfg.key.current();
    let Some(signer) = keys.signer.as_ref() else {
        anyhow::bail!(
            "このハブは署名鍵を持ちません / the hub has no signing key: set TSUNAGI_JWT_SIGNING_KEY_FILE (TSUNAGI_JWT_JWKS_FILE only verifies)"
        );
    };
    let mut header = Header::new(signer.alg);
    header.kid = signer.kid.clone();
    Ok(jsonwebtoken::encode(&header, claims, &signer.key)?)
}
