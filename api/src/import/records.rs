//! Consultations and consents files: each row becomes the GraphQL variables of the upsert
//! it is (`upsertConsultation(ref:, input:)`, `upsertConsent(ref:, input:)`), so that the
//! mutation itself checks, writes and ledgers it ([`super::mutations`]). The cells are read
//! as a municipal export writes them (和暦 dates, Japanese words for the enumerations) into
//! the API's values; the person a row is about is named by their 宛名番号, the reference the
//! persons import stored, and found in [`resolve`].

use std::collections::HashMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::columns::{Field, Kind, Mapping};
use super::date::parse_date;
use super::rows::{read_rows_lenient, Row};
use super::RowError;

/// A row read (or, for households, the rows of one household): its line, its own
/// reference, and the mutation's variables, in which `$PERSON:<ref>` and `$HOUSEHOLD:<ref>`
/// stand for the hub ids of the persons and households the agency's references name, put in
/// by [`resolve`].
pub struct Pending {
    pub line: u64,
    /// A household's member rows' lines, in the order of `members`: an error about the n-th
    /// member is reported at its own line.
    pub member_lines: Vec<u64>,
    pub record_ref: String,
    pub variables: Value,
}

/// A row ready to run: as [`Pending`], with hub ids in place of the references.
pub struct RowToRun {
    pub line: u64,
    pub member_lines: Vec<u64>,
    pub reference: String,
    pub variables: Value,
}

impl RowToRun {
    /// The line an error of this row's mutation belongs to: a member's own line when the
    /// error's field names one (`members.2.personId`), else the row's.
    pub fn line_of(&self, field: Option<&str>) -> u64 {
        let member = field.and_then(|f| {
            let mut parts = f.split('.').skip_while(|p| *p != "members").skip(1);
            parts.next()?.parse::<usize>().ok()
        });
        member
            .and_then(|i| self.member_lines.get(i).copied())
            .unwrap_or(self.line)
    }
}

const PERSON: &str = "$PERSON:";
const HOUSEHOLD: &str = "$HOUSEHOLD:";

/// The variables' keys whose values may be placeholders: nothing else (a summary that reads
/// `$PERSON:R-1` is text, and stays text).
const SLOTS: [&str; 3] = ["personId", "subjectPersonIds", "householdId"];

fn person_slot(reference: &str) -> String {
    format!("{PERSON}{reference}")
}

/// A cell's value among `words` (Japanese words and the API's names, compared after
/// trimming, upper-casing ASCII and narrowing full-width letters); blank is `default`.
fn word(
    row: &Row<'_>,
    errors: &mut Vec<RowError>,
    field: Field,
    words: &[(&[&str], &'static str)],
    default: &'static str,
) -> &'static str {
    let Some(cell) = row.get(field).filter(|c| !c.is_empty()) else {
        return default;
    };
    let key: String = cell
        .chars()
        .map(crate::graphql::validate::narrow_ascii)
        .collect::<String>()
        .to_ascii_uppercase();
    for (aliases, value) in words {
        if *value == key || aliases.contains(&key.as_str()) {
            return value;
        }
    }
    let allowed: Vec<String> = words
        .iter()
        .map(|(a, v)| format!("{} ({v})", a.first().unwrap_or(v)))
        .collect();
    errors.push(row.error(
        field,
        format!(
            "{cell:?} は使えません。次のいずれかです: {} / {cell:?} is not one of: {}",
            allowed.join(", "),
            allowed.join(", ")
        ),
    ));
    default
}

/// A list cell: values separated by spaces, commas, `;`, `、` or `・`.
fn list(cell: &str) -> Vec<String> {
    cell.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '、' | '・' | '，' | '；'))
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.chars()
                .map(crate::graphql::validate::narrow_ascii)
                .collect()
        })
        .collect()
}

/// A date cell (和暦 or 西暦) as the API's `YYYY-MM-DD` (00:00 in the city's time zone).
fn date(row: &Row<'_>, errors: &mut Vec<RowError>, field: Field) -> Option<String> {
    let cell = row.get(field).filter(|c| !c.is_empty())?;
    match parse_date(cell) {
        Ok(d) => Some(d.to_string()),
        Err(e) => {
            errors.push(row.error(field, e.to_string()));
            None
        }
    }
}

/// A required reference cell, trimmed.
fn reference(row: &Row<'_>, errors: &mut Vec<RowError>, field: Field) -> Option<String> {
    match row.get(field).filter(|c| !c.is_empty()) {
        Some(v) => match super::values::external_id(v) {
            Ok(v) => Some(v),
            Err(why) => {
                errors.push(row.error(field, why));
                None
            }
        },
        None => {
            if row.get(field).is_some() {
                errors.push(row.error(field, "値が必要です / a value is required"));
            }
            None
        }
    }
}

/// The row's own reference: its id column, or `derived:` and a hash of the values that make
/// it this record (the same row in the next export derives the same key).
fn record_ref(row: &Row<'_>, errors: &mut Vec<RowError>, identity: &[&str]) -> String {
    if row.get(Field::RecordId).is_some() {
        return reference(row, errors, Field::RecordId).unwrap_or_default();
    }
    let digest = hex::encode(Sha256::digest(identity.join("\u{1f}").as_bytes()));
    format!("derived:{}", &digest[..40])
}

const CHANNELS: &[(&[&str], &str)] = &[
    (&["来所", "窓口", "来庁"], "VISIT"),
    (&["電話"], "PHONE"),
    (&["訪問", "アウトリーチ"], "OUTREACH"),
    (&["メール", "電子メール"], "EMAIL"),
    (&["紹介", "つなぎ", "関係機関"], "REFERRAL"),
    (&["その他"], "OTHER"),
];
const URGENCIES: &[(&[&str], &str)] = &[
    (&["低"], "LOW"),
    (&["通常", "中"], "NORMAL"),
    (&["高"], "HIGH"),
    (&["緊急"], "CRITICAL"),
];
const GIVERS: &[(&[&str], &str)] = &[(&["本人"], "SELF"), (&["代理人", "代理"], "PROXY")];
const PURPOSES: &[(&[&str], &str)] = &[
    (&["支援"], "SUPPORT"),
    (&["事業評価", "評価"], "EVALUATION"),
];
const CATEGORIES: &[(&str, &str)] = &[
    ("本人情報", "IDENTITY"),
    ("連絡先", "CONTACT"),
    ("世帯", "HOUSEHOLD"),
    ("健康", "HEALTH"),
    ("生計", "LIVELIHOOD"),
    ("児童保護", "CHILD_PROTECTION"),
    ("相談記録", "NARRATIVE"),
    ("支援計画", "PLAN"),
];
const KINDS: &[&str] = &[
    "COMPREHENSIVE_CARE",
    "DISABILITY",
    "CHILD_FAMILY",
    "SELF_RELIANCE",
    "PARTICIPATION_SUPPORT",
    "COMMUNITY_BUILDING",
    "OUTREACH",
    "MULTI_AGENCY",
    "CITY_OFFICE",
    "THIRD_PARTY",
];

/// The issues of a consultation: codes, the main one marked ◎ (`B02 ◎A01`), else the first.
fn issues(row: &Row<'_>) -> Value {
    let cell = row.get(Field::Issues).unwrap_or("");
    let codes = list(cell);
    // Without a ◎, the first issue is the main one (a file listing one issue means it).
    let marked = codes.iter().any(|c| c.starts_with('◎'));
    let issues: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(i, code)| match code.strip_prefix('◎') {
            Some(main) => json!({ "code": main, "main": true }),
            None => json!({ "code": code, "main": !marked && i == 0 }),
        })
        .collect();
    Value::Array(issues)
}

fn consultation(row: &Row<'_>, errors: &mut Vec<RowError>) -> Option<Pending> {
    let before = errors.len();
    let person_ref = reference(row, errors, Field::PersonRef);
    let household_ref = row
        .get(Field::HouseholdId)
        .filter(|c| !c.is_empty())
        .and_then(|_| reference(row, errors, Field::HouseholdId));
    let received = date(row, errors, Field::ReceivedOn);
    let channel = word(row, errors, Field::Channel, CHANNELS, "OTHER");
    let urgency = word(row, errors, Field::Urgency, URGENCIES, "NORMAL");
    let summary = row.get(Field::Summary).unwrap_or("").to_owned();
    let person = person_ref.clone().unwrap_or_default();
    let on = received.clone().unwrap_or_default();
    let record_ref = record_ref(row, errors, &[&person, &on, &summary]);
    if errors.len() > before {
        return None;
    }
    Some(Pending {
        member_lines: Vec::new(),
        line: row.line,
        record_ref,
        variables: json!({ "i": {
            // A day alone: 00:00 that day in the city (Asia/Tokyo).
            "receivedAt": format!("{}T00:00:00+09:00", received?),
            "channel": channel,
            "subjectPersonIds": [person_slot(&person_ref?)],
            "householdId": household_ref.map(|h| format!("{HOUSEHOLD}{h}")),
            "issues": issues(row),
            "summary": summary,
            "urgency": urgency,
        }}),
    })
}

fn consent(row: &Row<'_>, errors: &mut Vec<RowError>) -> Option<Pending> {
    let before = errors.len();
    let person_ref = reference(row, errors, Field::PersonRef);
    let given_by = word(row, errors, Field::GivenBy, GIVERS, "SELF");
    let purpose = word(row, errors, Field::Purpose, PURPOSES, "SUPPORT");
    let mut categories = Vec::new();
    for c in list(row.get(Field::Categories).unwrap_or("")) {
        let upper = c.to_ascii_uppercase();
        match CATEGORIES.iter().find(|(ja, en)| *ja == c || *en == upper) {
            Some((_, en)) => categories.push(*en),
            None => errors.push(row.error(
                Field::Categories,
                format!("不明な区分 {c:?} / unknown category {c:?}"),
            )),
        }
    }
    let mut kinds = Vec::new();
    for k in list(row.get(Field::RecipientKinds).unwrap_or("")) {
        let upper = k.to_ascii_uppercase();
        match KINDS.iter().find(|kind| **kind == upper) {
            Some(kind) => kinds.push(*kind),
            None => errors.push(row.error(
                Field::RecipientKinds,
                format!("不明な機関種別 {k:?} / unknown agency kind {k:?}"),
            )),
        }
    }
    let from = date(row, errors, Field::ValidFrom);
    let until = date(row, errors, Field::ValidUntil);
    let text = |f: Field| row.get(f).filter(|c| !c.is_empty()).map(str::to_owned);
    let person = person_ref.clone().unwrap_or_default();
    let start = from.clone().unwrap_or_default();
    let joined = categories.join(" ");
    let record_ref = record_ref(row, errors, &[&person, &start, &joined, purpose]);
    if errors.len() > before {
        return None;
    }
    Some(Pending {
        member_lines: Vec::new(),
        line: row.line,
        record_ref,
        variables: json!({ "i": {
            "personId": person_slot(&person_ref?),
            "givenBy": given_by,
            "proxyName": text(Field::ProxyName),
            "proxyRelationship": text(Field::ProxyRelationship),
            "categories": categories,
            "recipientAgencyKinds": kinds,
            "purpose": purpose,
            "validFrom": from?,
            "validUntil": until,
            // A file carries no method column: an agency's records of consent are the
            // signed forms it holds (書面).
            "method": "WRITTEN",
        }}),
    })
}

/// 世帯主: ○, 1, はい, Y, TRUE, 世帯主 → true; blank, ×, 0, いいえ, N, FALSE → false.
fn is_head(row: &Row<'_>, errors: &mut Vec<RowError>) -> bool {
    let cell = row.get(Field::IsHead).unwrap_or("");
    let key: String = cell
        .chars()
        .map(crate::graphql::validate::narrow_ascii)
        .collect::<String>()
        .to_ascii_uppercase();
    match key.as_str() {
        "○" | "◯" | "1" | "はい" | "Y" | "YES" | "TRUE" | "世帯主" => true,
        "" | "×" | "0" | "いいえ" | "N" | "NO" | "FALSE" => false,
        _ => {
            errors.push(row.error(
                Field::IsHead,
                format!("{cell:?} は 世帯主 の値ではありません (○ か空欄) / {cell:?} is not a head-of-household mark (○ or blank)"),
            ));
            false
        }
    }
}

/// A member row of a households (memberships) file: its household's reference and the
/// member as `upsertHousehold(members:)` takes it.
fn member(row: &Row<'_>, errors: &mut Vec<RowError>) -> Option<(String, String, Value)> {
    let before = errors.len();
    let household = reference(row, errors, Field::HouseholdId);
    let person_ref = reference(row, errors, Field::PersonRef);
    let relationship = row.get(Field::Relationship).unwrap_or("").to_owned();
    let head = is_head(row, errors);
    let joined = date(row, errors, Field::JoinedOn);
    if errors.len() > before {
        return None;
    }
    let person_ref = person_ref?;
    Some((
        household?,
        person_ref.clone(),
        json!({
            "personId": person_slot(&person_ref),
            "relationship": relationship,
            "isHead": head,
            "joinedOn": joined,
        }),
    ))
}

/// The households of a households (memberships) file: its rows grouped by 世帯番号, in the
/// order they first appear, each household one `upsertHousehold` under its 世帯番号 (at the
/// line of its first row).
fn households(
    text: &str,
    kind: Kind,
    mapping: &Mapping,
) -> Result<(Vec<Pending>, Vec<RowError>, usize), Vec<RowError>> {
    // (世帯番号, its first line, its members by 宛名番号 with their lines)
    type Group = (String, u64, Vec<(String, u64, Value)>);
    let mut groups: Vec<Group> = Vec::new();
    let (count, errors) = read_rows_lenient(text, kind, mapping, |row, errors| {
        let Some((household, person_ref, member)) = member(&row, errors) else {
            return;
        };
        match groups.iter_mut().find(|(h, ..)| *h == household) {
            Some((_, first, members)) => {
                if members.iter().any(|(p, ..)| *p == person_ref) {
                    errors.push(row.error(
                        Field::PersonRef,
                        format!("{person_ref} はこの世帯に既にいます ({first} 行目から) / {person_ref} is already in this household (from line {first})"),
                    ));
                    return;
                }
                members.push((person_ref, row.line, member));
            }
            None => groups.push((household, row.line, vec![(person_ref, row.line, member)])),
        }
    })?;
    let pending = groups
        .into_iter()
        .map(|(household, line, members)| Pending {
            line,
            member_lines: members.iter().map(|(_, l, _)| *l).collect(),
            record_ref: household,
            variables: json!({ "m": members.into_iter().map(|(.., m)| m).collect::<Vec<_>>() }),
        })
        .collect();
    Ok((pending, errors, count))
}

/// Every row of a consultations or consents file (or household of a households file) that
/// reads, the errors of the rest, and the number of data rows; header problems alone as the
/// error.
pub fn read(
    text: &str,
    kind: Kind,
    mapping: &Mapping,
) -> Result<(Vec<Pending>, Vec<RowError>, usize), Vec<RowError>> {
    if matches!(kind, Kind::Households | Kind::Memberships) {
        return households(text, kind, mapping);
    }
    let mut out = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let (count, errors) = read_rows_lenient(text, kind, mapping, |row, errors| {
        let pending = match kind {
            Kind::Consultations => consultation(&row, errors),
            _ => consent(&row, errors),
        };
        let Some(p) = pending else { return };
        if let Some(first) = seen.get(&p.record_ref) {
            errors.push(RowError::new(
                p.line,
                None,
                format!("{first} 行目と同じ記録です / the same record as line {first}"),
            ));
            return;
        }
        seen.insert(p.record_ref.clone(), p.line);
        out.push(p);
    })?;
    Ok((out, errors, count))
}

/// The agency references a row's variables name (in [`SLOTS`]): persons' and households'.
pub fn references(rows: &[Pending]) -> (Vec<String>, Vec<String>) {
    fn scan(v: &Value, slot: bool, persons: &mut Vec<String>, households: &mut Vec<String>) {
        match v {
            Value::String(s) if slot => {
                if let Some(r) = s.strip_prefix(PERSON) {
                    persons.push(r.to_owned());
                } else if let Some(r) = s.strip_prefix(HOUSEHOLD) {
                    households.push(r.to_owned());
                }
            }
            Value::Array(items) => items
                .iter()
                .for_each(|i| scan(i, slot, persons, households)),
            Value::Object(map) => map
                .iter()
                .for_each(|(k, i)| scan(i, SLOTS.contains(&k.as_str()), persons, households)),
            _ => {}
        }
    }
    let (mut persons, mut households) = (Vec::new(), Vec::new());
    for p in rows {
        scan(&p.variables, false, &mut persons, &mut households);
    }
    persons.sort_unstable();
    persons.dedup();
    households.sort_unstable();
    households.dedup();
    (persons, households)
}

/// Put the hub ids of the persons and households the rows name into their variables
/// (`persons`, `households`: the agency's references to hub ids); a reference the agency does
/// not hold is an error of its row (of a household's member row, at that row's line), and
/// the row is left out.
pub fn resolve(
    rows: Vec<Pending>,
    persons: &HashMap<String, String>,
    households: &HashMap<String, String>,
    errors: &mut Vec<RowError>,
) -> Vec<RowToRun> {
    let mut out = Vec::with_capacity(rows.len());
    for mut p in rows {
        let mut missing = Vec::new();
        substitute(&mut p.variables, false, persons, households, &mut missing);
        let row = RowToRun {
            line: p.line,
            member_lines: p.member_lines,
            reference: p.record_ref,
            variables: p.variables,
        };
        if missing.is_empty() {
            out.push(row);
            continue;
        }
        for (field, reference, member) in missing {
            let what = if field == Field::PersonRef {
                format!("宛名番号 {reference} の人は登録されていません (先に persons を取り込んでください) / no person with the reference {reference} (import the persons first)")
            } else {
                format!("世帯番号 {reference} の世帯は登録されていません / no household with the reference {reference}")
            };
            let line = member
                .and_then(|i| row.member_lines.get(i).copied())
                .unwrap_or(row.line);
            errors.push(RowError::new(line, Some(field.label().to_owned()), what));
        }
    }
    out
}

/// Replaces the placeholders under [`SLOTS`]; each one the agency does not hold is noted
/// with its field and, inside `members`, the member's index.
fn substitute(
    v: &mut Value,
    slot: bool,
    persons: &HashMap<String, String>,
    households: &HashMap<String, String>,
    missing: &mut Vec<(Field, String, Option<usize>)>,
) {
    match v {
        Value::String(s) if slot => {
            let found = if let Some(r) = s.strip_prefix(PERSON) {
                Some((persons.get(r), Field::PersonRef, r.to_owned()))
            } else {
                s.strip_prefix(HOUSEHOLD)
                    .map(|r| (households.get(r), Field::HouseholdId, r.to_owned()))
            };
            match found {
                Some((Some(id), ..)) => *s = id.clone(),
                Some((None, field, reference)) => missing.push((field, reference, None)),
                None => {}
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| substitute(i, slot, persons, households, missing)),
        Value::Object(map) => {
            for (k, i) in map.iter_mut() {
                if k == "m" {
                    // A household's members: note which member a missing reference is.
                    if let Value::Array(members) = i {
                        for (n, m) in members.iter_mut().enumerate() {
                            let before = missing.len();
                            substitute(m, false, persons, households, missing);
                            for x in &mut missing[before..] {
                                x.2 = Some(n);
                            }
                        }
                    }
                } else {
                    substitute(i, SLOTS.contains(&k.as_str()), persons, households, missing);
                }
            }
        }
        _ => {}
    }
}
