//! Public verification keys from a JWKS file (RFC 7517): each key checked (type, curve,
//! size, no private material) and pinned to the one algorithm it verifies.

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{json, Value};

use super::{check_kid, thumbprint, VerifyKey, B64, MIN_RSA_BITS};

/// Parse a JWKS (RFC 7517 §5) into verification keys by kid. Keys marked `"use": "enc"` are
/// skipped; any other problem rejects the whole file, naming the key.
pub(super) fn parse_jwks(text: &str) -> anyhow::Result<Vec<(String, VerifyKey)>> {
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
            thumbprint: thumbprint(&public)?,
        },
    )))
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
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
}
