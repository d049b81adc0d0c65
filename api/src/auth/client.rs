//! The service client behind a token: a token obtained at POST /oauth/token carries the
//! client's id (`cid`) and secret generation (`cgen`); every request checks the client
//! again, so revoking it or rotating its secret ends the token on its next use.

use std::collections::BTreeSet;

use crate::policy::Role;
use entity::service_client;

/// Why a token issued to a service client is no longer accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientFailure {
    /// The client does not exist or belongs to another account than the token's `sub`.
    UnknownClient,
    /// An admin revoked the client.
    Revoked,
    /// The client's secret was rotated after the token was issued.
    SecretRotated,
}

impl ClientFailure {
    pub fn reason(self) -> &'static str {
        match self {
            ClientFailure::UnknownClient => "unknown_client",
            ClientFailure::Revoked => "client_revoked",
            ClientFailure::SecretRotated => "client_secret_rotated",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            ClientFailure::UnknownClient => {
                "クライアントが見つかりません / unknown service client"
            }
            ClientFailure::Revoked => {
                "クライアントは失効しています / the service client has been revoked"
            }
            ClientFailure::SecretRotated => {
                "クライアントシークレットが更新されました。トークンを取り直してください / the client secret was rotated; obtain a new token"
            }
        }
    }
}

/// The client behind a token carrying `cid` (read with the account): it must exist, belong
/// to `account_id`, be active, and its secret must be the one the token was issued under.
/// Returns its scopes (the token's roles are narrowed to them as well).
pub fn token_client(
    client: Option<service_client::Model>,
    account_id: &str,
    generation: Option<i64>,
) -> Result<BTreeSet<Role>, ClientFailure> {
    let Some(client) = client else {
        return Err(ClientFailure::UnknownClient);
    };
    if client.account_id != account_id {
        return Err(ClientFailure::UnknownClient);
    }
    if client.revoked_at.is_some() {
        return Err(ClientFailure::Revoked);
    }
    if generation != Some(client.secret_rotated_at.timestamp_micros()) {
        return Err(ClientFailure::SecretRotated);
    }
    Ok(Role::parse_set(&client.scopes))
}
