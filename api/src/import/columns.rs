//! Which column of a CSV file holds which field: Japanese and English headers for each
//! [`Kind`] of import, matched case- and width-insensitively ([`header_key`]), with a
//! caller's [`Mapping`] (header → field, or ignored) taking precedence.
//!
//! A header that looks like the My Number (マイナンバー, 個人番号, my_number) refuses the
//! whole file, mapped or not: the hub never receives the 個人番号 (番号法 limits its use to
//! the purposes it lists). The agency system's own id (宛名番号, 住民番号, 管理番号,
//! external_id, id) is what identifies a row.

pub use super::mapping::Mapping;
use super::RowError;
use crate::kana;

/// What a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Persons,
    Households,
    Memberships,
    Consultations,
    Consents,
}

impl Kind {
    /// `persons`, `households`, `memberships`, `consultations`, `consents`.
    pub fn parse(text: &str) -> Option<Kind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "persons" => Some(Kind::Persons),
            "households" => Some(Kind::Households),
            "memberships" => Some(Kind::Memberships),
            "consultations" => Some(Kind::Consultations),
            "consents" => Some(Kind::Consents),
            _ => None,
        }
    }

    /// `persons`, `households`, `memberships`, `consultations`, `consents`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Persons => "persons",
            Kind::Households => "households",
            Kind::Memberships => "memberships",
            Kind::Consultations => "consultations",
            Kind::Consents => "consents",
        }
    }

    /// The fields a file of this kind may have, in the order rows report them.
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Kind::Persons => &[
                ExternalId,
                FullName,
                FullNameKana,
                FamilyName,
                GivenName,
                FamilyNameKana,
                GivenNameKana,
                BirthDate,
                Sex,
                Address,
                Phone,
                District,
                Withheld,
            ],
            // A household is its members (the hub keeps addresses on persons): both kinds
            // read member rows, grouped by 世帯番号.
            Kind::Households | Kind::Memberships => {
                &[HouseholdId, PersonRef, Relationship, IsHead, JoinedOn]
            }
            Kind::Consultations => &[
                RecordId,
                PersonRef,
                HouseholdId,
                ReceivedOn,
                Channel,
                Summary,
                Urgency,
                Issues,
            ],
            Kind::Consents => &[
                RecordId,
                PersonRef,
                GivenBy,
                ProxyName,
                ProxyRelationship,
                Categories,
                Purpose,
                RecipientKinds,
                ValidFrom,
                ValidUntil,
            ],
        }
    }

    /// Fields every file of this kind must have (persons' names are checked by
    /// [`map_headers`]: a full-name column or both parts).
    fn required(self) -> &'static [Field] {
        use Field::*;
        match self {
            Kind::Persons => &[],
            Kind::Households | Kind::Memberships => &[HouseholdId, PersonRef, Relationship],
            Kind::Consultations => &[PersonRef, ReceivedOn, Summary],
            Kind::Consents => &[PersonRef, Categories, Purpose, ValidFrom],
        }
    }
}

/// A field an import column can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The person's id in the agency system (宛名番号): the external reference.
    ExternalId,
    /// 氏名, family and given name in one column, separated by a space.
    FullName,
    /// 氏名カナ, both readings in one column, separated by a space.
    FullNameKana,
    FamilyName,
    GivenName,
    FamilyNameKana,
    GivenNameKana,
    BirthDate,
    Sex,
    Address,
    Phone,
    District,
    /// 世帯番号: the household's id in the agency system.
    HouseholdId,
    /// The person a membership, consultation or consent row is about, by their external id.
    PersonRef,
    Relationship,
    IsHead,
    JoinedOn,
    /// A consultation's or consent's own id in the agency system.
    RecordId,
    ReceivedOn,
    Channel,
    Summary,
    Urgency,
    Issues,
    GivenBy,
    ProxyName,
    ProxyRelationship,
    Categories,
    Purpose,
    RecipientKinds,
    ValidFrom,
    ValidUntil,
    /// 非開示区分: the hub's export names here the categories it withheld from the row. A
    /// row with any is refused: its empty cells are "not shown", not "blank", and importing
    /// them would erase or invent data.
    Withheld,
}

const ALL: [Field; 32] = {
    use Field::*;
    [
        ExternalId,
        FullName,
        FullNameKana,
        FamilyName,
        GivenName,
        FamilyNameKana,
        GivenNameKana,
        BirthDate,
        Sex,
        Address,
        Phone,
        District,
        HouseholdId,
        PersonRef,
        Relationship,
        IsHead,
        JoinedOn,
        RecordId,
        ReceivedOn,
        Channel,
        Summary,
        Urgency,
        Issues,
        GivenBy,
        ProxyName,
        ProxyRelationship,
        Categories,
        Purpose,
        RecipientKinds,
        ValidFrom,
        ValidUntil,
        Withheld,
    ]
};

impl Field {
    /// The English name (mapping files, English headers): `family_name_kana`.
    pub fn name(self) -> &'static str {
        self.names().1[0]
    }

    /// The Japanese name, as error reports show it: 姓カナ.
    pub fn label(self) -> &'static str {
        self.names().0[0]
    }

    /// By English name (as [`Field::name`] gives it, any case or width).
    pub fn from_name(name: &str) -> Option<Field> {
        let key = header_key(name);
        ALL.into_iter().find(|f| header_key(f.name()) == key)
    }

    /// Japanese and English headers, the first of each being the label and the name.
    fn names(self) -> (&'static [&'static str], &'static [&'static str]) {
        use Field::*;
        match self {
            ExternalId => (
                &[
                    "宛名番号",
                    "宛名コード",
                    "住民番号",
                    "住民コード",
                    "管理番号",
                ],
                &["external_id", "id"],
            ),
            FullName => (
                &["氏名", "名前", "お名前", "漢字氏名", "氏名漢字"],
                &["full_name", "name"],
            ),
            FullNameKana => (
                &[
                    "氏名カナ",
                    "カナ氏名",
                    "フリガナ",
                    "ふりがな",
                    "氏名フリガナ",
                    "カナ",
                ],
                &["full_name_kana", "name_kana", "kana"],
            ),
            FamilyName => (
                &["姓", "氏", "苗字"],
                &["family_name", "last_name", "surname"],
            ),
            GivenName => (&["名"], &["given_name", "first_name"]),
            FamilyNameKana => (
                &["姓カナ", "姓フリガナ", "セイ"],
                &["family_name_kana", "last_name_kana"],
            ),
            GivenNameKana => (
                &["名カナ", "名フリガナ", "メイ"],
                &["given_name_kana", "first_name_kana"],
            ),
            BirthDate => (
                &["生年月日", "誕生日"],
                &["birth_date", "date_of_birth", "dob"],
            ),
            Sex => (&["性別"], &["sex", "gender"]),
            Address => (&["住所", "現住所"], &["address"]),
            Phone => (
                &["電話番号", "電話", "連絡先", "TEL"],
                &["phone", "phone_number", "telephone"],
            ),
            District => (
                &["地区", "地区名", "行政区", "圏域", "日常生活圏域"],
                &["district"],
            ),
            HouseholdId => (
                &["世帯番号", "世帯コード"],
                &["household_id", "household_number"],
            ),
            PersonRef => (
                &["宛名番号", "宛名コード", "住民番号", "住民コード"],
                &["person_external_id", "person_id"],
            ),
            Relationship => (&["続柄"], &["relationship"]),
            IsHead => (&["世帯主"], &["is_head"]),
            JoinedOn => (&["加入日", "異動日"], &["joined_on"]),
            RecordId => (
                &["記録番号", "相談番号", "受付番号", "同意番号", "管理番号"],
                &["record_id", "external_id", "id"],
            ),
            ReceivedOn => (
                &["受付日", "相談日", "受付日時"],
                &["received_on", "received_at"],
            ),
            Channel => (&["受付経路", "相談方法"], &["channel"]),
            Summary => (&["相談内容", "内容", "概要"], &["summary"]),
            Urgency => (&["緊急度"], &["urgency"]),
            Issues => (&["課題", "課題コード"], &["issues"]),
            GivenBy => (&["同意者"], &["given_by"]),
            ProxyName => (&["代理人氏名", "代理人"], &["proxy_name"]),
            ProxyRelationship => (&["代理人続柄"], &["proxy_relationship"]),
            Categories => (&["同意区分", "情報区分"], &["categories"]),
            Purpose => (&["利用目的", "目的"], &["purpose"]),
            RecipientKinds => (&["提供先", "提供先種別"], &["recipient_agency_kinds"]),
            ValidFrom => (&["同意日", "有効期間開始"], &["valid_from"]),
            ValidUntil => (&["有効期限", "有効期間終了"], &["valid_until"]),
            Withheld => (&["非開示区分"], &["withheld"]),
        }
    }

    fn matches(self, key: &str) -> bool {
        let (ja, en) = self.names();
        ja.iter().chain(en).any(|alias| header_key(alias) == key)
    }
}

/// A header as compared: half-width kana widened, full-width ASCII narrowed, ASCII
/// lower-cased, and spaces, `_`, `-`, `.`, `・`, brackets and a stray BOM removed
/// (`Family_Name`, `ｆａｍｉｌｙ ｎａｍｅ`, `familyName` and ` family-name ` are one key;
/// `ﾌﾘｶﾞﾅ` is `フリガナ`, `氏名（カナ）` is `氏名カナ`).
pub fn header_key(header: &str) -> String {
    kana::widen_half_width(header)
        .chars()
        .map(crate::graphql::validate::narrow_ascii)
        .filter(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    '_' | '-'
                        | '.'
                        | '・'
                        | '('
                        | ')'
                        | '['
                        | ']'
                        | '【'
                        | '】'
                        | '「'
                        | '」'
                        | '\u{FEFF}'
                )
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A header that names the My Number (個人番号), which is never imported.
pub fn is_my_number(header: &str) -> bool {
    let key = header_key(header);
    [
        "マイナンバー",
        "個人番号",
        "mynumber",
        "individualnumber",
        "kojinbango",
    ]
    .iter()
    .any(|m| key.contains(m))
}

/// Each column's field (None: ignored or blank header), from a file's header row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns {
    pub kind: Kind,
    /// The headers as written in the file.
    pub headers: Vec<String>,
    fields: Vec<Option<Field>>,
    /// Columns whose header is blank: a value under one is an error of its row.
    blank: Vec<usize>,
}

impl Columns {
    /// The column holding `field`.
    pub fn index_of(&self, field: Field) -> Option<usize> {
        self.fields.iter().position(|f| *f == Some(field))
    }

    pub fn has(&self, field: Field) -> bool {
        self.index_of(field).is_some()
    }

    /// The field of column `index`.
    pub fn field(&self, index: usize) -> Option<Field> {
        self.fields.get(index).copied().flatten()
    }

    /// The header of the column holding `field`, as written (or the field's label).
    pub fn header_of(&self, field: Field) -> String {
        self.index_of(field)
            .and_then(|i| self.headers.get(i).cloned())
            .unwrap_or_else(|| field.label().to_owned())
    }

    /// Columns with a blank header.
    pub fn blank(&self) -> &[usize] {
        &self.blank
    }
}

/// The columns of a file of `kind` with this header row, or every problem with it (each
/// as an error of line 1): a My Number column, an unknown or repeated header, a required
/// field missing.
pub fn map_headers(
    kind: Kind,
    headers: &[&str],
    mapping: &Mapping,
) -> Result<Columns, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fields = Vec::with_capacity(headers.len());
    let mut blank = Vec::new();
    for (i, header) in headers.iter().enumerate() {
        let key = header_key(header);
        let column = Some(header.trim().to_owned());
        let found = if is_my_number(header) {
            errors.push(RowError::new(
                1,
                column,
                "マイナンバー (個人番号) は取り込めません。この列を削除したファイルで取り込んでください / the My Number (個人番号) is never imported: remove this column from the file",
            ));
            None
        } else if key.is_empty() {
            blank.push(i);
            None
        } else if let Some(target) = mapping.lookup(&key) {
            if target.is_some_and(|f| !kind.fields().contains(&f)) {
                errors.push(RowError::new(
                    1,
                    column,
                    format!(
                        "対応表の項目 {} はこの種類の取り込みにはありません / the mapped field {} is not part of a {kind:?} import",
                        target.map_or("", Field::name),
                        target.map_or("", Field::name),
                    ),
                ));
                None
            } else {
                target
            }
        } else if let Some(f) = kind.fields().iter().copied().find(|f| f.matches(&key)) {
            Some(f)
        } else if kind == Kind::Persons
            && crate::export::EXPORT_ONLY
                .iter()
                .any(|h| header_key(h) == key)
        {
            // A column of the hub's own export that the import does not set (the hub's id,
            // the special-care fields): an export imports again as it is.
            None
        } else {
            errors.push(RowError::new(
                1,
                column,
                "不明な見出しです (対応表で項目を指定するか、無視する列として指定してください) / unknown header: map it to a field or list it as ignored",
            ));
            None
        };
        if let Some(f) = found {
            if let Some(first) = fields.iter().position(|g| *g == Some(f)) {
                errors.push(RowError::new(
                    1,
                    Some(header.trim().to_owned()),
                    format!(
                        "{label} の列が2つあります ({}列目と{}列目) / two columns for {name} (columns {} and {})",
                        first + 1,
                        i + 1,
                        first + 1,
                        i + 1,
                        label = f.label(),
                        name = f.name(),
                    ),
                ));
            }
        }
        fields.push(found);
    }
    let columns = Columns {
        kind,
        headers: headers.iter().map(|h| h.trim().to_owned()).collect(),
        fields,
        blank,
    };
    for field in kind.required() {
        if !columns.has(*field) {
            errors.push(missing(*field));
        }
    }
    if kind == Kind::Persons {
        person_names(&columns, &mut errors);
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

fn missing(field: Field) -> RowError {
    RowError::new(
        1,
        Some(field.label().to_owned()),
        format!(
            "{} の列がありません / no column for {}",
            field.label(),
            field.name()
        ),
    )
}

/// A person's name and reading: in one column or in two, not both.
fn person_names(columns: &Columns, errors: &mut Vec<RowError>) {
    use Field::*;
    for (full, parts) in [
        (FullName, [FamilyName, GivenName]),
        (FullNameKana, [FamilyNameKana, GivenNameKana]),
    ] {
        let present = parts.map(|p| columns.has(p));
        if columns.has(full) && present.iter().any(|p| *p) {
            errors.push(RowError::new(
                1,
                Some(columns.header_of(full)),
                format!(
                    "{} と {}/{} の両方があります。どちらかを無視する列にしてください / both {} and {}/{}: list one as ignored",
                    full.label(),
                    parts[0].label(),
                    parts[1].label(),
                    full.name(),
                    parts[0].name(),
                    parts[1].name()
                ),
            ));
        } else if !columns.has(full) {
            if present == [false, false] {
                errors.push(missing(full));
            } else {
                for (part, here) in parts.iter().zip(present) {
                    if !here {
                        errors.push(missing(*part));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "columns_tests.rs"]
mod tests;
