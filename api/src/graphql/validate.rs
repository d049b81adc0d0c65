//! Text input checks shared by every resolver, per field kind. Each failure is
//! BAD_USER_INPUT naming `field`; [`Invalid`] collects every failure of one input so that all
//! are reported at once.
//!
//! - free text ([`required`], [`optional`]): trimmed, length-limited, no control characters
//!   (line breaks and tabs allowed). Nothing else is changed.
//! - one-line text as people type it ([`line`], [`optional_line`]: names, addresses,
//!   districts): also folded — full-width ASCII (U+FF01–FF5E) to ASCII (ＪＯＨＮ→JOHN,
//!   ９－２５→9-25), half-width katakana to full-width (ｽﾐｽ→スミス, [`kana::widen_half_width`]),
//!   every kind of space to one ASCII space — and invisible characters (zero-width, bidi and
//!   other format characters, fillers), line breaks, tabs and controls refused. Kanji
//!   (CJK compatibility ideographs such as U+FA19 included, and an ideographic variation sequence
//!   after a kanji), hiragana, full-width katakana and other symbols are kept as typed: this
//!   is deliberately narrower than NFKC.
//! - phone numbers ([`phone`]): half-width digits and '-' after folding full-width digits,
//!   the dash family, spaces and brackets.

use async_graphql::Context;

use crate::error::{ApiError, ApiResult};
use crate::kana;
use crate::store::{decode_cursor, CursorKind, Page, MAX_PAGE};

/// A client-supplied record id (a UUID), in its canonical form.
pub fn id(field: &str, id: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::bad_input(field, "不正なIDです / not a valid id"))
}

/// A list's page: `first` (1..=100, default 20) and `after`, which must be a cursor of this
/// list's kind that the hub handed out.
pub fn page(first: Option<i32>, after: Option<String>, kind: CursorKind) -> ApiResult<Page> {
    let first = first.unwrap_or(20);
    if !(1..=MAX_PAGE).contains(&first) {
        return Err(ApiError::bad_input(
            "first",
            format!("1 以上 {MAX_PAGE} 以下で指定してください / must be between 1 and {MAX_PAGE}"),
        ));
    }
    let after = after
        .map(|c| {
            decode_cursor(&c)
                .filter(|key| kind.accepts(key))
                .ok_or_else(|| ApiError::bad_input("after", "不正なカーソルです / invalid cursor"))
        })
        .transpose()?;
    Ok(Page {
        first: first as u64,
        after,
    })
}

fn check(field: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("{max} 文字以内 / at most {max} characters"),
        ));
    }
    if v.chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ApiError::bad_input(
            field,
            "制御文字は使えません / control characters are not allowed",
        ));
    }
    Ok(())
}

/// A time window's two ends, each open when absent.
pub type Window = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

/// A filter's time window, `[from, until)`, each RFC 3339 and optional: BAD_USER_INPUT
/// naming the field that does not parse, or `until` when it is not after `from`.
pub fn window(
    (from_field, from): (&str, Option<super::scalars::DateTime>),
    (until_field, until): (&str, Option<super::scalars::DateTime>),
) -> ApiResult<Window> {
    let from = from.map(|f| f.get(from_field)).transpose()?;
    let until = until.map(|u| u.get(until_field)).transpose()?;
    if let (Some(f), Some(u)) = (from, until) {
        if u <= f {
            return Err(ApiError::bad_input(
                until_field,
                format!("{from_field} より後にしてください / must be after {from_field}"),
            ));
        }
    }
    Ok((from, until))
}

/// A required text of at most `max` characters.
pub fn required(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::bad_input(field, "必須です / required"));
    }
    check(field, v, max)?;
    Ok(v.to_owned())
}

/// An optional text; empty counts as absent.
pub fn optional(field: &str, value: Option<&String>, max: usize) -> ApiResult<Option<String>> {
    match value.map(|v| v.trim()) {
        None | Some("") => Ok(None),
        Some(v) => {
            check(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}

/// Full-width ASCII (U+FF01–FF5E: Ｌａｔｉｎ, ０-９, ！…～) to ASCII, as NFKC does.
pub(crate) fn narrow_ascii(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A space of any width, folded to one ASCII space inside one-line text.
fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}'
    )
}

/// A character that shows nothing (or only changes how its neighbours show): zero-width
/// spaces and joiners, bidi controls, the soft hyphen, BOM, fillers, tags and variation
/// selectors (a variation selector right after a kanji is an 異体字 sequence and is kept).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// A kanji (CJK unified or compatibility ideograph), which an ideographic variation
/// selector may follow.
fn is_ideograph(c: char) -> bool {
    matches!(
        c,
        '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{3FFFF}'
            | '々'
            | '〆'
    )
}

/// One-line text as people type it, folded (see the module docs); None when empty.
fn fold_line(field: &str, value: &str, max: usize) -> ApiResult<Option<String>> {
    let widened = kana::widen_half_width(value.trim());
    let mut out = String::with_capacity(widened.len());
    let mut space = false;
    let mut prev: Option<char> = None;
    for c in widened.chars().map(narrow_ascii) {
        if is_space(c) {
            space = !out.is_empty();
            prev = None;
            continue;
        }
        if c.is_control() {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "改行・タブ・制御文字は使えません (1 行で入力してください) / line breaks, tabs and control characters are not allowed (one line): U+{:04X}",
                    c as u32
                ),
            ));
        }
        let ivs = is_variation_selector(c) && prev.is_some_and(is_ideograph);
        if is_invisible(c) && !ivs {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "見えない文字 (U+{:04X}) は使えません / invisible character U+{:04X} is not allowed",
                    c as u32, c as u32
                ),
            ));
        }
        if std::mem::take(&mut space) {
            out.push(' ');
        }
        out.push(c);
        prev = Some(c);
    }
    if out.is_empty() {
        return Ok(None);
    }
    check(field, &out, max)?;
    Ok(Some(out))
}

/// A required one-line text (a name, an address) of at most `max` characters after folding.
pub fn line(field: &str, value: &str, max: usize) -> ApiResult<String> {
    fold_line(field, value, max)?.ok_or_else(|| ApiError::bad_input(field, "必須です / required"))
}

/// An optional one-line text; empty counts as absent.
pub fn optional_line(field: &str, value: Option<&String>, max: usize) -> ApiResult<Option<String>> {
    match value {
        None => Ok(None),
        Some(v) => fold_line(field, v, max),
    }
}

/// Separators people put between the groups of a phone number: spaces, brackets and the
/// dash family (hyphen-minus, ‐ ‑ ‒ – — ― − ー ｰ ﹣ －).
fn is_phone_separator(c: char) -> bool {
    is_space(c)
        || matches!(
            c,
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | 'ー' | 'ｰ' | '\u{FE63}' | '(' | ')'
        )
}

/// Longest phone number stored, in characters (digits, '-' and a leading '+').
const PHONE_MAX: usize = 20;

/// An optional phone number as people type it, stored as half-width digits with '-' between
/// groups (and an optional leading '+'): full-width digits are narrowed, and every run of
/// spaces, brackets and dashes becomes one '-' (`０２３５－２２－１２３４`, `0235 22 1234`,
/// `(0235)22-1234` and `0235ー22ー1234` are all stored as `0235-22-1234`).
pub fn phone(field: &str, value: Option<&String>) -> ApiResult<Option<String>> {
    const RULE: &str = "電話番号は半角数字と - で入力してください (全角数字・空白・括弧・ー などは自動で直します) / a phone number is half-width digits and '-' (full-width digits, spaces, brackets and dashes are converted)";
    let Some(v) = value.map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let mut out = String::new();
    let mut separated = false;
    for c in v.chars().map(narrow_ascii) {
        match c {
            '0'..='9' => {
                if std::mem::take(&mut separated) && out.ends_with(|d: char| d.is_ascii_digit()) {
                    out.push('-');
                }
                out.push(c);
            }
            '+' if out.is_empty() => out.push('+'),
            c if is_phone_separator(c) => separated = true,
            c => {
                return Err(ApiError::bad_input(
                    field,
                    format!("{RULE}: {:?}", c.to_string()),
                ))
            }
        }
        if out.chars().count() > PHONE_MAX {
            return Err(ApiError::bad_input(
                field,
                format!("{PHONE_MAX} 文字以内 / at most {PHONE_MAX} characters"),
            ));
        }
    }
    if !out.ends_with(|d: char| d.is_ascii_digit()) {
        return Err(ApiError::bad_input(field, RULE));
    }
    Ok(Some(out))
}

/// Every invalid field of one input, so that all are reported at once, each as its own
/// GraphQL error with its own `extensions.field`, in the order they were checked.
#[derive(Default)]
pub struct Invalid(Vec<ApiError>);

impl Invalid {
    /// The value, or (remembering the error) a placeholder that is never written: once any
    /// error is remembered, [`Invalid::finish`] fails.
    pub fn check<T: Default>(&mut self, result: ApiResult<T>) -> T {
        result.unwrap_or_else(|e| {
            self.0.push(e);
            T::default()
        })
    }

    pub fn push(&mut self, error: ApiError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Ok when nothing was invalid, else the first error (for writers outside a request).
    pub fn first(self) -> ApiResult<()> {
        self.0.into_iter().next().map_or(Ok(()), Err)
    }

    /// Ok when nothing was invalid. Otherwise every error but the last is added to the
    /// response (at this field's path) and the last is returned, so the client sees one error
    /// per invalid field, in order, and the resolver writes nothing.
    pub fn finish(self, ctx: &Context<'_>) -> ApiResult<()> {
        let mut errors = self.0;
        let Some(last) = errors.pop() else {
            return Ok(());
        };
        for e in errors {
            let e = async_graphql::Error::from(e).into_server_error(ctx.item.pos);
            ctx.add_error(ctx.set_error_path(e));
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(s: &str) -> String {
        line("f", s, 300).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }

    fn phone_of(s: &str) -> ApiResult<Option<String>> {
        phone("p", Some(&s.to_owned()))
    }

    #[test]
    fn names_and_addresses_fold_width() {
        assert_eq!(folded("ＪＯＨＮ"), "JOHN");
        assert_eq!(folded("ｽﾐｽ"), "スミス");
        assert_eq!(folded("ｼﾞｮﾝ･ｽﾐｽ"), "ジョン・スミス");
        assert_eq!(folded("鶴岡市本町一丁目９－２５"), "鶴岡市本町一丁目9-25");
        assert_eq!(folded("　山田\u{3000}\u{3000}太郎 "), "山田 太郎");
        assert_eq!(folded("ﾊﾟｰｸﾊｲﾂ１０１号"), "パークハイツ101号");
        // Kept as typed: kanji (compatibility ideographs too), kana, an IVS after a kanji.
        for kept in [
            "髙橋",
            "﨑山",
            "神\u{FA19}",
            "葛\u{E0100}城",
            "やまだ",
            "ヤマダ",
            "①",
        ] {
            assert_eq!(folded(kept), kept);
        }
    }

    /// What the folding changes, it changes as NFKC would; what it keeps, NFKC would change
    /// (which is why NFKC is not applied as a whole).
    #[test]
    fn folding_agrees_with_nfkc_where_it_folds() {
        use unicode_normalization::UnicodeNormalization;
        let nfkc = |s: &str| s.nfkc().collect::<String>();
        // Full-width ASCII and half-width katakana (the voicing marks alone aside: NFKC makes
        // them combining marks with nothing to combine with; here they become ゛ ゜).
        for c in ('\u{FF01}'..='\u{FF5E}').chain('\u{FF61}'..='\u{FF9D}') {
            let s = format!("あ{c}");
            assert_eq!(folded(&s), nfkc(&s), "U+{:04X}", c as u32);
        }
        for s in [
            "ｶﾞｷﾞｸﾞ",
            "ﾊﾟﾋﾟﾌﾟ",
            "ｳﾞ",
            "か\u{3099}",
            "ﾊﾞｲｵﾘﾝ１２３",
            "ＪＯＨＮ　ｽﾐｽ",
        ] {
            assert_eq!(folded(s), nfkc(s), "{s}");
        }
        // Kept as typed, where NFKC would replace them.
        // 神 U+FA19 (a CJK compatibility ideograph: NFC and NFKC give U+795E), ①, ㈱, ㍻,
        // ヿ (コト), an IVS after a kanji (NFKC keeps it, listed for the record), 﨑 U+FA11
        // (a compatibility-block character that NFKC keeps).
        for kept in ["\u{FA19}", "①", "㈱", "㍻", "ヿ", "葛\u{E0100}", "\u{FA11}"] {
            assert_eq!(folded(kept), kept);
        }
        for changed_by_nfkc in ["\u{FA19}", "①", "㈱", "㍻", "ヿ"] {
            assert_ne!(nfkc(changed_by_nfkc), changed_by_nfkc);
        }
        assert_ne!("\u{FA19}".nfc().collect::<String>(), "\u{FA19}", "even NFC");
    }

    #[test]
    fn invisible_and_control_refused() {
        for bad in [
            "山\u{200B}田",
            "山田\u{FEFF}",
            "\u{202E}山田",
            "山\u{00AD}田",
            "山\n田",
            "山\t田",
            "a\u{FE0F}",
            "\u{3164}",
        ] {
            let e = line("input.familyName", bad, 100);
            assert!(
                matches!(&e, Err(ApiError::BadInput { field, .. }) if field == "input.familyName"),
                "{bad:?}: {e:?}"
            );
        }
        assert!(line("f", " \u{3000} ", 100).is_err());
        assert_eq!(optional_line("f", Some(&" ".to_owned()), 100), Ok(None));
    }

    #[test]
    fn phones_fold_to_half_width_digits_and_dashes() {
        for typed in [
            "０２３５－２２－１２３４",
            "0235 22 1234",
            "(0235)22-1234",
            "（０２３５）２２－１２３４",
            "0235ー22ー1234",
            "0235‐22−1234",
            "0235–22—1234",
            "0235　22　1234",
            "0235-22-1234",
        ] {
            assert_eq!(
                phone_of(typed),
                Ok(Some("0235-22-1234".to_owned())),
                "{typed}"
            );
        }
        assert_eq!(
            phone_of("090ー1234ー5678"),
            Ok(Some("090-1234-5678".to_owned()))
        );
        assert_eq!(
            phone_of("＋81 235 22 1234"),
            Ok(Some("+81-235-22-1234".to_owned()))
        );
        assert_eq!(phone_of("  "), Ok(None));
        for bad in [
            "call me",
            "0235-22-1234 内線5",
            "12+3",
            "-",
            "()",
            "٠١٢",
            &"1".repeat(21),
        ] {
            let e = phone_of(bad);
            assert!(
                matches!(&e, Err(ApiError::BadInput { message, .. }) if message.contains("半角") || message.contains("20")),
                "{bad:?}: {e:?}"
            );
        }
    }
}
