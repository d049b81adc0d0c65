//! Authentication at the HTTP edge: a bearer JWT → a [`Principal`].
//!
//! The token says who (`sub` = account id) and may narrow the roles (`roles`); the hub's own
//! registry says which agency and which roles the account has, so an admin's change or a
//! deactivation takes effect on the next request. Every failure has its own reason, sent as
//! `extensions.reason` with code UNAUTHENTICATED.

use std::collections::BTreeSet;
use std::sync::Arc;

use base64::Engine;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::{Deserialize, Serialize};

use crate::config::JwtConfig;
use crate::policy::{AgencyKind, Principal, Role};

/// Largest token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Where verification keys come from. One type, so asymmetric keys (JWKS) can be added
/// without touching callers.
#[derive(Clone)]
pub enum KeySource {
    Hs256 { secret: Arc<Vec<u8>> },
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Hs256 { .. } => f.write_str("KeySource::Hs256(<secret>)"),
        }
    }
}

impl KeySource {
    pub fn hs256(secret: Vec<u8>) -> anyhow::Result<Self> {
        if secret.len() < 32 {
            anyhow::bail!("TSUNAGI_JWT_SECRET must be at least 32 bytes");
        }
        Ok(KeySource::Hs256 {
            secret: Arc::new(secret),
        })
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            KeySource::Hs256 { .. } => Algorithm::HS256,
        }
    }

    fn decoding_key(&self) -> DecodingKey {
        match self {
            KeySource::Hs256 { secret } => DecodingKey::from_secret(secret),
        }
    }

    fn encoding_key(&self) -> EncodingKey {
        match self {
            KeySource::Hs256 { secret } => EncodingKey::from_secret(secret),
        }
    }
}

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
    Client(crate::oauth::ClientFailure),
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
        }
    }
}

fn validation(cfg: &JwtConfig) -> Validation {
    let mut v = Validation::new(cfg.key.algorithm());
    v.set_issuer(&[&cfg.issuer]);
    v.set_audience(&[&cfg.audience]);
    v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    v.leeway = cfg.leeway_secs;
    v
}

/// Check the header's `alg` ourselves before any library parsing, so "none" and every
/// algorithm other than the configured one is refused with its own reason.
fn check_header(token: &str, expected: Algorithm) -> Result<(), AuthFailure> {
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
    let alg = json
        .get("alg")
        .and_then(|a| a.as_str())
        .ok_or(AuthFailure::Malformed)?;
    let expected = format!("{expected:?}");
    if alg != expected {
        return Err(AuthFailure::AlgorithmNotAllowed);
    }
    Ok(())
}

/// Verify a raw `Authorization` header value and return the claims.
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
    check_header(token, cfg.key.algorithm())?;
    // Decode to a JSON map first, so the library checks required claims (and reports which
    // is missing) before our typed view is built.
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(token, &cfg.key.decoding_key(), &validation(cfg))
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
    serde_json::from_value(claims).map_err(|_| AuthFailure::Malformed)
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
    let Some(account) = entity::account::Entity::find_by_id(claims.sub.clone())
        .one(db)
        .await?
    else {
        return Ok(Err(AuthFailure::UnknownAccount));
    };
    let agency = entity::agency::Entity::find_by_id(account.agency_id.clone())
        .one(db)
        .await?;
    let Some(agency) = agency.filter(|a| a.active && account.active) else {
        return Ok(Err(AuthFailure::Deactivated));
    };
    let Some(agency_kind) = AgencyKind::parse(&agency.kind) else {
        return Ok(Err(AuthFailure::Deactivated));
    };
    let mut roles = parse_roles(&account.roles);
    if let Some(narrow) = narrowed {
        roles.retain(|r| narrow.contains(r));
    }
    if let Some(client_id) = &claims.cid {
        match crate::oauth::token_client(db, client_id, &account.id, claims.cgen).await? {
            Ok(scopes) => roles.retain(|r| scopes.contains(r)),
            Err(f) => return Ok(Err(AuthFailure::Client(f))),
        }
    }
    Ok(Ok(Principal {
        account_id: account.id,
        agency_id: agency.id,
        agency_kind,
        roles,
    }))
}

/// Roles as stored: comma-separated role names. Unknown names are ignored (and cannot grant).
pub fn parse_roles(text: &str) -> BTreeSet<Role> {
    text.split(',')
        .filter_map(|r| Role::parse(r.trim()))
        .collect()
}

pub fn format_roles(roles: &BTreeSet<Role>) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Mint a token for an account, valid from now for `ttl_secs`, optionally narrowing roles.
pub fn mint(
    cfg: &JwtConfig,
    account_id: &str,
    ttl_secs: u64,
    roles: Option<&BTreeSet<Role>>,
) -> anyhow::Result<String> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
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
    };
    sign(cfg, &claims)
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
    let now = jsonwebtoken::get_current_timestamp();
    let names: Vec<String> = scopes.iter().map(|r| r.as_str().to_owned()).collect();
    let claims = Claims {
        sub: account_id.to_owned(),
        iss: cfg.issuer.clone(),
        aud: cfg.audience.clone(),
        exp: now + ttl_secs,
        nbf: now,
        iat: Some(now),
        scope: Some(names.join(" ")),
        roles: Some(names),
        cid: Some(client_id.to_owned()),
        cgen: Some(secret_generation),
    };
    sign(cfg, &claims)
}

fn sign(cfg: &JwtConfig, claims: &Claims) -> anyhow::Result<String> {
    let header = Header::new(cfg.key.algorithm());
    Ok(jsonwebtoken::encode(
        &header,
        claims,
        &cfg.key.encoding_key(),
    )?)
}
