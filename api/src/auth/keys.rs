//! Token keys (RFC 8725): the hub's own signing key, an optional HS256 secret, and public
//! verification keys from a JWKS file. Every verification key has a `kid` and exactly one
//! algorithm, pinned from the key itself when it is loaded; a token's header only names the
//! key, it never chooses how to verify.
//!
//! The key files are re-read without a restart: when they change (checked on the request path
//! at most once per `poll`) and on [`KeySource::reload`] (SIGHUP in `tsunagi serve`). A failed
//! reload keeps the keys in use and logs an error.
//!
//! Reading the keys: the signing key from PKCS#8 PEM in [`signing`] (with the development
//! key), verification keys from a JWKS in [`jwks`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{json, Value};

mod jwks;
mod signing;

use jwks::parse_jwks;
use signing::PrivateKey;
pub use signing::{ensure_dev_signing_key, new_ed25519_pem};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The smallest RSA modulus accepted, in bits (RFC 8725 §3.5, NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;
/// The largest key file read, in bytes.
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

/// Where the keys come from. At least one of the three sources must be set.
#[derive(Clone, Default)]
pub struct KeyConfig {
    /// HS256 shared secret (TSUNAGI_JWT_SECRET), at least 32 bytes. Only when set explicitly.
    pub hs256_secret: Option<Vec<u8>>,
    /// The hub's signing key (TSUNAGI_JWT_SIGNING_KEY_FILE): PKCS#8 PEM, Ed25519, P-256 or RSA.
    /// Its public half verifies too.
    pub signing_key_file: Option<PathBuf>,
    /// The signing key's `kid` (TSUNAGI_JWT_SIGNING_KID); default its RFC 7638 thumbprint.
    pub signing_kid: Option<String>,
    /// Public verification keys (TSUNAGI_JWT_JWKS_FILE), e.g. the city's IdP.
    pub jwks_file: Option<PathBuf>,
    /// How often the key files are checked for changes on the request path; `None`: only on
    /// [`KeySource::reload`].
    pub poll: Option<Duration>,
}

impl std::fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyConfig")
            .field(
                "hs256_secret",
                &self.hs256_secret.as_ref().map(|_| "<secret>"),
            )
            .field("signing_key_file", &self.signing_key_file)
            .field("signing_kid", &self.signing_kid)
            .field("jwks_file", &self.jwks_file)
            .field("poll", &self.poll)
            .finish()
    }
}

/// A public key, its `kid` and the one algorithm it verifies.
#[derive(Clone)]
pub(crate) struct VerifyKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
    /// RFC 7638 thumbprint: two entries with one kid must be the same key.
    thumbprint: String,
}

pub(crate) struct Signer {
    pub kid: Option<String>,
    pub alg: Algorithm,
    pub key: EncodingKey,
    /// The public JWK (with kid, alg, use) of an asymmetric signing key.
    pub public_jwk: Option<Value>,
}

/// The keys as loaded at one moment.
pub(crate) struct KeySet {
    pub hs256: Option<DecodingKey>,
    pub keys: BTreeMap<String, VerifyKey>,
    pub signer: Option<Signer>,
}

impl KeySet {
    /// Whether any configured key verifies `alg`.
    pub fn allows(&self, alg: Algorithm) -> bool {
        (alg == Algorithm::HS256 && self.hs256.is_some())
            || self.keys.values().any(|k| k.alg == alg)
    }
}

/// The hub's token keys, shared by every request and reloadable in place.
#[derive(Clone)]
pub struct KeySource {
    inner: Arc<Inner>,
}

struct Inner {
    config: KeyConfig,
    current: RwLock<Arc<KeySet>>,
    watch: Mutex<Watch>,
}

/// When the files were last looked at, and what they looked like when last loaded.
struct Watch {
    checked: Instant,
    stamps: Vec<Option<Stamp>>,
}

/// A cheap fingerprint of a file: modification time, size and inode.
type Stamp = (Option<SystemTime>, u64, u64);

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySource({:?})", self.inner.config)
    }
}

impl KeySource {
    /// HS256 with a shared secret only (tests and legacy set-ups).
    pub fn hs256(secret: Vec<u8>) -> anyhow::Result<Self> {
        Self::load(KeyConfig {
            hs256_secret: Some(secret),
            ..KeyConfig::default()
        })
    }

    /// Load every configured key; any problem is an error (the server must not start).
    pub fn load(config: KeyConfig) -> anyhow::Result<Self> {
        let set = build(&config)?;
        Ok(Self::with(config, set))
    }

    /// No key at all: for a command that neither signs nor verifies (`migrate`, `audit
    /// verify` …) where no key is configured. Every token is refused; nothing is signed.
    pub fn none() -> Self {
        let set = KeySet {
            hs256: None,
            keys: BTreeMap::new(),
            signer: None,
        };
        Self::with(KeyConfig::default(), set)
    }

    fn with(config: KeyConfig, set: KeySet) -> Self {
        let stamps = stamps(&config);
        KeySource {
            inner: Arc::new(Inner {
                config,
                current: RwLock::new(Arc::new(set)),
                watch: Mutex::new(Watch {
                    checked: Instant::now(),
                    stamps,
                }),
            }),
        }
    }

    /// Re-read the key files now (SIGHUP). On failure the keys in use stay, and the error is
    /// logged and returned.
    pub fn reload(&self) -> anyhow::Result<()> {
        let mut watch = self.inner.watch.lock().unwrap_or_else(|e| e.into_inner());
        self.reload_locked(&mut watch)
    }

    fn reload_locked(&self, watch: &mut Watch) -> anyhow::Result<()> {
        watch.checked = Instant::now();
        // Stamp before reading: a change during the read is seen again next time.
        watch.stamps = stamps(&self.inner.config);
        match build(&self.inner.config) {
            Ok(set) => {
                let kids: Vec<&String> = set.keys.keys().collect();
                tracing::info!(?kids, hs256 = set.hs256.is_some(), "token keys reloaded");
                *self
                    .inner
                    .current
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "token key reload failed; keeping the keys in use");
                Err(e)
            }
        }
    }

    /// Reload when a key file changed since the last look (at most once per `poll`).
    fn poll(&self) {
        let Some(every) = self.inner.config.poll else {
            return;
        };
        let config = &self.inner.config;
        if config.jwks_file.is_none() && config.signing_key_file.is_none() {
            return;
        }
        // Another request is looking right now: use the keys in place.
        let Ok(mut watch) = self.inner.watch.try_lock() else {
            return;
        };
        if watch.checked.elapsed() < every {
            return;
        }
        watch.checked = Instant::now();
        if stamps(config) != watch.stamps {
            let _ = self.reload_locked(&mut watch);
        }
    }

    /// The keys to use for this request.
    pub(crate) fn current(&self) -> Arc<KeySet> {
        self.poll();
        self.inner
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The kids that verify tokens now, in order.
    pub fn kids(&self) -> Vec<String> {
        self.current().keys.keys().cloned().collect()
    }

    /// Whether the hub can sign tokens (`tsunagi token`, /oauth/token).
    pub fn can_sign(&self) -> bool {
        self.current().signer.is_some()
    }

    /// The public half of the hub's signing key as a JWKS (RFC 7517), to publish or to add to
    /// another JWKS file; `None` when the hub signs with HS256 or not at all.
    pub fn public_jwks(&self) -> Option<Value> {
        let set = self.current();
        let jwk = set.signer.as_ref()?.public_jwk.clone()?;
        Some(json!({ "keys": [jwk] }))
    }

    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        let set = self.current();
        let signer = match &set.signer {
            Some(s) => format!(
                "signs {:?} kid {}",
                s.alg,
                s.kid.as_deref().unwrap_or("(none)")
            ),
            None => "does not sign".to_owned(),
        };
        let keys: Vec<String> = set
            .keys
            .iter()
            .map(|(kid, k)| format!("{kid}={:?}", k.alg))
            .collect();
        format!(
            "{signer}; verifies [{}]{}",
            keys.join(", "),
            if set.hs256.is_some() { " + HS256" } else { "" }
        )
    }
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let ino = 0;
    Some((meta.modified().ok(), meta.len(), ino))
}

fn stamps(config: &KeyConfig) -> Vec<Option<Stamp>> {
    [&config.signing_key_file, &config.jwks_file]
        .into_iter()
        .flatten()
        .map(|p| stamp(p))
        .collect()
}

fn read_key_file(path: &Path, what: &str) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{what} {}: cannot read", path.display()))?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        bail!(
            "{what} {}: larger than {MAX_KEY_FILE_BYTES} bytes",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("{what} {}: cannot read", path.display()))
}

/// Load the whole key set from the configuration.
fn build(config: &KeyConfig) -> anyhow::Result<KeySet> {
    let hs256 = match &config.hs256_secret {
        Some(secret) if secret.len() < 32 => {
            bail!("TSUNAGI_JWT_SECRET must be at least 32 bytes")
        }
        Some(secret) => Some(DecodingKey::from_secret(secret)),
        None => None,
    };
    let mut keys = BTreeMap::new();
    let mut signer = None;
    if let Some(path) = &config.signing_key_file {
        let what = "TSUNAGI_JWT_SIGNING_KEY_FILE";
        let pem = read_key_file(path, what)?;
        let private = PrivateKey::from_pkcs8_pem(&pem)
            .with_context(|| format!("{what} {}", path.display()))?;
        let kid = match &config.signing_kid {
            Some(kid) => {
                check_kid(kid).context("TSUNAGI_JWT_SIGNING_KID")?;
                kid.clone()
            }
            None => private.public.thumbprint.clone(),
        };
        let mut jwk = private.public_jwk.clone();
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg_name(private.public.alg));
        jwk["use"] = json!("sig");
        keys.insert(kid.clone(), private.public.clone());
        signer = Some(Signer {
            kid: Some(kid),
            alg: private.public.alg,
            key: private.encoding,
            public_jwk: Some(jwk),
        });
    } else if config.signing_kid.is_some() {
        bail!("TSUNAGI_JWT_SIGNING_KID is set but TSUNAGI_JWT_SIGNING_KEY_FILE is not");
    }
    if let Some(path) = &config.jwks_file {
        let what = "TSUNAGI_JWT_JWKS_FILE";
        let text = read_key_file(path, what)?;
        let entries = parse_jwks(&text).with_context(|| format!("{what} {}", path.display()))?;
        for (kid, key) in entries {
            match keys.get(&kid) {
                // The signing key's own public JWK, published in the JWKS too (rotation).
                Some(own) if own.thumbprint == key.thumbprint && own.alg == key.alg => {}
                Some(_) => bail!(
                    "{what} {}: kid {kid:?} is the signing key's kid but a different key",
                    path.display()
                ),
                None => {
                    keys.insert(kid, key);
                }
            }
        }
    }
    if signer.is_none() {
        if let Some(secret) = &config.hs256_secret {
            signer = Some(Signer {
                kid: None,
                alg: Algorithm::HS256,
                key: EncodingKey::from_secret(secret),
                public_jwk: None,
            });
        }
    }
    if hs256.is_none() && keys.is_empty() {
        bail!(
            "no token keys: set TSUNAGI_JWT_JWKS_FILE and/or TSUNAGI_JWT_SIGNING_KEY_FILE (or TSUNAGI_JWT_SECRET for HS256)"
        );
    }
    Ok(KeySet {
        hs256,
        keys,
        signer,
    })
}

fn check_kid(kid: &str) -> anyhow::Result<()> {
    if kid.trim().is_empty() || kid.len() > 256 || kid.chars().any(char::is_control) {
        bail!("kid {kid:?} must be 1 to 256 printable characters");
    }
    Ok(())
}

fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// RFC 7638 thumbprint (SHA-256) of a public JWK, by `jsonwebtoken`'s own JWK type.
fn thumbprint(jwk: &Value) -> anyhow::Result<String> {
    use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| anyhow::anyhow!("JWK: {e}"))?;
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| anyhow::anyhow!("JWK thumbprint: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 8037 appendix A.3: the Ed25519 example key's RFC 7638 thumbprint.
    #[test]
    fn thumbprint_matches_rfc_8037_example() {
        let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" });
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    /// The development key is PKCS#8 PEM that the key reader accepts, and fresh each time.
    #[test]
    fn new_ed25519_keys_read_back() {
        let (a, b) = (new_ed25519_pem().unwrap(), new_ed25519_pem().unwrap());
        assert!(a.starts_with("-----BEGIN PRIVATE KEY-----"), "{a}");
        assert_ne!(a, b);
        let key = signing::PrivateKey::from_pkcs8_pem(&a).unwrap();
        assert_eq!(key.public.alg, Algorithm::EdDSA);
    }
}
