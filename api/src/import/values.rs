//! One cell of an imported row, checked and normalised exactly as the equivalent mutation
//! stores it (`graphql::validate`, `kana::normalize_kana`, createPerson's birth-date rule),
//! so that an imported person is indistinguishable from one registered through the API.
//! Each failure is its reason (Japanese / English); the row reader adds line and column.

use chrono::NaiveDate;

use super::date::parse_date;
use crate::error::ApiError;
use crate::graphql::enums::Sex;
use crate::graphql::validate;
use crate::kana;

use crate::graphql::person_mutation::{birth_date_in_range, ADDRESS_MAX, DISTRICT_MAX, NAME_MAX};

/// The reason of a validation error, without the field (the row reader names the column).
fn reason(e: ApiError) -> String {
    match e {
        ApiError::BadInput { message, .. } => message,
        other => other.message(),
    }
}

/// A family or given name: one line, folded as createPerson folds it.
pub fn name_part(value: &str) -> Result<String, String> {
    validate::line("", value, NAME_MAX).map_err(reason)
}

/// A full name in one column (山田 太郎, 山田　太郎): family and given name, split at the
/// first space of any width. A name without a space cannot be split and is refused.
pub fn full_name(value: &str) -> Result<(String, String), String> {
    let folded = validate::line("", value, 2 * NAME_MAX + 1).map_err(reason)?;
    let (family, given) = folded.split_once(' ').ok_or_else(|| {
        "姓と名の間に空白がありません (例: 山田 太郎) / no space between family and given name (e.g. 山田 太郎)".to_owned()
    })?;
    Ok((name_part(family)?, name_part(given)?))
}

/// A reading, as createPerson stores it: full-width katakana (half-width kana widened,
/// hiragana converted), words separated by one space.
pub fn kana_part(value: &str) -> Result<String, String> {
    kana::normalize_kana(value).map_err(|e| e.to_string())
}

/// Both readings in one column (ヤマダ タロウ, やまだ　たろう, ﾔﾏﾀﾞ ﾀﾛｳ), split at the first
/// space.
pub fn full_kana(value: &str) -> Result<(String, String), String> {
    let normalised = kana_part(value)?;
    let (family, given) = normalised.split_once(' ').ok_or_else(|| {
        "姓と名の読みの間に空白がありません (例: ヤマダ タロウ) / no space between the family and given name readings (e.g. ヤマダ タロウ)".to_owned()
    })?;
    Ok((family.to_owned(), given.to_owned()))
}

/// 性別: 男 / 男性 / 1 / M → MALE, 女 / 女性 / 2 / F → FEMALE (ISO 5218's 1 and 2), 不明 / 0
/// / blank → UNKNOWN, その他 → OTHER; the GraphQL values (MALE …) too, any case or width.
pub fn sex(value: &str) -> Result<Sex, String> {
    let folded: String = value
        .trim()
        .chars()
        .map(validate::narrow_ascii)
        .collect::<String>()
        .to_ascii_uppercase();
    match folded.as_str() {
        "男" | "男性" | "1" | "M" | "MALE" => Ok(Sex::Male),
        "女" | "女性" | "2" | "F" | "FEMALE" => Ok(Sex::Female),
        "" | "不明" | "0" | "UNKNOWN" => Ok(Sex::Unknown),
        "その他" | "OTHER" => Ok(Sex::Other),
        _ => Err(format!(
            "性別は 男/女/男性/女性/1/2/M/F/不明/その他 のいずれかです: {:?} / sex must be one of 男, 女, 男性, 女性, 1, 2, M, F, 不明, その他",
            value.trim()
        )),
    }
}

/// A birth date in any accepted form (see `date`), neither in the future (after `today`)
/// nor before 1880, as createPerson requires; blank is None.
pub fn birth_date(value: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let d = parse_date(value).map_err(|e| e.to_string())?;
    birth_date_in_range(d, today)
        .map(Some)
        .map_err(str::to_owned)
}

/// An optional address, one line, folded.
pub fn address(value: &str) -> Result<Option<String>, String> {
    validate::optional_line("", Some(&value.to_owned()), ADDRESS_MAX).map_err(reason)
}

/// An optional district, one line, folded.
pub fn district(value: &str) -> Result<Option<String>, String> {
    validate::optional_line("", Some(&value.to_owned()), DISTRICT_MAX).map_err(reason)
}

/// An optional phone number, stored as half-width digits and '-'.
pub fn phone(value: &str) -> Result<Option<String>, String> {
    validate::phone("", Some(&value.to_owned())).map_err(reason)
}

/// The agency system's id of a record (宛名番号): required where its column is present,
/// and compared exactly as `upsertPerson(ref:)` compares it (1–255 characters, no control
/// characters), so a record imported from a file and one sent by the agency's software under
/// the same system name are the same record. Only the spaces around it are trimmed (Excel
/// pads cells); a full-width id stays full-width, as the API keeps it.
pub fn external_id(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        return Err("値が必要です / a value is required".to_owned());
    }
    crate::graphql::external_ref::external_id("", value.trim()).map_err(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_split_at_any_space() {
        let yamada = Ok(("山田".to_owned(), "太郎".to_owned()));
        assert_eq!(full_name("山田 太郎"), yamada);
        assert_eq!(full_name("山田\u{3000}太郎"), yamada);
        assert_eq!(full_name(" 山田　　太郎 "), yamada);
        assert_eq!(
            full_name("髙橋 ｶﾀｶﾅ"),
            Ok(("髙橋".to_owned(), "カタカナ".to_owned()))
        );
        assert_eq!(
            full_name("スミス ジョン ポール"),
            Ok(("スミス".to_owned(), "ジョン ポール".to_owned()))
        );
        assert!(full_name("山田太郎").unwrap_err().contains("no space"));
        assert!(full_name("山田\u{200B} 太郎")
            .unwrap_err()
            .contains("invisible"));
        assert!(full_name("").is_err());
    }

    #[test]
    fn kana_is_stored_as_full_width_katakana() {
        let yamada = Ok(("ヤマダ".to_owned(), "タロウ".to_owned()));
        assert_eq!(full_kana("ﾔﾏﾀﾞ ﾀﾛｳ"), yamada);
        assert_eq!(full_kana("やまだ　たろう"), yamada);
        assert_eq!(full_kana("ヤマダ タロウ"), yamada);
        assert_eq!(kana_part("ｶﾀｶﾅ"), Ok("カタカナ".to_owned()));
        assert_eq!(kana_part("ぱーく"), Ok("パーク".to_owned()));
        assert!(full_kana("ヤマダタロウ").unwrap_err().contains("no space"));
        assert!(kana_part("山田").unwrap_err().contains("non-kana"));
    }

    #[test]
    fn sex_values() {
        for v in ["男", "男性", "1", "M", "m", "Ｍ", "１", "MALE"] {
            assert_eq!(sex(v), Ok(Sex::Male), "{v}");
        }
        for v in ["女", "女性", "2", "F", "f", "Ｆ", "２", "female"] {
            assert_eq!(sex(v), Ok(Sex::Female), "{v}");
        }
        assert_eq!(sex(""), Ok(Sex::Unknown));
        assert_eq!(sex("不明"), Ok(Sex::Unknown));
        assert_eq!(sex("その他"), Ok(Sex::Other));
        assert!(sex("3").unwrap_err().contains("sex must be"));
    }

    #[test]
    fn birth_dates_follow_create_person() {
        let today = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        assert_eq!(
            birth_date("昭和50年4月1日", today),
            Ok(NaiveDate::from_ymd_opt(1975, 4, 1))
        );
        assert_eq!(birth_date(" ", today), Ok(None));
        assert_eq!(
            birth_date("R6.6.2", today),
            Err("未来の日付です / in the future".to_owned())
        );
        assert_eq!(
            birth_date("1879/12/31", today),
            Err("日付が古すぎます / too early".to_owned())
        );
        assert!(birth_date("H31.5.1", today)
            .unwrap_err()
            .contains("令和元年5月1日"));
    }

    #[test]
    fn texts_fold_as_the_mutations_do() {
        assert_eq!(
            phone("０２３５－２２－１２３４"),
            Ok(Some("0235-22-1234".to_owned()))
        );
        assert_eq!(phone(""), Ok(None));
        assert!(phone("call me").is_err());
        assert_eq!(
            address("鶴岡市本町一丁目９－２５　㈱ビル①"),
            Ok(Some("鶴岡市本町一丁目9-25 ㈱ビル①".to_owned()))
        );
        assert_eq!(address(""), Ok(None));
        assert_eq!(external_id(" A00123 "), Ok("A00123".to_owned()));
        assert_eq!(external_id("Ａ００１"), Ok("Ａ００１".to_owned()));
        assert!(external_id(&"9".repeat(256)).is_err());
        assert_eq!(external_id(&"9".repeat(255)), Ok("9".repeat(255)));
        assert!(external_id("").unwrap_err().contains("required"));
        assert_eq!(district("ｷﾀ地区"), Ok(Some("キタ地区".to_owned())));
    }
}
