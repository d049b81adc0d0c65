//! Client-visible errors, and the list of every error type in the hub: which one is used
//! where. Every error a client sees carries `extensions.code` from the closed set in
//! [`Code`]. Internal errors are logged where they arise and reach the client only as
//! `INTERNAL` with a fixed message: no SQL, no stack, no detail.
//!
//! # Which error type, where
//!
//! Each type, where it is used, and what a client gets from it.
//!
//! - [`ApiError`] ([`ApiResult`]): resolvers, the gate, store write functions (a stale
//!   version is CONFLICT). Client: a GraphQL error with its [`Code`] and extensions.
//! - `graphql::validate::Invalid`: collects every invalid argument of one mutation. Client:
//!   one [`ApiError`] per invalid value, all at once.
//! - `sea_orm::DbErr`: `store` reads, `audit` (append, tail, verify), the registry lookups of
//!   `auth`. Client: through `From<DbErr> for ApiError`: INTERNAL (a unique violation:
//!   CONFLICT; no pooled connection in time: UNAVAILABLE, which `crate::shed` turns into an
//!   HTTP 503 with `Retry-After`).
//! - `policy::Refusal`: the write rules (`policy::write`): why a write is not permitted.
//!   Client: through [`ApiError::refused`]: FORBIDDEN, NOT_FOUND or CONFLICT.
//! - `policy::Denial`: read decisions (a decision, not a failure). Client: a withheld field
//!   (CONSENT_REQUIRED or null) and the ledger's reasons.
//! - `kana::KanaError`: kana normalisation (a `std::error::Error`). Client: its `Display`
//!   text inside BAD_USER_INPUT.
//! - `auth::AuthFailure`, `auth::ClientFailure`: token verification, and the account or
//!   service client behind a token. Client: HTTP 401, UNAUTHENTICATED with
//!   `extensions.reason`.
//! - `documents::Refusal`: trusted documents at the HTTP edge. Client: HTTP 400,
//!   BAD_USER_INPUT with `extensions.reason`.
//! - `oauth::OAuthError` (private): POST /oauth/token. Client: RFC 6749 §5.2 JSON `{error,
//!   error_description}`.
//! - `async_graphql::ServerError`: async-graphql's own parse and validation errors. Client:
//!   recoded by `graphql::prepare` (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
//!   BAD_USER_INPUT).
//! - `String`: `audit::GroupCommit::append`: one failed group commit, shared by every request
//!   in it. Client: INTERNAL; the response is withheld (no pooled connection in time:
//!   [`is_pool_timeout_text`], HTTP 503 UNAVAILABLE).
//! - `shed::Shed`: load shedding at the HTTP edge (admission full, no pooled connection in
//!   time, the request timeout). Client: HTTP 503, UNAVAILABLE with `Retry-After` and
//!   `extensions.reason`.
//! - `anyhow::Error`: start-up and commands: configuration (`config`, `documents` manifests),
//!   token keys (`auth::keys`), minting (`auth::mint`, `auth::sign`), `seed`, `demo`, `main`.
//!   Client: at start-up never: the process reports it and stops (a failed key reload keeps
//!   the keys in use); a failed mint at POST /oauth/token is `server_error`.
//!
//! The failure enums are closed sets of reasons, matched by the edge that answers them:
//! `AuthFailure`, `ClientFailure` and `documents::Refusal` with a stable `reason()` code and
//! a bilingual `message()`, `policy::Refusal` with its bilingual message. They are values,
//! not `std::error::Error`s, so the hub does not use `thiserror`: deriving `Error` would add
//! a second text beside `message()`, its one `std` error (`KanaError`) implements `Display`
//! by hand, and `ApiError` must not implement `Display` at all (below).
//!
//! `ApiError` deliberately does not implement `Display`, so async-graphql's blanket
//! `From<impl Display>` can never turn one into an error without a code; resolvers return
//! `Result<T, ApiError>` and `?` on a database error goes through `From<DbErr>` (→ INTERNAL).

use async_graphql::ErrorExtensions;

use crate::policy::Category;

/// The closed set of error codes (extensions.code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Unauthenticated,
    Forbidden,
    ConsentRequired,
    BadUserInput,
    /// The document is not GraphQL (a syntax error): nothing ran.
    GraphqlParseFailed,
    /// The document is GraphQL but does not fit the schema (unknown field, type, fragment,
    /// operation; unused or undeclared variables): nothing ran.
    GraphqlValidationFailed,
    NotFound,
    Conflict,
    RateLimited,
    /// The hub shed the request under load (admission full, no database connection in
    /// time, the request timeout): HTTP 503 with `Retry-After`.
    Unavailable,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::ConsentRequired => "CONSENT_REQUIRED",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::NotFound => "NOT_FOUND",
            Code::Conflict => "CONFLICT",
            Code::RateLimited => "RATE_LIMITED",
            Code::Unavailable => "UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// The caller's roles do not allow this operation.
    Forbidden { message: String },
    /// A personal field withheld: no basis (consent) for this category of this person.
    ConsentRequired {
        category: Category,
        /// The person, when the caller may know they exist (omitted otherwise).
        subject_id: Option<String>,
        reason: &'static str,
    },
    /// Input that cannot be accepted; `field` is the argument path (e.g. `input.familyNameKana`).
    BadInput { field: String, message: String },
    /// No such record, or none the caller has a basis to know exists: indistinguishable.
    NotFound { field: String },
    /// The record changed since the caller read it (stale version), or a state conflict.
    Conflict { message: String },
    /// No database connection was free in time (the pool timed out): the hub is overloaded
    /// or the database is down. The HTTP edge sheds the whole request (503) unless a write
    /// of it was already committed.
    Unavailable,
    /// Something failed inside the hub. Already logged; the client sees only the code.
    Internal,
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(field: impl Into<String>) -> Self {
        ApiError::NotFound {
            field: field.into(),
        }
    }

    /// The error for a write the policy refused; `field` is the argument naming the record
    /// (for NOT_FOUND).
    pub fn refused(refusal: crate::policy::Refusal, field: &str) -> Self {
        use crate::policy::Refusal;
        match refusal {
            Refusal::Forbidden(message) => ApiError::forbidden(message),
            Refusal::Unknown => ApiError::not_found(field),
            Refusal::State(message) => ApiError::conflict(message),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            message: message.into(),
        }
    }

    /// The CONFLICT for a stale version.
    pub fn stale(current: i32) -> Self {
        ApiError::conflict(format!(
            "他の更新と競合しました (現在の version は {current}) / the record changed since it was read (current version {current})"
        ))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::Conflict {
            message: message.into(),
        }
    }

    /// Log an internal failure and return the censored error.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(%context, error = %err, "internal error");
        ApiError::Internal
    }

    pub fn code(&self) -> Code {
        match self {
            ApiError::Forbidden { .. } => Code::Forbidden,
            ApiError::ConsentRequired { .. } => Code::ConsentRequired,
            ApiError::BadInput { .. } => Code::BadUserInput,
            ApiError::NotFound { .. } => Code::NotFound,
            ApiError::Conflict { .. } => Code::Conflict,
            ApiError::Unavailable => Code::Unavailable,
            ApiError::Internal => Code::Internal,
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Forbidden { message } => format!("権限がありません / forbidden: {message}"),
            ApiError::ConsentRequired { category, .. } => {
                format!("同意が必要です / consent required to see {category} of this person")
            }
            ApiError::BadInput { field, message } => format!("{field}: {message}"),
            ApiError::NotFound { field } => {
                format!("見つかりません / not found: {field}")
            }
            ApiError::Conflict { message } => format!("競合 / conflict: {message}"),
            ApiError::Unavailable => UNAVAILABLE_MESSAGE.to_owned(),
            ApiError::Internal => "内部エラー / internal error".to_owned(),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", err.code().as_str());
            match &err {
                ApiError::ConsentRequired {
                    category,
                    subject_id,
                    reason,
                } => {
                    ext.set("category", category.as_str());
                    if let Some(s) = subject_id {
                        ext.set("subjectId", s.as_str());
                    }
                    ext.set("reason", *reason);
                }
                ApiError::BadInput { field, .. } | ApiError::NotFound { field } => {
                    ext.set("field", field.as_str());
                }
                ApiError::Unavailable => {
                    ext.set("reason", "database_pool");
                    ext.set("retryAfter", crate::config::RETRY_AFTER_SECS);
                }
                _ => {}
            }
        })
    }
}

/// The message of [`ApiError::Unavailable`].
pub const UNAVAILABLE_MESSAGE: &str =
    "混雑のためデータベースに接続できませんでした。しばらくしてから再試行してください / no database connection was free in time (the hub is busy): retry shortly";

/// Whether a database error is the pool timing out: no connection free in time.
pub fn is_pool_timeout(err: &sea_orm::DbErr) -> bool {
    matches!(
        err,
        sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)
    )
}

/// Whether an error passed on as text (`audit::GroupCommit::append`) is the pool timing
/// out: compared with the text of that very error, not a copy of its wording.
pub fn is_pool_timeout_text(err: &str) -> bool {
    err == sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout).to_string()
}

impl From<sea_orm::DbErr> for ApiError {
    /// A unique-constraint violation is a concurrent write that created the same record
    /// first (CONFLICT, nothing written); the pool timing out is UNAVAILABLE (this request
    /// got no connection, so the statement never ran); anything else is internal.
    fn from(err: sea_orm::DbErr) -> Self {
        if is_pool_timeout(&err) {
            tracing::warn!("no database connection free in time: UNAVAILABLE");
            return ApiError::Unavailable;
        }
        if matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            tracing::info!(error = %err, "unique constraint: concurrent write");
            return ApiError::conflict(
                "同時に同じ記録が作成されました / a concurrent write created the same record",
            );
        }
        ApiError::internal("database", err)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_timeout_is_unavailable_and_recognised_as_text() {
        let timeout = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        assert!(is_pool_timeout_text(&timeout.to_string()));
        assert_eq!(ApiError::from(timeout).code(), Code::Unavailable);
        let closed = sea_orm::DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::ConnectionClosed);
        assert!(!is_pool_timeout_text(&closed.to_string()));
        assert_eq!(ApiError::from(closed).code(), Code::Internal);
    }
}
