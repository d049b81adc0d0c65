//! Response validation: a 200 whose `errors` differ from what the scenario expects is a
//! failure. Expected errors are a set of (path, code) pairs (for mixed access, exactly the
//! CONSENT_REQUIRED paths the caller must be refused).

use std::collections::BTreeSet;

use serde_json::Value;

/// (path as "a.b.0.c", extensions.code)
pub type ErrorSet = BTreeSet<(String, String)>;

/// The (path, code) pairs of a GraphQL response's `errors`.
pub fn error_set(body: &Value) -> ErrorSet {
    let Some(errors) = body.get("errors").and_then(Value::as_array) else {
        return ErrorSet::new();
    };
    errors
        .iter()
        .map(|e| {
            let path = e
                .get("path")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter()
                        .map(|s| match s {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            let code = e
                .pointer("/extensions/code")
                .and_then(Value::as_str)
                .unwrap_or("NO_CODE")
                .to_owned();
            (path, code)
        })
        .collect()
}

/// Check one response: HTTP 200, a JSON body with `data`, exactly the expected errors, and
/// `check` on the data (the scenario's own shape check).
pub fn check(
    status: u16,
    body: &[u8],
    expected: &ErrorSet,
    shape: impl Fn(&Value) -> Result<(), String>,
) -> Result<(), String> {
    if status != 200 {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let got = error_set(&v);
    if &got != expected {
        let extra: Vec<_> = got.difference(expected).collect();
        let missing: Vec<_> = expected.difference(&got).collect();
        return Err(format!(
            "errors differ: unexpected {extra:?}, missing {missing:?}"
        ));
    }
    match v.get("data") {
        Some(d) if !d.is_null() => shape(d),
        _ => Err("no data".to_owned()),
    }
}

/// How an answer that is not a valid one counts (issue 12, item 3: INTERNAL, 5xx and load
/// shedding are reported apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// HTTP 503 with `Retry-After`: the server shed the request on purpose.
    Shed,
    /// Any other answer (valid or not; validation decides).
    Answer {
        /// An error with code INTERNAL anywhere in the body.
        internal: bool,
        /// HTTP 5xx.
        server_error: bool,
    },
}

pub fn classify(status: u16, retry_after: bool, body: &[u8]) -> Outcome {
    if status == 503 && retry_after {
        return Outcome::Shed;
    }
    let internal = serde_json::from_slice::<Value>(body)
        .map(|v| error_set(&v).iter().any(|(_, code)| code == "INTERNAL"))
        .unwrap_or(false);
    Outcome::Answer {
        internal,
        server_error: status >= 500,
    }
}

/// Every expected error must be a refusal by the policy (CONSENT_REQUIRED); anything else
/// in a baseline response means the scenario itself is broken.
pub fn only_consent_required(set: &ErrorSet) -> Result<(), String> {
    match set.iter().find(|(_, code)| code != "CONSENT_REQUIRED") {
        Some((path, code)) => Err(format!("baseline error {code} at {path}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(pairs: &[(&str, &str)]) -> ErrorSet {
        pairs
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect()
    }

    fn ok(_: &Value) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn paths_and_codes_are_read() {
        let body = json!({"data": {}, "errors": [
            {"message": "m", "path": ["household", "members", 1, "person", "address"],
             "extensions": {"code": "CONSENT_REQUIRED"}},
            {"message": "m"}
        ]});
        assert_eq!(
            error_set(&body),
            set(&[
                ("household.members.1.person.address", "CONSENT_REQUIRED"),
                ("", "NO_CODE")
            ])
        );
    }

    #[test]
    fn a_200_with_unexpected_errors_fails() {
        let body = json!({"data": {"x": 1}, "errors": [
            {"path": ["x"], "extensions": {"code": "INTERNAL"}}]})
        .to_string();
        assert!(check(200, body.as_bytes(), &ErrorSet::new(), ok).is_err());
        let expected = set(&[("x", "INTERNAL")]);
        assert!(check(200, body.as_bytes(), &expected, ok).is_ok());
    }

    #[test]
    fn a_missing_expected_refusal_fails() {
        // Mixed access: the refusal must be there (a field that came back instead is a leak).
        let body = json!({"data": {"x": 1}}).to_string();
        let expected = set(&[("x", "CONSENT_REQUIRED")]);
        assert!(check(200, body.as_bytes(), &expected, ok)
            .unwrap_err()
            .contains("missing"));
    }

    #[test]
    fn status_json_data_and_shape() {
        let none = ErrorSet::new();
        assert!(check(500, b"{}", &none, ok).is_err());
        assert!(check(200, b"<html>", &none, ok).is_err());
        assert!(check(200, br#"{"data": null}"#, &none, ok).is_err());
        let bad_shape = |_: &Value| Err("wrong id".to_owned());
        assert!(check(200, br#"{"data": {}}"#, &none, bad_shape).is_err());
        assert!(check(200, br#"{"data": {}}"#, &none, ok).is_ok());
    }

    #[test]
    fn shedding_internal_and_5xx_are_told_apart() {
        assert_eq!(classify(503, true, b"{}"), Outcome::Shed);
        assert_eq!(
            classify(503, false, b"{}"),
            Outcome::Answer {
                internal: false,
                server_error: true
            }
        );
        let internal =
            json!({"data": null, "errors": [{"extensions": {"code": "INTERNAL"}}]}).to_string();
        assert_eq!(
            classify(200, false, internal.as_bytes()),
            Outcome::Answer {
                internal: true,
                server_error: false
            }
        );
        assert_eq!(
            classify(200, false, br#"{"data": {}}"#),
            Outcome::Answer {
                internal: false,
                server_error: false
            }
        );
    }

    #[test]
    fn baselines_may_only_hold_consent_refusals() {
        assert!(only_consent_required(&set(&[("a", "CONSENT_REQUIRED")])).is_ok());
        assert!(only_consent_required(&set(&[("a", "FORBIDDEN")])).is_err());
    }
}
