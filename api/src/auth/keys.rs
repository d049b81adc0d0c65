//! Token keys (RFC 8725): the hub's own signing key, an optional HS256 secret, and public
//! verification keys from a JWKS file. Every verification key has a `kid` and exactly one
//! algorithm, pinned from the key itself when it is loaded; a token's header only names the
//! key, it never chooses how to verify.
//!
//! The key files are re-read without a restart: when they change (checked on the request path
//! at most once per `poll`) and on [`KeySource::reload`] (SIGHUP in `tsunagi serve`). A failed
//! reload keeps the keys in use and logs an error.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use pkcs8::der::pem::LineEnding;
use pkcs8::{DecodePrivateKey, ObjectIdentifier, PrivateKeyInfo, SecretDocument};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The smallest RSA modulus accepted, in bits (RFC 8725 §3.5, NIST SP 800-131A).
pub const MIN_RSA_BITS: usize = 2048;
/// The largest key file read, in bytes.
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// PKCS#8 v1 (RFC 8410) prefix of an Ed25519 private key; the 32-byte seed follows.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

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
        let stamps = stamps(&config);
        let set = build(&config)?;
        Ok(KeySource {
            inner: Arc::new(Inner {
                config,
                current: RwLock::new(Arc::new(set)),
                watch: Mutex::new(Watch {
                    checked: Instant::now(),
                    stamps,
                }),
            }),
        })
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

    /// The public half of the hub's signing key as a JWKS (RFC 7517), to publish or to add to
    /// another JWKS file; `None` when the hub signs with HS256 or not at all.
    /// Whether the hub can sign tokens (`tsunagi token`, /oauth/token).
    pub fn can_sign(&self) -> bool {
        self.current().signer.is_some()
    }

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

/// RFC 7638 thumbprint (SHA-256) of a public JWK: its required members in lexicographic
/// order, no white space.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let body: Vec<String> = members
        .iter()
        .map(|m| format!("\"{m}\":{}", jwk[*m]))
        .collect();
    B64.encode(Sha256::digest(format!("{{{}}}", body.join(","))))
}

/// A private signing key read from PKCS#8 PEM.
struct PrivateKey {
    encoding: EncodingKey,
    public: VerifyKey,
    /// The public JWK without kid.
    public_jwk: Value,
}

impl PrivateKey {
    fn from_pkcs8_pem(pem: &str) -> anyhow::Result<PrivateKey> {
        let pem = pem.trim();
        let label = pkcs8::der::pem::decode_label(pem.as_bytes())
            .map_err(|e| anyhow!("not a PEM key ({e})"))?;
        match label {
            "PRIVATE KEY" => {}
            "ENCRYPTED PRIVATE KEY" => {
                bail!("encrypted private keys are not supported: store it unencrypted with mode 0600")
            }
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" => bail!(
                "{label} is not PKCS#8: convert it with `openssl pkcs8 -topk8 -nocrypt -in OLD -out NEW`"
            ),
            other => bail!("PEM label {other:?}: expected PRIVATE KEY (PKCS#8)"),
        }
        let (_, doc) = SecretDocument::from_pem(pem).map_err(|e| anyhow!("not a PEM key ({e})"))?;
        let der = doc.as_bytes();
        let info = PrivateKeyInfo::try_from(der).map_err(|e| anyhow!("not PKCS#8 ({e})"))?;
        let oid = info.algorithm.oid;
        if oid == OID_ED25519 {
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map_err(|e| anyhow!("not an Ed25519 key ({e})"))?;
            let x = B64.encode(key.verifying_key().as_bytes());
            let jwk = json!({ "kty": "OKP", "crv": "Ed25519", "x": x });
            Ok(PrivateKey {
                encoding: EncodingKey::from_ed_der(der),
                public: VerifyKey {
                    alg: Algorithm::EdDSA,
                    key: DecodingKey::from_ed_components(&x)?,
                    thumbprint: thumbprint(&jwk),
                },
                public_jwk: jwk,
            })
        } else if oid == OID_EC_PUBLIC_KEY {
            let curve = info.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                bail!("EC key on curve {curve:?}: only P-256 (ES256) is supported");
            }
            let key = p256::SecretKey::from_pkcs8_der(der)
                .map_err(|e| anyhow!("not a P-256 key ({e})"))?;
            let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &key.public_key(),
                false,
            );
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                bail!("P-256 key without coordinates");
            };
            let (x, y) = (B64.encode(x), B64.encode(y));
            let jwk = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y });
            Ok(PrivateKey {
                encoding: EncodingKey::from_ec_der(der),
                public: VerifyKey {
                    alg: Algorithm::ES256,
                    key: DecodingKey::from_ec_components(&x, &y)?,
                    thumbprint: thumbprint(&jwk),
                },
                public_jwk: jwk,
            })
        } else if oid == OID_RSA {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
                .map_err(|e| anyhow!("not an RSA key ({e})"))?;
            let bits = key.n().bits();
            if bits < MIN_RSA_BITS {
                bail!("RSA key of {bits} bits: at least {MIN_RSA_BITS} required");
            }
            let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
            let jwk = json!({ "kty": "RSA", "n": B64.encode(&n), "e": B64.encode(&e) });
            Ok(PrivateKey {
                // jsonwebtoken signs RSA with the PKCS#1 key inside the PKCS#8 wrapper.
                encoding: EncodingKey::from_rsa_der(info.private_key),
                public: VerifyKey {
                    alg: Algorithm::RS256,
                    key: DecodingKey::from_rsa_raw_components(&n, &e),
                    thumbprint: thumbprint(&jwk),
                },
                public_jwk: jwk,
            })
        } else {
            bail!("unsupported key type (OID {oid}): use Ed25519, EC P-256 or RSA (≥ {MIN_RSA_BITS} bits)")
        }
    }
}

/// Parse a JWKS (RFC 7517 §5) into verification keys by kid. Keys marked `"use": "enc"` are
/// skipped; any other problem rejects the whole file, naming the key.
pub(crate) fn parse_jwks(text: &str) -> anyhow::Result<Vec<(String, VerifyKey)>> {
    let doc: Value = serde_json::from_str(text).map_err(|e| anyhow!("not JSON ({e})"))?;
    let Some(list) = doc.get("keys").and_then(Value::as_array) else {
        bail!("no \"keys\" array (RFC 7517 §5)");
    };
    let mut out: Vec<(String, VerifyKey)> = Vec::new();
    for (i, jwk) in list.iter().enumerate() {
        let name = match jwk.get("kid").and_then(Value::as_str) {
            Some(kid) => format!("key #{} (kid {kid:?})", i + 1),
            None => format!("key #{}", i + 1),
        };
        match jwk_entry(jwk).with_context(|| name.clone())? {
            None => tracing::info!(key = %name, "JWKS: skipping an encryption key (use=enc)"),
            Some((kid, key)) => {
                if out.iter().any(|(k, _)| *k == kid) {
                    bail!("{name}: duplicate kid");
                }
                out.push((kid, key));
            }
        }
    }
    if out.is_empty() {
        bail!("no signature keys in the JWKS");
    }
    Ok(out)
}

fn member<'a>(
    obj: &'a serde_json::Map<String, Value>,
    name: &str,
) -> anyhow::Result<Option<&'a str>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => bail!("\"{name}\" must be a string"),
    }
}

fn b64_member(obj: &serde_json::Map<String, Value>, name: &str) -> anyhow::Result<Vec<u8>> {
    let text = member(obj, name)?.ok_or_else(|| anyhow!("no \"{name}\""))?;
    B64.decode(text)
        .map_err(|_| anyhow!("\"{name}\" is not unpadded base64url"))
}

/// One JWK → (kid, key), or `None` for an encryption key.
fn jwk_entry(jwk: &Value) -> anyhow::Result<Option<(String, VerifyKey)>> {
    let Some(obj) = jwk.as_object() else {
        bail!("not a JSON object");
    };
    match member(obj, "use")? {
        Some("enc") => return Ok(None),
        Some("sig") | None => {}
        Some(other) => bail!("\"use\": {other:?}, expected \"sig\""),
    }
    if let Some(ops) = obj.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o == "verify"));
        if !verifies {
            bail!("\"key_ops\" does not include \"verify\"");
        }
    }
    let kid = member(obj, "kid")?
        .ok_or_else(|| anyhow!("no \"kid\": every key needs one so that tokens can name it"))?;
    check_kid(kid)?;
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        if obj.contains_key(private) {
            bail!(
                "contains private key material (\"{private}\"): a JWKS file holds public keys only"
            );
        }
    }
    let alg = member(obj, "alg")?;
    let kty = member(obj, "kty")?.ok_or_else(|| anyhow!("no \"kty\""))?;
    let (alg, key, public) = match kty {
        "RSA" => {
            let n = b64_member(obj, "n")?;
            let e = b64_member(obj, "e")?;
            let n = strip_zeros(&n);
            let e = strip_zeros(&e);
            let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
            if bits < MIN_RSA_BITS {
                bail!("RSA key of {bits} bits: at least {MIN_RSA_BITS} required");
            }
            rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|err| anyhow!("not a usable RSA public key ({err})"))?;
            let alg = match alg {
                None => Algorithm::RS256,
                Some(name @ ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512")) => {
                    name.parse()?
                }
                Some(other) => bail!("\"alg\": {other:?} does not fit kty RSA"),
            };
            let public = json!({ "kty": "RSA", "n": B64.encode(n), "e": B64.encode(e) });
            (alg, DecodingKey::from_rsa_raw_components(n, e), public)
        }
        "EC" => {
            let crv = member(obj, "crv")?.ok_or_else(|| anyhow!("no \"crv\""))?;
            if crv != "P-256" {
                bail!("\"crv\": {crv:?}: only P-256 (ES256) is supported");
            }
            match alg {
                None | Some("ES256") => {}
                Some(other) => bail!("\"alg\": {other:?} does not fit an EC P-256 key"),
            }
            let x = b64_member(obj, "x")?;
            let y = b64_member(obj, "y")?;
            if x.len() != 32 || y.len() != 32 {
                bail!("P-256 \"x\" and \"y\" must be 32 bytes each");
            }
            let mut sec1 = vec![0x04];
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            p256::PublicKey::from_sec1_bytes(&sec1)
                .map_err(|_| anyhow!("not a point on P-256"))?;
            let (x, y) = (B64.encode(&x), B64.encode(&y));
            let key = DecodingKey::from_ec_components(&x, &y)?;
            let public = json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y });
            (Algorithm::ES256, key, public)
        }
        "OKP" => {
            let crv = member(obj, "crv")?.ok_or_else(|| anyhow!("no \"crv\""))?;
            if crv != "Ed25519" {
                bail!("\"crv\": {crv:?}: only Ed25519 (EdDSA) is supported");
            }
            match alg {
                None | Some("EdDSA") => {}
                Some(other) => bail!("\"alg\": {other:?} does not fit an Ed25519 key"),
            }
            let x = b64_member(obj, "x")?;
            let Ok(bytes) = <[u8; 32]>::try_from(x.as_slice()) else {
                bail!("Ed25519 \"x\" must be 32 bytes");
            };
            let point = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|_| anyhow!("not a valid Ed25519 public key"))?;
            if point.is_weak() {
                bail!("a weak (small-order) Ed25519 key");
            }
            let x = B64.encode(bytes);
            let key = DecodingKey::from_ed_components(&x)?;
            (
                Algorithm::EdDSA,
                key,
                json!({ "kty": "OKP", "crv": "Ed25519", "x": x }),
            )
        }
        "oct" => bail!(
            "symmetric (oct) keys are not accepted from a JWKS; HS256 only through TSUNAGI_JWT_SECRET"
        ),
        other => bail!("\"kty\": {other:?} is not supported (RSA, EC P-256, OKP Ed25519)"),
    };
    Ok(Some((
        kid.to_owned(),
        VerifyKey {
            alg,
            key,
            thumbprint: thumbprint(&public),
        },
    )))
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// A fresh Ed25519 private key as PKCS#8 PEM.
pub fn new_ed25519_pem() -> anyhow::Result<String> {
    use rand::RngCore;
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    der.extend_from_slice(&seed);
    let doc = SecretDocument::try_from(der).map_err(|e| anyhow!("PKCS#8: {e}"))?;
    let pem = doc
        .to_pem("PRIVATE KEY", LineEnding::LF)
        .map_err(|e| anyhow!("PEM: {e}"))?;
    Ok(pem.to_string())
}

/// Create the development signing key at `path` (Ed25519, mode 0600) unless it exists.
/// Returns whether it was created. The key is written whole to a private temporary file and
/// then hard-linked into place, so a concurrent start never reads a half-written key and a
/// failed write never leaves an empty one behind.
pub fn ensure_dev_signing_key(path: &Path) -> anyhow::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    let pem = new_ed25519_pem()?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(pem.as_bytes())?;
            file.sync_all()
        })
        .with_context(|| format!("cannot write {}", tmp.display()));
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        // Another process created it first: use theirs (complete, as it was linked whole).
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(anyhow!("cannot create {}: {e}", path.display())),
    });
    let _ = std::fs::remove_file(&tmp);
    linked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match parse_jwks(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => format!("{e:#}"),
        }
    }

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn jwks_keys_are_pinned_and_checked() {
        let ok = parse_jwks(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a"}},
                {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"b","alg":"EdDSA","use":"sig"}},
                {{"kty":"RSA","use":"enc","kid":"e","n":"AQAB","e":"AQAB"}}]}}"#
        ))
        .unwrap();
        let kids: Vec<(&str, Algorithm)> = ok.iter().map(|(k, v)| (k.as_str(), v.alg)).collect();
        assert_eq!(kids, [("a", Algorithm::EdDSA), ("b", Algorithm::EdDSA)]);
        // RFC 8037 appendix A.3 thumbprint of this key.
        assert_eq!(
            ok[0].1.thumbprint,
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );

        let cases = [
            ("{", "not JSON"),
            (r#"{"k":[]}"#, "no \"keys\" array"),
            (r#"{"keys":[]}"#, "no signature keys"),
            (
                &format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}}]}}"#),
                "key #1: no \"kid\"",
            ),
            (
                &format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a"}},{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a"}}]}}"#
                ),
                "key #2 (kid \"a\"): duplicate kid",
            ),
            (
                &format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a","alg":"RS256"}}]}}"#
                ),
                "\"alg\": \"RS256\" does not fit an Ed25519 key",
            ),
            (
                &format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a","d":"AA"}}]}}"#
                ),
                "private key material",
            ),
            (
                &format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed448","x":"{ED_X}","kid":"a"}}]}}"#),
                "only Ed25519",
            ),
            (
                &format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a","use":"other"}}]}}"#
                ),
                "expected \"sig\"",
            ),
            (
                &format!(
                    r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a","key_ops":["sign"]}}]}}"#
                ),
                "\"key_ops\" does not include \"verify\"",
            ),
            (
                r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"a"}]}"#,
                "must be 32 bytes",
            ),
            (
                r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#,
                "private key material",
            ),
            (
                r#"{"keys":[{"kty":"oct","kid":"h"}]}"#,
                "symmetric (oct) keys are not accepted",
            ),
            (
                r#"{"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]}"#,
                "RSA key of 17 bits: at least 2048",
            ),
            (
                r#"{"keys":[{"kty":"EC","crv":"P-384","kid":"c","x":"AA","y":"AA"}]}"#,
                "only P-256",
            ),
            (
                &format!(
                    r#"{{"keys":[{{"kty":"EC","crv":"P-256","kid":"c","x":"{}","y":"{}"}}]}}"#,
                    B64.encode([1u8; 32]),
                    B64.encode([2u8; 32])
                ),
                "not a point on P-256",
            ),
            (
                r#"{"keys":[{"kty":"XYZ","kid":"c"}]}"#,
                "\"kty\": \"XYZ\" is not supported",
            ),
            (
                r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"a+b/","kid":"a"}]}"#,
                "not unpadded base64url",
            ),
        ];
        for (text, want) in cases {
            let got = err(text);
            assert!(got.contains(want), "{text}: {got} (want {want:?})");
        }
    }

    #[test]
    fn a_generated_dev_key_loads_and_signs() {
        let pem = new_ed25519_pem().unwrap();
        let key = PrivateKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(key.public.alg, Algorithm::EdDSA);
        let sig = jsonwebtoken::crypto::sign(b"m", &key.encoding, Algorithm::EdDSA).unwrap();
        assert!(
            jsonwebtoken::crypto::verify(&sig, b"m", &key.public.key, Algorithm::EdDSA).unwrap()
        );
        assert!(PrivateKey::from_pkcs8_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        )
        .is_err());
        let e = PrivateKey::from_pkcs8_pem("hello").err().unwrap();
        assert!(format!("{e}").contains("not a PEM key"), "{e}");
    }
}
