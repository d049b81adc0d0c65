//! Client secrets: generated here, shown once, stored only as argon2id PHC strings.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::RngCore;
use std::sync::OnceLock;

/// Every secret starts with this, so a leaked one is easy to recognise (secret scanners).
pub const PREFIX: &str = "tsc_";
/// Random bytes in a secret.
const SECRET_BYTES: usize = 32;
/// Longest presented secret worth hashing; ours are 47 characters.
pub const MAX_PRESENTED_LEN: usize = 256;

/// A fresh secret: `tsc_` and 32 random bytes in base64url (no padding).
pub fn generate() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// argon2id, version 0x13, the crate's default cost (19 MiB, 2 passes, 1 lane: the OWASP
/// recommendation).
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of `secret`, with a random salt.
pub fn hash(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(hasher()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

/// A hash of a secret nobody knows, with the same cost as real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash(&generate()).unwrap_or_default())
}

/// Whether `secret` matches `stored`. With no stored hash (unknown client) the secret is
/// checked against a dummy hash of the same cost, so the time taken does not tell whether
/// a client id exists.
pub fn verify(stored: Option<&str>, secret: &str) -> bool {
    let phc = stored.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::error!("a stored client secret hash is not a PHC string");
        return false;
    };
    let matches = hasher().verify_password(secret.as_bytes(), &parsed).is_ok();
    matches && stored.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_prefixed() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&a[PREFIX.len()..])
            .unwrap();
        assert_eq!(raw.len(), SECRET_BYTES);
    }

    #[test]
    fn hash_is_argon2id_and_verifies_only_its_secret() {
        let secret = generate();
        let phc = hash(&secret).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$"), "{phc}");
        assert!(!phc.contains(&secret[PREFIX.len()..]));
        assert!(verify(Some(&phc), &secret));
        assert!(!verify(Some(&phc), &generate()));
        assert!(!verify(Some(&phc), ""));
        // Two hashes of one secret differ (random salt).
        assert_ne!(phc, hash(&secret).unwrap());
    }

    #[test]
    fn no_stored_hash_never_verifies() {
        assert!(!verify(None, &generate()));
        assert!(!verify(None, ""));
        assert!(!verify(Some("not a phc string"), "x"));
    }
}
