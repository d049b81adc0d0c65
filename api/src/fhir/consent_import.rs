//! An R5 `Consent` resource read back into our model: the input of `recordConsent` (and the
//! reference of `upsertConsent`), or a [`Refusal`] naming the element our model cannot hold.
//! The inverse of [`super::consent::to_fhir`] (its table is the contract); everything outside
//! that table is refused rather than dropped, so an accepted import loses nothing.
//!
//! Read but not imported (the hub stamps them itself, as for any record): `id`,
//! `meta.versionId` and `meta.lastUpdated` (any other `meta` is refused),
//! `text`, `language`, `date` and the `…:consent-recorded` extension. `controller`, when
//! present, must be the caller's own agency (a consent is recorded by the caller's agency).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::read::{
    array, date_time, no, object, only, our_code, recipient, string, unsupported, To,
};
use super::{uri, Refusal};
use crate::policy::{Category, Purpose};

/// What a resource becomes: the `RecordConsentInput` (JSON, as GraphQL takes it), the
/// `identifier` as the agency's external reference, the withdrawal stamp of an inactive
/// consent, and where each input field came from (to name the element when GraphQL refuses
/// a value).
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    pub input: Value,
    pub reference: Option<(String, String)>,
    pub withdrawal: Option<Withdrawal>,
    paths: BTreeMap<String, String>,
}

/// The withdrawal stamp carried by an inactive consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: Option<String>,
}

impl Imported {
    /// The element of the resource an input field (`input.validUntil`, `ref.system`,
    /// `input.recipientAgencyIds.1` …, as GraphQL errors name them) came from.
    pub fn path_for(&self, field: &str) -> String {
        let mut f = field;
        loop {
            if let Some(p) = self.paths.get(f) {
                return p.clone();
            }
            match f.rfind('.') {
                Some(i) => f = &f[..i],
                None => return "Consent".to_owned(),
            }
        }
    }
}

const TOP: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "text",
    "language",
    "contained",
    "extension",
    "identifier",
    "status",
    "subject",
    "date",
    "period",
    "grantor",
    "grantee",
    "controller",
    "sourceReference",
    "decision",
    "provision",
];

/// The resource as our model, or why it cannot be. `agency_id` is the caller's agency (the
/// only one a `controller` may name).
pub fn from_fhir(resource: &Value, agency_id: &str) -> Result<Imported, Refusal> {
    let r = object(resource, "Consent")?;
    if r.get("resourceType").and_then(Value::as_str) != Some("Consent") {
        return Err(no(
            "resourceType",
            "Consent リソースが必要です / a Consent resource is required",
        ));
    }
    only(r, TOP, "Consent")?;
    // The hub's own version and times are stamped anew; labels or tags would be lost.
    if let Some(meta) = r.get("meta") {
        only(
            object(meta, "Consent.meta")?,
            &["versionId", "lastUpdated"],
            "Consent.meta",
        )?;
    }
    let mut paths = BTreeMap::new();
    let mut input = Map::new();

    let status = string(r.get("status"), "Consent.status")?;
    if status != "active" && status != "inactive" {
        return Err(no("Consent.status", "扱える状態は active と inactive (撤回) のみです / only active and inactive (withdrawn) can be held"));
    }
    match r.get("decision").and_then(Value::as_str) {
        Some("permit") => {}
        Some(_) => return Err(no("Consent.decision", "つなぎの同意は提供の許可 (permit) のみです。拒否 (deny) は表せません / a Tsunagi consent only permits sharing: deny cannot be held")),
        None => return Err(no("Consent.decision", "decision (permit) が必要です / decision (permit) is required")),
    }

    let subject = object(
        r.get("subject").ok_or_else(|| {
            no(
                "Consent.subject",
                "対象者が必要です / the subject is required",
            )
        })?,
        "Consent.subject",
    )?;
    only(subject, &["reference", "display"], "Consent.subject")?;
    let subject_ref = string(subject.get("reference"), "Consent.subject.reference")?;
    let person = match subject_ref.strip_prefix("Patient/") {
        Some(p) if !p.is_empty() && !p.contains('/') => p.to_owned(),
        _ => {
            return Err(no(
                "Consent.subject.reference",
                "対象者は Patient/{id} で指定してください / the subject must be Patient/{id}",
            ))
        }
    };
    input.insert("personId".into(), json!(person));
    paths.insert("input.personId".into(), "Consent.subject.reference".into());

    let period = object(
        r.get("period").ok_or_else(|| {
            no(
                "Consent.period.start",
                "有効期間の開始が必要です / the period's start is required",
            )
        })?,
        "Consent.period",
    )?;
    only(period, &["start", "end"], "Consent.period")?;
    if period.get("start").is_none() {
        return Err(no(
            "Consent.period.start",
            "有効期間の開始が必要です / the period's start is required",
        ));
    }
    input.insert(
        "validFrom".into(),
        json!(date_time(period.get("start"), "Consent.period.start")?),
    );
    paths.insert("input.validFrom".into(), "Consent.period.start".into());
    if let Some(end) = period.get("end") {
        input.insert(
            "validUntil".into(),
            json!(date_time(Some(end), "Consent.period.end")?),
        );
        paths.insert("input.validUntil".into(), "Consent.period.end".into());
    }

    grantor(r, &person, &mut input, &mut paths)?;
    let (method, withdrawal) = extensions(r, status, &mut input, &mut paths)?;
    input.insert("method".into(), json!(method));

    let ids = array(r.get("identifier"), "Consent.identifier")?;
    if ids.len() > 1 {
        return Err(no("Consent.identifier[1]", "識別子 (外部参照) は 1 つまでです / at most one identifier (the agency's external reference)"));
    }
    let reference = match ids.first() {
        None => None,
        Some(id) => {
            let o = object(id, "Consent.identifier[0]")?;
            only(o, &["system", "value"], "Consent.identifier[0]")?;
            let system = string(o.get("system"), "Consent.identifier[0].system")?;
            let value = string(o.get("value"), "Consent.identifier[0].value")?;
            paths.insert("ref".into(), "Consent.identifier[0]".into());
            paths.insert("ref.system".into(), "Consent.identifier[0].system".into());
            paths.insert(
                "ref.externalId".into(),
                "Consent.identifier[0].value".into(),
            );
            Some((system.to_owned(), value.to_owned()))
        }
    };

    let controllers = array(r.get("controller"), "Consent.controller")?;
    for (i, c) in controllers.iter().enumerate() {
        let path = format!("Consent.controller[{i}]");
        if recipient(c, &path)? != To::Agency(agency_id.to_owned()) {
            return Err(no(path, "同意は送信した機関が記録します。controller は自機関のみ指定できます / the consent is recorded by your agency: controller may name only it"));
        }
    }

    let sources = array(r.get("sourceReference"), "Consent.sourceReference")?;
    if sources.len() > 1 {
        return Err(no(
            "Consent.sourceReference[1]",
            "同意書等の参照は 1 つまでです / at most one evidence reference",
        ));
    }
    if let Some(s) = sources.first() {
        let o = object(s, "Consent.sourceReference[0]")?;
        only(o, &["display"], "Consent.sourceReference[0]")?;
        let e = string(o.get("display"), "Consent.sourceReference[0].display")?;
        input.insert("evidenceRef".into(), json!(e));
        paths.insert(
            "input.evidenceRef".into(),
            "Consent.sourceReference[0].display".into(),
        );
    }

    provision(r, &mut input, &mut paths)?;
    Ok(Imported {
        input: Value::Object(input),
        reference,
        withdrawal,
        paths,
    })
}

/// `grantor` (the person, or the contained proxy) and `contained`.
fn grantor(
    r: &Map<String, Value>,
    person: &str,
    input: &mut Map<String, Value>,
    paths: &mut BTreeMap<String, String>,
) -> Result<(), Refusal> {
    let grantors = array(r.get("grantor"), "Consent.grantor")?;
    let contained = array(r.get("contained"), "Consent.contained")?;
    if grantors.len() != 1 {
        return Err(no("Consent.grantor", "同意者はちょうど 1 人です (本人または代理人) / exactly one grantor (the person or a proxy)"));
    }
    let g = object(&grantors[0], "Consent.grantor[0]")?;
    only(g, &["reference", "display"], "Consent.grantor[0]")?;
    let reference = string(g.get("reference"), "Consent.grantor[0].reference")?;
    if reference == format!("Patient/{person}") {
        if let Some(i) = (0..contained.len()).next() {
            return Err(unsupported(format!("Consent.contained[{i}]")));
        }
        input.insert("givenBy".into(), json!("SELF"));
        return Ok(());
    }
    let Some(local) = reference.strip_prefix('#') else {
        return Err(no("Consent.grantor[0].reference", "同意者は本人 (subject と同じ Patient) か、含まれる RelatedPerson (代理人) です / the grantor is the subject's Patient or a contained RelatedPerson (a proxy)"));
    };
    if let Some(i) = contained
        .iter()
        .position(|c| c.get("id").and_then(Value::as_str) != Some(local))
    {
        return Err(unsupported(format!("Consent.contained[{i}]")));
    }
    let Some(proxy) = contained.first() else {
        return Err(no(
            "Consent.grantor[0].reference",
            "参照された代理人が contained にありません / the proxy referred to is not contained",
        ));
    };
    let path = "Consent.contained[0]";
    let p = object(proxy, path)?;
    if p.get("resourceType").and_then(Value::as_str) != Some("RelatedPerson") {
        return Err(no(
            format!("{path}.resourceType"),
            "代理人は RelatedPerson で表します / a proxy is a RelatedPerson",
        ));
    }
    only(
        p,
        &["resourceType", "id", "patient", "name", "relationship"],
        path,
    )?;
    let patient = p
        .get("patient")
        .and_then(|v| v.get("reference"))
        .and_then(Value::as_str);
    if patient != Some(&format!("Patient/{person}")) {
        return Err(no(format!("{path}.patient"), "代理人の patient は対象者と同じでなければなりません / the proxy's patient must be the subject"));
    }
    let text_of = |key: &str, allowed: &[&str]| -> Result<Option<String>, Refusal> {
        let list = array(p.get(key), &format!("{path}.{key}"))?;
        if list.len() > 1 {
            return Err(no(format!("{path}.{key}[1]"), "1 つまでです / at most one"));
        }
        let Some(first) = list.first() else {
            return Ok(None);
        };
        let ep = format!("{path}.{key}[0]");
        let o = object(first, &ep)?;
        only(o, allowed, &ep)?;
        Ok(Some(
            string(o.get("text"), &format!("{ep}.text"))?.to_owned(),
        ))
    };
    input.insert("givenBy".into(), json!("PROXY"));
    if let Some(n) = text_of("name", &["text"])? {
        input.insert("proxyName".into(), json!(n));
    }
    if let Some(rel) = text_of("relationship", &["text"])? {
        input.insert("proxyRelationship".into(), json!(rel));
    }
    paths.insert("input.proxyName".into(), format!("{path}.name"));
    paths.insert(
        "input.proxyRelationship".into(),
        format!("{path}.relationship"),
    );
    Ok(())
}

/// Our extensions: the method (required), the explanation version, the withdrawal (exactly
/// when `status` is inactive); the recording stamp is read and not imported.
fn extensions(
    r: &Map<String, Value>,
    status: &str,
    input: &mut Map<String, Value>,
    paths: &mut BTreeMap<String, String>,
) -> Result<(&'static str, Option<Withdrawal>), Refusal> {
    let mut method = None;
    let mut withdrawal = None;
    for (i, e) in array(r.get("extension"), "Consent.extension")?
        .iter()
        .enumerate()
    {
        let path = format!("Consent.extension[{i}]");
        let o = object(e, &path)?;
        match o.get("url").and_then(Value::as_str) {
            Some(uri::EXT_METHOD) => {
                only(o, &["url", "valueCode"], &path)?;
                let code = string(o.get("valueCode"), &format!("{path}.valueCode"))?;
                method = Some(
                    ["WRITTEN", "ORAL_WITH_WITNESS", "ELECTRONIC"]
                        .into_iter()
                        .find(|m| *m == code)
                        .ok_or_else(|| {
                            no(
                                format!("{path}.valueCode"),
                                &format!("不明な取得方法 {code} / unknown method {code}"),
                            )
                        })?,
                );
            }
            Some(uri::EXT_EXPLANATION) => {
                only(o, &["url", "valueString"], &path)?;
                let v = string(o.get("valueString"), &format!("{path}.valueString"))?;
                input.insert("explanationVersion".into(), json!(v));
                paths.insert(
                    "input.explanationVersion".into(),
                    format!("{path}.valueString"),
                );
            }
            Some(uri::EXT_WITHDRAWAL) => {
                only(o, &["url", "extension"], &path)?;
                withdrawal = Some(withdrawn(o, &path)?);
                paths.insert("withdrawal".into(), path);
            }
            Some(uri::EXT_RECORDED) => {}
            _ => return Err(unsupported(path)),
        }
    }
    let method = method.ok_or_else(|| {
        no(
            "Consent.extension",
            &format!("同意の取得方法 (拡張 {}) が必要です / the consent method (extension {}) is required", uri::EXT_METHOD, uri::EXT_METHOD),
        )
    })?;
    match (status, &withdrawal) {
        ("inactive", None) => Err(no("Consent.status", &format!("inactive は撤回のみを表し、撤回の記録 (拡張 {}) が必要です (期限切れは active と period.end で表します) / inactive means withdrawn and needs the withdrawal extension (an expired consent is active with its period.end)", uri::EXT_WITHDRAWAL))),
        ("active", Some(_)) => Err(no("Consent.status", "撤回の記録がある同意は inactive です / a consent with a withdrawal stamp is inactive")),
        _ => Ok((method, withdrawal)),
    }
}

fn withdrawn(o: &Map<String, Value>, path: &str) -> Result<Withdrawal, Refusal> {
    let (mut at, mut by, mut reason) = (None, None, None);
    for (j, sub) in array(o.get("extension"), &format!("{path}.extension"))?
        .iter()
        .enumerate()
    {
        let sp = format!("{path}.extension[{j}]");
        let s = object(sub, &sp)?;
        match s.get("url").and_then(Value::as_str) {
            Some("at") => {
                only(s, &["url", "valueDateTime"], &sp)?;
                let t = string(s.get("valueDateTime"), &format!("{sp}.valueDateTime"))?;
                let t = DateTime::parse_from_rfc3339(t).map_err(|_| {
                    no(format!("{sp}.valueDateTime"), "撤回日時はオフセット付きの日時で指定してください / the withdrawal time must be a full date-time with its offset")
                })?;
                at = Some(t.with_timezone(&Utc));
            }
            Some("by") => {
                only(s, &["url", "valueString"], &sp)?;
                by = Some(string(s.get("valueString"), &format!("{sp}.valueString"))?.to_owned());
            }
            Some("reason") => {
                only(s, &["url", "valueString"], &sp)?;
                reason =
                    Some(string(s.get("valueString"), &format!("{sp}.valueString"))?.to_owned());
            }
            _ => return Err(unsupported(sp)),
        }
    }
    match (at, by) {
        (Some(at), Some(by)) => Ok(Withdrawal { at, by, reason }),
        _ => Err(no(
            format!("{path}.extension"),
            "撤回の記録には at と by が必要です / a withdrawal needs at and by",
        )),
    }
}

/// The one provision: actors (recipients), purpose, security labels (categories); `grantee`
/// must name the same recipients when present.
fn provision(
    r: &Map<String, Value>,
    input: &mut Map<String, Value>,
    paths: &mut BTreeMap<String, String>,
) -> Result<(), Refusal> {
    let provisions = array(r.get("provision"), "Consent.provision")?;
    match provisions.len() {
        0 => return Err(no("Consent.provision", "provision (提供先・目的・区分) が必要です / a provision (recipients, purpose, categories) is required")),
        1 => {}
        _ => return Err(no("Consent.provision[1]", "provision は 1 つだけ扱えます / only one provision can be held")),
    }
    let path = "Consent.provision[0]";
    let p = object(&provisions[0], path)?;
    only(p, &["actor", "purpose", "securityLabel"], path)?;

    let mut agencies = Vec::new();
    let mut kinds = Vec::new();
    let mut named = Vec::new();
    for (i, a) in array(p.get("actor"), &format!("{path}.actor"))?
        .iter()
        .enumerate()
    {
        let ap = format!("{path}.actor[{i}]");
        let o = object(a, &ap)?;
        only(o, &["role", "reference"], &ap)?;
        let role = o.get("role").ok_or_else(|| {
            no(
                format!("{ap}.role"),
                "役割 (IRCP) が必要です / the role (IRCP) is required",
            )
        })?;
        let role = object(role, &format!("{ap}.role"))?;
        only(role, &["coding", "text"], &format!("{ap}.role"))?;
        let codings = array(role.get("coding"), &format!("{ap}.role.coding"))?;
        let is_ircp = codings.len() == 1
            && codings[0].get("system").and_then(Value::as_str) == Some(uri::PARTICIPATION_TYPE)
            && codings[0].get("code").and_then(Value::as_str) == Some("IRCP");
        if !is_ircp {
            return Err(no(format!("{ap}.role"), &format!("扱える役割は情報の受け手 ({}|IRCP) のみです / the only actor role we hold is information recipient ({}|IRCP)", uri::PARTICIPATION_TYPE, uri::PARTICIPATION_TYPE)));
        }
        let rp = format!("{ap}.reference");
        let to = recipient(
            o.get("reference")
                .ok_or_else(|| no(&rp, "提供先が必要です / the recipient is required"))?,
            &rp,
        )?;
        match &to {
            To::Agency(id) => {
                paths.insert(format!("input.recipientAgencyIds.{}", agencies.len()), rp);
                agencies.push(id.clone());
            }
            To::Kind(k) => kinds.push(k.clone()),
        }
        named.push(to);
    }
    if named.is_empty() {
        return Err(no(
            format!("{path}.actor"),
            "提供先 (actor) が 1 つ以上必要です / at least one recipient (actor)",
        ));
    }
    paths.insert("input.recipientAgencyIds".into(), format!("{path}.actor"));
    paths.insert("input.recipientAgencyKinds".into(), format!("{path}.actor"));
    input.insert("recipientAgencyIds".into(), json!(agencies));
    input.insert("recipientAgencyKinds".into(), json!(kinds));

    if r.get("grantee").is_some() {
        let mut granted = Vec::new();
        for (i, g) in array(r.get("grantee"), "Consent.grantee")?
            .iter()
            .enumerate()
        {
            granted.push(recipient(g, &format!("Consent.grantee[{i}]"))?);
        }
        let (mut a, mut b) = (granted, named);
        a.sort();
        a.dedup();
        b.sort();
        b.dedup();
        if a != b {
            return Err(no("Consent.grantee", "grantee と provision.actor は同じ提供先を挙げてください / grantee and provision.actor must name the same recipients"));
        }
    }

    let purposes = array(p.get("purpose"), &format!("{path}.purpose"))?;
    if purposes.len() != 1 {
        return Err(no(
            format!("{path}.purpose"),
            "目的はちょうど 1 つです / exactly one purpose",
        ));
    }
    let purpose = our_code(
        &purposes[0],
        uri::PURPOSE,
        &format!("{path}.purpose[0]"),
        Purpose::parse,
    )?;
    input.insert("purpose".into(), json!(purpose.as_str()));

    let mut categories = Vec::new();
    for (i, l) in array(p.get("securityLabel"), &format!("{path}.securityLabel"))?
        .iter()
        .enumerate()
    {
        let c = our_code(
            l,
            uri::CATEGORY,
            &format!("{path}.securityLabel[{i}]"),
            Category::parse,
        )?;
        categories.push(c.as_str());
    }
    if categories.is_empty() {
        return Err(no(
            format!("{path}.securityLabel"),
            "情報の区分が 1 つ以上必要です / at least one category (securityLabel)",
        ));
    }
    input.insert("categories".into(), json!(categories));
    paths.insert("input.categories".into(), format!("{path}.securityLabel"));
    Ok(())
}

#[cfg(test)]
#[path = "consent_tests.rs"]
mod tests;
