//! Reading FHIR JSON element by element, each failure a [`Refusal`] at the element's path:
//! the helpers of [`super::consent_import`].

use chrono::{DateTime, NaiveDate};
use serde_json::{Map, Value};

use super::{uri, Refusal};
use crate::policy::AgencyKind;

pub(super) fn no(path: impl Into<String>, reason: &str) -> Refusal {
    Refusal::new(path, reason)
}

pub(super) fn unsupported(path: String) -> Refusal {
    Refusal::new(
        path,
        "つなぎの同意モデルでは表せない要素です / our consent model cannot represent this element",
    )
}

/// Refuse any key of `o` not in `allowed` (at `path.key`).
pub(super) fn only(o: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), Refusal> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(unsupported(format!("{path}.{k}"))),
        None => Ok(()),
    }
}

pub(super) fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, Refusal> {
    v.as_object()
        .ok_or_else(|| no(path, "オブジェクトが必要です / must be a JSON object"))
}

pub(super) fn array<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a [Value], Refusal> {
    match v {
        None => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(no(path, "配列が必要です / must be a JSON array")),
    }
}

pub(super) fn string<'a>(v: Option<&'a Value>, path: &str) -> Result<&'a str, Refusal> {
    v.and_then(Value::as_str)
        .ok_or_else(|| no(path, "文字列が必要です / a string is required"))
}

/// A FHIR dateTime our DateTime scalar takes: a full instant with its offset, or a date.
pub(super) fn date_time(v: Option<&Value>, path: &str) -> Result<String, Refusal> {
    let s = string(v, path)?;
    if DateTime::parse_from_rfc3339(s).is_ok() || NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        return Ok(s.to_owned());
    }
    Err(no(
        path,
        "日時はオフセット付きの日時か年月日で指定してください (年・年月のみは不可) / give a full date-time with its offset, or a date (a year or year-month alone cannot be held)",
    ))
}

/// A coding of one of our systems: its code, if `parse` knows it.
pub(super) fn our_code<T>(
    coding: &Value,
    system: &str,
    path: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, Refusal> {
    let o = object(coding, path)?;
    only(o, &["system", "code", "display"], path)?;
    if o.get("system").and_then(Value::as_str) != Some(system) {
        return Err(no(
            format!("{path}.system"),
            &format!(
                "コード体系は {system} のみ扱えます / only the code system {system} can be held"
            ),
        ));
    }
    let code = string(o.get("code"), &format!("{path}.code"))?;
    parse(code).ok_or_else(|| {
        no(
            format!("{path}.code"),
            &format!("不明なコード {code} / unknown code {code}"),
        )
    })
}

/// A recipient: an agency (`Organization/{id}`) or any agency of a kind.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum To {
    Agency(String),
    Kind(String),
}

pub(super) fn recipient(reference: &Value, path: &str) -> Result<To, Refusal> {
    let o = object(reference, path)?;
    only(o, &["reference", "type", "identifier", "display"], path)?;
    if let Some(r) = o.get("reference") {
        let r = string(Some(r), &format!("{path}.reference"))?;
        return match r.strip_prefix("Organization/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Ok(To::Agency(id.to_owned())),
            _ => Err(no(
                format!("{path}.reference"),
                "提供先は Organization/{id} (機関) か機関種別の識別子のみ扱えます / a recipient is an Organization/{id} (an agency) or an agency-kind identifier",
            )),
        };
    }
    let ipath = format!("{path}.identifier");
    let id = object(
        o.get("identifier").ok_or_else(|| {
            no(
                path,
                "reference か identifier が必要です / a reference or an identifier is required",
            )
        })?,
        &ipath,
    )?;
    only(id, &["system", "value"], &ipath)?;
    if id.get("system").and_then(Value::as_str) != Some(uri::AGENCY_KIND) {
        return Err(no(
            format!("{ipath}.system"),
            &format!(
                "識別子の体系は {} のみ扱えます / only the system {} can be held",
                uri::AGENCY_KIND,
                uri::AGENCY_KIND
            ),
        ));
    }
    let kind = string(id.get("value"), &format!("{ipath}.value"))?;
    AgencyKind::parse(kind)
        .map(|k| To::Kind(k.as_str().to_owned()))
        .ok_or_else(|| {
            no(
                format!("{ipath}.value"),
                &format!("不明な機関種別 {kind} / unknown agency kind {kind}"),
            )
        })
}
