//! Trusted (persisted) documents: agency software can be required to send only operations
//! registered in advance, by hash, so a hostile deep or wide query never reaches execution.
//!
//! * The manifest (TSUNAGI_TRUSTED_DOCUMENTS_FILE) is a JSON object mapping
//!   `"sha256:<hex>"` (or bare hex) to the document text. At startup every key must equal the
//!   SHA-256 of the UTF-8 bytes of its text, or the server refuses to start, naming the entry.
//!   `tsunagi documents manifest <files…>` prints one from `.graphql` files.
//! * A request names a registered document by `documentId` (GraphQL-over-HTTP persisted
//!   documents: `"sha256:<hex>"`) or by Apollo APQ (`extensions.persistedQuery.sha256Hash`,
//!   version 1); the server substitutes the registered text. Text sent along with an id must
//!   hash to that id.
//! * The mode (TSUNAGI_TRUSTED_DOCUMENTS) says who must use registered documents: `off`
//!   (nobody; ids still work), `integration` (accounts of kind SERVICE, or whose registered
//!   roles include `integration`, whatever the token narrows), `all` (everyone). The rule is
//!   [`Mode::requires`], and nowhere else.
//! * Free text whose SHA-256 is in the manifest is the registered document byte for byte, so
//!   it is accepted even where registration is required.
//!
//! Refusals are HTTP 400, code BAD_USER_INPUT, with `extensions.reason`; nothing runs and
//! nothing is ledgered. A registered document still passes through every other limit.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::policy::Role;

/// Who must send registered documents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Nobody (development; agency software may still use ids).
    #[default]
    Off,
    /// Service clients: accounts of kind SERVICE or holding the `integration` role.
    Integration,
    /// Every account, staff UIs included.
    All,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "" => Some(Mode::Off),
            "integration" => Some(Mode::Integration),
            "all" => Some(Mode::All),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Integration => "integration",
            Mode::All => "all",
        }
    }

    /// THE rule: must this account send only registered documents? `kind` and `roles` are
    /// the account's as registered in the hub (not as a token narrows them), so a service
    /// client cannot escape by asking for a token without the `integration` role.
    pub fn requires(self, kind: &str, roles: &BTreeSet<Role>) -> bool {
        match self {
            Mode::Off => false,
            Mode::All => true,
            Mode::Integration => kind == "SERVICE" || roles.contains(&Role::Integration),
        }
    }
}

/// The registered documents and the enforcement mode.
#[derive(Clone, Debug, Default)]
pub struct TrustedDocuments {
    pub mode: Mode,
    /// Lower-case hex SHA-256 → text.
    docs: BTreeMap<String, String>,
}

/// The lower-case hex SHA-256 of a document's text.
pub fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `sha256:<hex>` or bare hex (64 hex digits, any case) → lower-case hex.
pub fn parse_id(id: &str) -> Option<String> {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

impl TrustedDocuments {
    /// From a manifest's JSON text; every key is checked against its text.
    pub fn from_manifest(mode: Mode, json: &str) -> anyhow::Result<Self> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| anyhow::anyhow!("the manifest is not JSON: {e}"))?;
        let Value::Object(entries) = value else {
            anyhow::bail!(
                "the manifest must be a JSON object mapping \"sha256:<hex>\" to document text"
            );
        };
        let mut docs = BTreeMap::new();
        for (key, text) in entries {
            let Some(id) = parse_id(&key) else {
                anyhow::bail!("manifest entry {key:?}: the key is not \"sha256:\" + 64 hex digits");
            };
            let Value::String(text) = text else {
                anyhow::bail!("manifest entry {key:?}: the value must be the document text");
            };
            let actual = hash(&text);
            if actual != id {
                anyhow::bail!(
                    "manifest entry {key:?}: the text's SHA-256 is sha256:{actual}, not the key"
                );
            }
            if let Err(e) = async_graphql::parser::parse_query(&text) {
                anyhow::bail!("manifest entry {key:?}: the document does not parse: {e}");
            }
            docs.insert(id, text);
        }
        Ok(TrustedDocuments { mode, docs })
    }

    /// From TSUNAGI_TRUSTED_DOCUMENTS (off | integration | all) and
    /// TSUNAGI_TRUSTED_DOCUMENTS_FILE. A mode other than off needs a manifest.
    pub fn from_settings(mode: Mode, file: Option<&Path>) -> anyhow::Result<Self> {
        match file {
            Some(file) => Self::from_file(mode, file),
            None if mode == Mode::Off => Ok(TrustedDocuments::default()),
            None => anyhow::bail!(
                "TSUNAGI_TRUSTED_DOCUMENTS={} needs TSUNAGI_TRUSTED_DOCUMENTS_FILE (the manifest)",
                mode.as_str()
            ),
        }
    }

    pub fn from_file(mode: Mode, path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        Self::from_manifest(mode, &text)
            .map_err(|e| anyhow::anyhow!("trusted documents {}: {e}", path.display()))
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The registered text for a lower-case hex id.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.docs.get(id).map(String::as_str)
    }

    /// Whether this exact text is registered.
    pub fn contains_text(&self, text: &str) -> bool {
        self.docs.contains_key(&hash(text))
    }

    /// The names of the registered documents' operations (metric labels, [`crate::observe`]).
    pub fn operation_names(&self) -> Vec<String> {
        use async_graphql::parser::types::DocumentOperations;
        self.docs
            .values()
            .filter_map(|text| async_graphql::parser::parse_query(text).ok())
            .flat_map(|doc| match doc.operations {
                DocumentOperations::Multiple(ops) => {
                    ops.keys().map(|k| k.to_string()).collect::<Vec<_>>()
                }
                DocumentOperations::Single(_) => Vec::new(),
            })
            .collect()
    }
}

/// A manifest (pretty JSON, keys `sha256:<hex>`) for the given documents.
pub fn manifest<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let map: BTreeMap<String, Value> = texts
        .into_iter()
        .map(|t| (format!("sha256:{}", hash(t)), Value::String(t.to_owned())))
        .collect();
    serde_json::to_string_pretty(&map).unwrap_or_default()
}

/// Why a request's document was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Free text from a caller who must send registered documents.
    Unregistered,
    /// An id that is not in the manifest.
    NotFound,
    /// Text sent with an id does not hash to it, or documentId and APQ hash disagree.
    Mismatch,
    /// A documentId or persistedQuery that is not well formed.
    Malformed(&'static str),
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Unregistered => "unregistered_document",
            Refusal::NotFound => "PERSISTED_QUERY_NOT_FOUND",
            Refusal::Mismatch => "document_mismatch",
            Refusal::Malformed(_) => "malformed_document_id",
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            Refusal::Unregistered => "query",
            Refusal::NotFound | Refusal::Mismatch => "documentId",
            Refusal::Malformed(field) => field,
        }
    }

    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Unregistered => {
                "登録済みの文書 (documentId) のみ受け付けます / only registered documents are accepted: send documentId"
            }
            Refusal::NotFound => {
                "登録されていない文書 ID です / PersistedQueryNotFound: no registered document has this id"
            }
            Refusal::Mismatch => {
                "文書の本文が ID のハッシュと一致しません / the query text does not hash to the document id"
            }
            Refusal::Malformed(_) => {
                "文書 ID の形式が不正です (sha256:<64 桁の16進数>) / malformed document id (sha256:<64 hex digits>)"
            }
        }
    }
}

/// The id a request names, from `documentId` and/or `extensions.persistedQuery`; both must
/// agree when both are sent. `None` when the request names no document.
pub fn requested_id(body: &serde_json::Map<String, Value>) -> Result<Option<String>, Refusal> {
    let by_document_id = match body.get("documentId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_id(s).ok_or(Refusal::Malformed("documentId"))?),
        Some(_) => return Err(Refusal::Malformed("documentId")),
    };
    let apq = match body.get("extensions").and_then(|e| e.get("persistedQuery")) {
        None | Some(Value::Null) => None,
        Some(pq) => {
            const FIELD: &str = "extensions.persistedQuery";
            if pq.get("version").and_then(Value::as_u64) != Some(1) {
                return Err(Refusal::Malformed(FIELD));
            }
            let hash = pq.get("sha256Hash").and_then(Value::as_str);
            Some(hash.and_then(parse_id).ok_or(Refusal::Malformed(FIELD))?)
        }
    };
    match (by_document_id, apq) {
        (Some(a), Some(b)) if a != b => Err(Refusal::Mismatch),
        (a, b) => Ok(a.or(b)),
    }
}

/// What a request will run, before the caller's obligation is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A registered document, by id or by identical text: run this text.
    Registered(String),
    /// Free text that is not registered: allowed only when [`Mode::requires`] says no.
    FreeText,
}

/// Resolve a request's id (from [`requested_id`]) and query text. Text sent along with an
/// id must hash to it. An unknown id with its text (an APQ cache miss retried) is free text;
/// an unknown id alone is [`Refusal::NotFound`].
pub fn resolve(
    trusted: &TrustedDocuments,
    id: Option<&str>,
    text: &str,
) -> Result<Resolved, Refusal> {
    match id {
        Some(id) if !text.is_empty() && hash(text) != id => Err(Refusal::Mismatch),
        Some(id) => match trusted.get(id) {
            Some(registered) => Ok(Resolved::Registered(registered.to_owned())),
            None if text.is_empty() => Err(Refusal::NotFound),
            None => Ok(Resolved::FreeText),
        },
        None if trusted.contains_text(text) => Ok(Resolved::Registered(text.to_owned())),
        None => Ok(Resolved::FreeText),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const Q: &str = "query Me { viewer { effectiveRoles } }";

    fn roles(r: &[Role]) -> BTreeSet<Role> {
        r.iter().copied().collect()
    }

    #[test]
    fn the_rule() {
        let none = roles(&[]);
        let integ = roles(&[Role::Integration, Role::Caseworker]);
        let staff = roles(&[Role::Caseworker]);
        assert!(!Mode::Off.requires("SERVICE", &integ));
        assert!(Mode::All.requires("STAFF", &staff));
        assert!(Mode::All.requires("STAFF", &none));
        assert!(Mode::Integration.requires("SERVICE", &none));
        assert!(Mode::Integration.requires("STAFF", &integ));
        assert!(!Mode::Integration.requires("STAFF", &staff));
        assert_eq!(Mode::parse(" Integration "), Some(Mode::Integration));
        assert_eq!(Mode::parse("intgration"), None);
    }

    #[test]
    fn manifest_round_trip_and_bare_hex() {
        let m = manifest([Q, "{ viewer { agencyId } }"]);
        let t = TrustedDocuments::from_manifest(Mode::All, &m).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(&hash(Q)), Some(Q));
        let bare = json!({ hash(Q).to_uppercase(): Q }).to_string();
        let t = TrustedDocuments::from_manifest(Mode::All, &bare).unwrap();
        assert!(t.contains_text(Q));
    }

    #[test]
    fn wrong_manifests_are_refused_naming_the_entry() {
        let wrong = format!("sha256:{}", "0".repeat(64));
        let e = TrustedDocuments::from_manifest(Mode::All, &json!({ &wrong: Q }).to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&wrong) && e.contains(&hash(Q)), "{e}");
        let e = TrustedDocuments::from_manifest(Mode::All, &json!({ "q1": Q }).to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"q1\""), "{e}");
        let key = format!("sha256:{}", hash(Q));
        let e = TrustedDocuments::from_manifest(Mode::All, &json!({ &key: 1 }).to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&key), "{e}");
        let junk = "{ viewer { ";
        let key = format!("sha256:{}", hash(junk));
        let e = TrustedDocuments::from_manifest(Mode::All, &json!({ &key: junk }).to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&key) && e.contains("does not parse"), "{e}");
        assert!(TrustedDocuments::from_manifest(Mode::All, "[]").is_err());
        assert!(TrustedDocuments::from_manifest(Mode::All, "{").is_err());
    }

    #[test]
    fn ids() {
        let h = hash(Q);
        assert_eq!(parse_id(&format!("sha256:{h}")), Some(h.clone()));
        assert_eq!(parse_id(&h.to_uppercase()), Some(h.clone()));
        assert_eq!(parse_id("sha256:abc"), None);
        assert_eq!(parse_id(&format!("sha1:{h}")), None);
        let apq = |v: Value| json!({ "extensions": { "persistedQuery": v } });
        let body = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(
            requested_id(&body(apq(json!({ "version": 1, "sha256Hash": h })))),
            Ok(Some(h.clone()))
        );
        assert_eq!(
            requested_id(&body(apq(json!({ "version": 2, "sha256Hash": h })))),
            Err(Refusal::Malformed("extensions.persistedQuery"))
        );
        assert_eq!(
            requested_id(&body(json!({ "documentId": 5 }))),
            Err(Refusal::Malformed("documentId"))
        );
        let mut both = apq(json!({ "version": 1, "sha256Hash": "0".repeat(64) }));
        both["documentId"] = json!(format!("sha256:{h}"));
        assert_eq!(requested_id(&body(both)), Err(Refusal::Mismatch));
        assert_eq!(requested_id(&body(json!({ "query": Q }))), Ok(None));
    }

    #[test]
    fn resolution() {
        let t = TrustedDocuments::from_manifest(Mode::All, &manifest([Q])).unwrap();
        let h = hash(Q);
        let other = "{ viewer { agencyId } }";
        let reg = Ok(Resolved::Registered(Q.to_owned()));
        assert_eq!(resolve(&t, Some(&h), ""), reg);
        assert_eq!(resolve(&t, Some(&h), Q), reg);
        assert_eq!(resolve(&t, None, Q), reg);
        assert_eq!(resolve(&t, Some(&h), other), Err(Refusal::Mismatch));
        assert_eq!(resolve(&t, Some(&hash(other)), ""), Err(Refusal::NotFound));
        assert_eq!(
            resolve(&t, Some(&hash(other)), other),
            Ok(Resolved::FreeText)
        );
        assert_eq!(resolve(&t, None, other), Ok(Resolved::FreeText));
    }
}
