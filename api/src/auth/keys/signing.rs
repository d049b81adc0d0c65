//! The hub's own signing key: read from PKCS#8 PEM (Ed25519, P-256 or RSA), and the
//! development key created when no key is configured.

use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use pkcs8::der::pem::LineEnding;
use pkcs8::{DecodePrivateKey, ObjectIdentifier, PrivateKeyInfo, SecretDocument};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use super::{thumbprint, VerifyKey, B64, MIN_RSA_BITS};

const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// A private signing key read from PKCS#8 PEM.
pub(super) struct PrivateKey {
    pub(super) encoding: EncodingKey,
    pub(super) public: VerifyKey,
    /// The public JWK without kid.
    pub(super) public_jwk: Value,
}

impl PrivateKey {
    pub(super) fn from_pkcs8_pem(pem: &str) -> anyhow::Result<PrivateKey> {
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
                    thumbprint: thumbprint(&jwk)?,
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
                    thumbprint: thumbprint(&jwk)?,
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
                    thumbprint: thumbprint(&jwk)?,
                },
                public_jwk: jwk,
            })
        } else {
            bail!("unsupported key type (OID {oid}): use Ed25519, EC P-256 or RSA (≥ {MIN_RSA_BITS} bits)")
        }
    }
}

/// A fresh Ed25519 private key as PKCS#8 PEM (RFC 8410), encoded by `ed25519-dalek`.
pub fn new_ed25519_pem() -> anyhow::Result<String> {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let pem = ed25519_dalek::SigningKey::from_bytes(&seed)
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow!("PKCS#8: {e}"))?;
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
