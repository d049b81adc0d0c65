//! Test fixtures and test database names, with nothing but `std` and `serde_json`, so the
//! api crate's own tests (api/tests/common) include this very file with `#[path]` instead
//! of keeping a copy.

use std::path::PathBuf;

use serde_json::{json, Value};

/// A file of tests/fixtures/jwt (test-only keys: the private halves as DER and PEM, the
/// public ones as JWKs in public.json under the same kid).
pub fn jwt_fixture(name: &str) -> PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = here
        .ancestors()
        .map(|d| d.join("tests/fixtures/jwt"))
        .find(|d| d.is_dir())
        .unwrap_or_else(|| panic!("no tests/fixtures/jwt above {}", here.display()));
    dir.join(name)
}

/// The bytes of a file of tests/fixtures/jwt.
pub fn jwt_fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(jwt_fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The fixtures' public JWKs with these kids, as a JWKS.
pub fn jwks(kids: &[&str]) -> Value {
    let all: Value =
        serde_json::from_slice(&jwt_fixture_bytes("public.json")).expect("public.json");
    let keys: Vec<Value> = kids
        .iter()
        .map(|kid| {
            all["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .find(|k| k["kid"] == *kid)
                .cloned()
                .unwrap_or_else(|| panic!("no public JWK {kid}"))
        })
        .collect();
    json!({ "keys": keys })
}

/// A database URL with its database replaced by `name`:
/// `postgres://user@host:port/db?params` → `postgres://user@host:port/name?params`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_end);
    match query {
        Some(q) => format!("{}/{name}?{q}", &base[..host_end]),
        None => format!("{}/{name}", &base[..host_end]),
    }
}
