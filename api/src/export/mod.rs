//! CSV export (issue 16, item 2): `tsunagi export` and `GET /export/{kind}`.
//!
//! An export is the GraphQL list the caller could page through itself (`persons`), run as
//! the caller in-process, page after page, with every field through the same gate: a field
//! the caller may not see is withheld exactly as in the API (null, with a CONSENT_REQUIRED
//! error naming its category), and every field shown is recorded for the ledger as the API
//! records it (per subject). The file has the field's cell empty and the row's `非開示区分 /
//! withheld` column naming the withheld categories, so nobody mistakes "withheld" for
//! "blank".
//!
//! The columns are the import's headers (宛名番号, 氏名, フリガナ …), so an agency's export
//! imports again unchanged; the hub's own id and the special-care fields, which the import
//! does not set, are in columns the import passes over ([`EXPORT_ONLY`]).
//!
//! The file is UTF-8 with a BOM (what Excel opens as UTF-8) and CRLF line ends, or CP932 on
//! request. A character CP932 cannot hold is never replaced: the export is refused with
//! every such cell named (its line and column) so the caller can ask for UTF-8 instead.
//!
//! A cell starting with a character a spreadsheet reads as a formula (`=`, `+`, `-`, `@`,
//! tab, CR) is written with a leading `'` ([`guard`]): Excel shows it as text instead of
//! running it, and the import removes the `'` again (`import::rows::unguard`).

pub mod cli;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Variables;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::graphql::context::RequestCtx;
use crate::graphql::TsunagiSchema;
use crate::import::{encode_cp932, Encoding};

/// Columns of an export the import reads past (see the module's documentation).
/// (`非開示区分` is read: a row with a withheld field is refused by the import.)
pub const EXPORT_ONLY: [&str; 5] = ["ハブID", "要介護度", "障害者手帳", "生活保護", "支援措置"];

/// The persons export's header row.
const PERSON_HEADERS: [&str; 14] = [
    "宛名番号",
    "ハブID",
    "姓",
    "名",
    "姓カナ",
    "名カナ",
    "生年月日",
    "性別",
    "住所",
    "電話番号",
    "地区",
    "要介護度",
    "障害者手帳",
    "生活保護",
];

/// Persons per page (the API's largest page).
const PAGE: i32 = 100;

const PERSONS: &str = "query export($first: Int!, $after: String) {
  persons(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id familyName givenName familyNameKana givenNameKana birthDate sex address phone
      district careLevel disabilityCertificate publicAssistance addressConfidential
      externalRefs { system externalId } }
  }
}";

/// A cell CP932 cannot hold: its line in the file (1 is the header), its column, and the
/// characters.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct Unencodable {
    pub line: u64,
    pub column: String,
    pub characters: String,
}

/// Why an export produced no file.
#[derive(Debug)]
pub enum Refused {
    /// CP932 was asked for and these cells cannot be written in it.
    Unencodable(Vec<Unencodable>),
    Api(ApiError),
}

impl From<ApiError> for Refused {
    fn from(e: ApiError) -> Self {
        Refused::Api(e)
    }
}

/// A finished export: the file and how many rows (and rows with a withheld field) it holds.
pub struct Export {
    pub bytes: Vec<u8>,
    pub rows: usize,
    pub withheld_rows: usize,
}

/// What can be exported: `persons`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Persons,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "persons" => Some(Kind::Persons),
            _ => None,
        }
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(true) => "はい".to_owned(),
        Value::Bool(false) => "いいえ".to_owned(),
        other => other.to_string(),
    }
}

/// 性別 as the import reads it back.
fn sex(v: &Value) -> String {
    match v.as_str() {
        Some("MALE") => "男",
        Some("FEMALE") => "女",
        Some("OTHER") => "その他",
        Some("UNKNOWN") => "不明",
        _ => "",
    }
    .to_owned()
}

/// A birth date (YYYY-MM-DD) as Japanese spreadsheets write it (YYYY/MM/DD).
fn date(v: &Value) -> String {
    v.as_str().map(|d| d.replace('-', "/")).unwrap_or_default()
}

/// The withheld categories of each node of the page, from its CONSENT_REQUIRED errors
/// (`persons.nodes.<i>.<field>`); any other error fails the export.
fn withheld(errors: &[async_graphql::ServerError]) -> ApiResult<BTreeMap<usize, BTreeSet<String>>> {
    let mut out: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for e in errors {
        let ext = e.extensions.as_ref();
        let value = |k: &str| match ext.and_then(|x| x.get(k)) {
            Some(async_graphql::Value::String(s)) => Some(s.clone()),
            Some(async_graphql::Value::Enum(s)) => Some(s.to_string()),
            _ => None,
        };
        let node = match e.path.get(2) {
            Some(async_graphql::PathSegment::Index(i)) => Some(*i),
            _ => None,
        };
        match (value("code").as_deref(), node, value("category")) {
            (Some("CONSENT_REQUIRED"), Some(i), Some(category)) => {
                out.entry(i).or_default().insert(category);
            }
            (Some("UNAVAILABLE"), ..) => return Err(ApiError::Unavailable),
            (Some("FORBIDDEN"), ..) => return Err(ApiError::forbidden(e.message.clone())),
            _ => {
                return Err(ApiError::internal(
                    "export",
                    format!("{}: {:?}", e.message, e.path),
                ))
            }
        }
    }
    Ok(out)
}

/// Export persons as `ctx`'s principal: every page of `persons` through `schema`, each page
/// within `page_timeout`. The reads are recorded in `ctx` (the caller appends them to the
/// ledger before the file leaves). `system`: whose references fill 宛名番号.
pub async fn persons(
    schema: &TsunagiSchema,
    ctx: Arc<RequestCtx>,
    system: &str,
    encoding: Encoding,
    page_timeout: Duration,
) -> Result<Export, Refused> {
    let mut rows: Vec<[String; 16]> = Vec::new();
    let mut withheld_rows = 0;
    let mut after: Option<String> = None;
    loop {
        let request = async_graphql::Request::new(PERSONS)
            .variables(Variables::from_json(
                json!({ "first": PAGE, "after": after }),
            ))
            .data(ctx.clone());
        let response = tokio::time::timeout(page_timeout, schema.execute(request))
            .await
            .map_err(|_| ApiError::Unavailable)?;
        let hidden = withheld(&response.errors)?;
        let data = response
            .data
            .into_json()
            .map_err(|e| ApiError::internal("export", e.to_string()))?;
        let persons = &data["persons"];
        for (i, p) in persons["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let reference = p["externalRefs"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["system"] == system)
                .map(|r| text(&r["externalId"]))
                .unwrap_or_default();
            let categories: Vec<String> = hidden.get(&i).into_iter().flatten().cloned().collect();
            withheld_rows += usize::from(!categories.is_empty());
            rows.push([
                reference,
                text(&p["id"]),
                text(&p["familyName"]),
                text(&p["givenName"]),
                text(&p["familyNameKana"]),
                text(&p["givenNameKana"]),
                date(&p["birthDate"]),
                sex(&p["sex"]),
                text(&p["address"]),
                text(&p["phone"]),
                text(&p["district"]),
                text(&p["careLevel"]),
                text(&p["disabilityCertificate"]),
                text(&p["publicAssistance"]),
                text(&p["addressConfidential"]),
                categories.join(" "),
            ]);
        }
        let page = &persons["pageInfo"];
        if page["hasNextPage"] != true {
            break;
        }
        after = page["endCursor"].as_str().map(str::to_owned);
        if after.is_none() {
            break;
        }
    }
    let headers: Vec<&str> = PERSON_HEADERS
        .iter()
        .copied()
        .chain(["支援措置", "非開示区分"])
        .collect();
    let bytes = write(&headers, &rows, encoding)?;
    Ok(Export {
        bytes,
        rows: rows.len(),
        withheld_rows,
    })
}

/// A cell as written: `'` before a leading formula character (CSV injection).
pub fn guard(cell: &str) -> String {
    if cell.starts_with(crate::import::rows::FORMULA_STARTS) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// The CSV file: CRLF, UTF-8 with a BOM, or CP932 when every cell can be written in it.
fn write<const N: usize>(
    headers: &[&str],
    rows: &[[String; N]],
    encoding: Encoding,
) -> Result<Vec<u8>, Refused> {
    if encoding == Encoding::Cp932 {
        let mut bad = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            for (cell, header) in row.iter().zip(headers) {
                if let Err(chars) = encode_cp932(cell) {
                    bad.push(Unencodable {
                        line: i as u64 + 2,
                        column: (*header).to_owned(),
                        characters: chars.iter().map(|u| u.ch).collect(),
                    });
                }
            }
        }
        if !bad.is_empty() {
            return Err(Refused::Unencodable(bad));
        }
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let failed = |e: csv::Error| Refused::Api(ApiError::internal("export", e.to_string()));
    w.write_record(headers).map_err(failed)?;
    for row in rows {
        w.write_record(row.iter().map(|c| guard(c)))
            .map_err(failed)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| Refused::Api(ApiError::internal("export", e.to_string())))?;
    let text = String::from_utf8(body)
        .map_err(|e| Refused::Api(ApiError::internal("export", e.to_string())))?;
    match encoding {
        Encoding::Cp932 => encode_cp932(&text).map_err(|_| {
            Refused::Api(ApiError::internal(
                "export",
                "a cell passed the CP932 check",
            ))
        }),
        _ => Ok(crate::import::encoding::encode_utf8_with_bom(&text)),
    }
}
