//! Validation and normalisation of name readings (ふりがな) for welfare records.
//!
//! [`normalize_kana`] turns user input (hiragana, katakana, half-width katakana) into the
//! full-width katakana stored and displayed (保存・表示用の全角カタカナ), rejecting anything
//! that is not kana. [`match_key`] derives a looser key used for 名寄せ (record matching).

use std::fmt;

/// Maximum length of a normalised reading, in chars (ふりがなの最大文字数).
const MAX_LEN: usize = 100;

/// Half-width katakana U+FF66..=U+FF9D in code-point order, as full-width katakana.
const HALF_WIDTH: &str = "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";

/// Why a kana string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KanaError {
    /// Nothing left after trimming spaces (未入力).
    Empty,
    /// the first offending character and its 0-based char index
    NotKana { ch: char, index: usize },
    /// Longer than `max` chars after normalisation (文字数超過).
    TooLong { max: usize },
}

impl fmt::Display for KanaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KanaError::Empty => write!(f, "ふりがなが入力されていません / reading is empty"),
            KanaError::NotKana { ch, index } => write!(
                f,
                "カナ以外の文字が含まれています / non-kana character '{}' at position {index}",
                ch.escape_debug()
            ),
            KanaError::TooLong { max } => write!(
                f,
                "ふりがなは{max}文字以内で入力してください / reading is longer than {max} characters"
            ),
        }
    }
}

impl std::error::Error for KanaError {}

/// A voicing mark (濁点 / 半濁点) in any of its half-width, combining or spacing forms.
enum Mark {
    Voiced,
    SemiVoiced,
}

fn mark_of(c: char) -> Option<Mark> {
    match c {
        '\u{FF9E}' | '\u{3099}' | '\u{309B}' => Some(Mark::Voiced),
        '\u{FF9F}' | '\u{309A}' | '\u{309C}' => Some(Mark::SemiVoiced),
        _ => None,
    }
}

/// Maps a kana letter (not ー, ・ or a mark) to its full-width katakana form.
fn to_katakana(c: char) -> Option<char> {
    match c {
        '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60),
        'ゝ' => Some('ヽ'),
        'ゞ' => Some('ヾ'),
        '\u{30A1}'..='\u{30FA}' | 'ヽ' | 'ヾ' => Some(c),
        '\u{FF66}'..='\u{FF6F}' | '\u{FF71}'..='\u{FF9D}' => {
            HALF_WIDTH.chars().nth((c as u32 - 0xFF66) as usize)
        }
        _ => None,
    }
}

/// Joins a voicing mark into a full-width katakana letter (カ+゛→ガ), if that letter takes it.
fn compose(base: char, mark: Mark) -> Option<char> {
    let shift = match mark {
        Mark::Voiced if "カキクケコサシスセソタチツテト".contains(base) => 1,
        Mark::Voiced if "ハヒフヘホヽ".contains(base) => 1,
        Mark::Voiced if "ワヰヱヲ".contains(base) => 8,
        Mark::Voiced if base == 'ウ' => return Some('ヴ'),
        Mark::SemiVoiced if "ハヒフヘホ".contains(base) => 2,
        _ => return None,
    };
    char::from_u32(base as u32 + shift)
}

/// Normalises a reading for storage (保存用の正規化): full-width katakana, words separated by
/// one ASCII space.
///
/// * half-width katakana → full-width, with a following ﾞ / ﾟ joined (ｶﾞ→ガ, ﾊﾟ→パ, ｳﾞ→ヴ);
///   combining (U+3099/U+309A) and spacing (U+309B/U+309C) marks right after a kana are
///   joined the same way; a mark that cannot be joined is rejected;
/// * hiragana → katakana, ゝゞ → ヽヾ;
/// * U+3000, ASCII space and tab separate words: trimmed, runs collapsed to one space;
/// * ー and ｰ → ー; the look-alikes '－' '‐' '―' '-' → ー only directly after a kana or ー;
/// * ・ and ･ → ・ (foreign names, 外国人名の区切り).
///
/// Anything else is rejected with the original char and its 0-based char index. Input is
/// checked in order, so `TooLong` is reported as soon as the output exceeds 100 chars.
pub fn normalize_kana(input: &str) -> Result<String, KanaError> {
    let mut out: Vec<char> = Vec::new();
    // A word separator is pending (only set once something has been output).
    let mut space = false;
    // The last output char came from the previous input char and may take a voicing mark.
    let mut joinable = false;
    for (index, ch) in input.chars().enumerate() {
        let not_kana = KanaError::NotKana { ch, index };
        let was_joinable = std::mem::replace(&mut joinable, false);
        if matches!(ch, ' ' | '\t' | '\u{3000}') {
            space = !out.is_empty();
            continue;
        }
        if let Some(mark) = mark_of(ch) {
            match out.last_mut() {
                Some(last) if was_joinable => *last = compose(*last, mark).ok_or(not_kana)?,
                _ => return Err(not_kana),
            }
            continue;
        }
        let c = if let Some(k) = to_katakana(ch) {
            joinable = true;
            k
        } else if matches!(ch, 'ー' | 'ｰ') {
            'ー'
        } else if matches!(ch, '－' | '‐' | '―' | '-') {
            // Only directly after a kana or ー (out never ends with a space).
            if space || matches!(out.last(), None | Some('・')) {
                return Err(not_kana);
            }
            'ー'
        } else if matches!(ch, '・' | '･') {
            '・'
        } else {
            return Err(not_kana);
        };
        if std::mem::take(&mut space) {
            out.push(' ');
        }
        out.push(c);
        if out.len() > MAX_LEN {
            return Err(KanaError::TooLong { max: MAX_LEN });
        }
    }
    if out.is_empty() {
        return Err(KanaError::Empty);
    }
    Ok(out.into_iter().collect())
}

/// Widens half-width katakana in running text (names, addresses): ｽﾐｽ→スミス, with a
/// following ﾞ / ﾟ joined as in [`normalize_kana`] (ｶﾞ→ガ, ﾊﾟ→パ, ｳﾞ→ヴ), and the
/// half-width punctuation ｡｢｣､･ｰ → 。「」、・ー. A combining or spacing voicing mark right
/// after a kana that takes it is joined too (か+U+3099→が, カ゛→ガ); a half-width mark that
/// cannot be joined becomes the spacing mark ゛ / ゜. Every other character is unchanged
/// (this is not NFKC: kanji, full-width katakana and hiragana are left as typed).
pub fn widen_half_width(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    // The last output char came from the previous input char and may take a voicing mark.
    let mut joinable = false;
    for ch in input.chars() {
        let was_joinable = std::mem::replace(&mut joinable, false);
        if let Some(mark) = mark_of(ch) {
            if let Some(last) = out.pop() {
                let joined = if was_joinable {
                    join_in_script(last, mark)
                } else {
                    None
                };
                match joined {
                    Some(c) => {
                        out.push(c);
                        continue;
                    }
                    None => out.push(last),
                }
            }
            out.push(match ch {
                '\u{FF9E}' => '゛',
                '\u{FF9F}' => '゜',
                other => other,
            });
            continue;
        }
        let c = match ch {
            '\u{FF61}' => '。',
            '\u{FF62}' => '「',
            '\u{FF63}' => '」',
            '\u{FF64}' => '、',
            '\u{FF65}' => '・',
            '\u{FF70}' => 'ー',
            _ => match to_katakana(ch) {
                Some(k) => {
                    joinable = true;
                    // Hiragana and full-width katakana stay as typed.
                    if ('\u{FF66}'..='\u{FF9D}').contains(&ch) {
                        k
                    } else {
                        ch
                    }
                }
                None => ch,
            },
        };
        out.push(c);
    }
    out
}

/// [`compose`] for a hiragana or katakana letter, keeping its script (は+゚→ぱ, ハ+゚→パ).
fn join_in_script(base: char, mark: Mark) -> Option<char> {
    let kata = to_katakana(base)?;
    let joined = compose(kata, mark)?;
    if kata == base {
        return Some(joined);
    }
    // Hiragana: back from katakana, if the voiced letter has a hiragana form (ヷ has none).
    char::from_u32(joined as u32 - 0x60)
        .filter(|h| ('\u{3041}'..='\u{3096}').contains(h) || matches!(h, 'ゝ' | 'ゞ'))
}

/// Matching key for 名寄せ (record matching), from a normalised or raw reading.
///
/// Applies [`normalize_kana`], then removes spaces and ・, folds small kana to large
/// (ァ→ア, ッ→ツ, ヵ→カ …), ヲ→オ, ヰ→イ, ヱ→エ, ヂ→ジ, ヅ→ズ, ヴ→ブ, and collapses runs of ー.
/// A reading with nothing left (e.g. only ・) gives `Err(Empty)`.
pub fn match_key(input: &str) -> Result<String, KanaError> {
    let normalized = normalize_kana(input)?;
    let mut key = String::with_capacity(normalized.len());
    for c in normalized.chars() {
        let folded = match c {
            ' ' | '・' => continue,
            'ー' if key.ends_with('ー') => continue,
            'ァ' => 'ア',
            'ィ' | 'ヰ' => 'イ',
            'ゥ' => 'ウ',
            'ェ' | 'ヱ' => 'エ',
            'ォ' | 'ヲ' => 'オ',
            'ッ' => 'ツ',
            'ャ' => 'ヤ',
            'ュ' => 'ユ',
            'ョ' => 'ヨ',
            'ヮ' => 'ワ',
            'ヵ' => 'カ',
            'ヶ' => 'ケ',
            'ヂ' => 'ジ',
            'ヅ' => 'ズ',
            'ヴ' => 'ブ',
            other => other,
        };
        key.push(folded);
    }
    if key.is_empty() {
        return Err(KanaError::Empty);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize_kana(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn key(s: &str) -> String {
        match_key(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn not_kana(s: &str) -> (char, usize) {
        match normalize_kana(s) {
            Err(KanaError::NotKana { ch, index }) => (ch, index),
            other => panic!("expected NotKana for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn hiragana_to_katakana() {
        assert_eq!(norm("やまだ たろう"), "ヤマダ タロウ");
        assert_eq!(norm("ぁゔゕゖ"), "ァヴヵヶ");
        assert_eq!(norm("さゝき みすゞ"), "サヽキ ミスヾ");
        assert_eq!(norm("ヤマダ タロウ"), "ヤマダ タロウ");
    }

    #[test]
    fn half_width_with_dakuten() {
        assert_eq!(norm("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダ タロウ");
        assert_eq!(norm("ﾊﾟﾝ"), "パン");
        assert_eq!(norm("ｳﾞｧ"), "ヴァ");
        assert_eq!(norm("ｶﾞｷﾞｸﾞｹﾞｺﾞ ﾋﾞﾋﾟ ﾂﾞ"), "ガギグゲゴ ビピ ヅ");
        assert_eq!(norm("ﾜﾞｦﾞ"), "ヷヺ");
        assert_eq!(norm("ｦｧｨｩｪｫｬｭｮｯｱﾝ"), "ヲァィゥェォャュョッアン");
    }

    #[test]
    fn combining_and_spacing_marks() {
        assert_eq!(norm("か\u{3099}"), "ガ");
        assert_eq!(norm("は\u{309A}"), "パ");
        assert_eq!(norm("カ\u{309B}"), "ガ");
        assert_eq!(norm("ホ\u{309C}"), "ポ");
        assert_eq!(norm("ゝ\u{3099}"), "ヾ");
    }

    #[test]
    fn unjoinable_marks_rejected() {
        assert_eq!(not_kana("ﾞｱ"), ('ﾞ', 0));
        assert_eq!(not_kana("ｱﾞ"), ('ﾞ', 1));
        assert_eq!(not_kana("ｶﾞﾞ"), ('ﾞ', 2));
        assert_eq!(not_kana("ｶ ﾞ"), ('ﾞ', 2));
        assert_eq!(not_kana("か\u{309A}"), ('\u{309A}', 1));
        assert_eq!(not_kana("ー\u{3099}"), ('\u{3099}', 1));
        assert_eq!(not_kana("\u{309B}"), ('\u{309B}', 0));
    }

    #[test]
    fn spaces_trimmed_and_collapsed() {
        assert_eq!(norm("やまだ\u{3000}たろう"), "ヤマダ タロウ");
        assert_eq!(norm("　 やまだ 　\t たろう\t　"), "ヤマダ タロウ");
    }

    #[test]
    fn long_vowel_and_look_alikes() {
        assert_eq!(norm("ｺｰﾋｰ"), "コーヒー");
        assert_eq!(norm("コ－ヒ－"), "コーヒー");
        assert_eq!(norm("こ-ひ‐"), "コーヒー");
        assert_eq!(norm("コ―ヒ-"), "コーヒー");
        assert_eq!(norm("コーｰ-"), "コーーー");
        assert_eq!(norm("ｶﾞ-"), "ガー");
    }

    #[test]
    fn misplaced_hyphen_rejected() {
        assert_eq!(not_kana("-ヤマダ"), ('-', 0));
        assert_eq!(not_kana("　－ヤマダ"), ('－', 1));
        assert_eq!(not_kana("ヤマダ -"), ('-', 4));
        assert_eq!(not_kana("ジョン・-"), ('-', 4));
    }

    #[test]
    fn middle_dot_kept() {
        assert_eq!(norm("ジョン・スミス"), "ジョン・スミス");
        assert_eq!(norm("ｼﾞｮﾝ･ｽﾐｽ"), "ジョン・スミス");
        assert_eq!(norm("じょん ・ すみす"), "ジョン ・ スミス");
    }

    #[test]
    fn non_kana_rejected_with_original_char_and_index() {
        assert_eq!(not_kana("Yamada"), ('Y', 0));
        assert_eq!(not_kana("やまだ Taro"), ('T', 4));
        assert_eq!(not_kana("山田"), ('山', 0));
        assert_eq!(not_kana("やま田"), ('田', 2));
        assert_eq!(not_kana("たろう2"), ('2', 3));
        assert_eq!(not_kana("たろう２"), ('２', 3));
        assert_eq!(not_kana("😀たろう"), ('😀', 0));
        assert_eq!(not_kana("たろう😀"), ('😀', 3));
        assert_eq!(not_kana("ヤマダ\nタロウ"), ('\n', 3));
        assert_eq!(not_kana("ﾔﾏﾀﾞ｡"), ('｡', 4));
        assert_eq!(not_kana("ヤマダ、"), ('、', 3));
        assert_eq!(not_kana("ヿ"), ('ヿ', 0));
    }

    #[test]
    fn empty_rejected() {
        assert_eq!(normalize_kana(""), Err(KanaError::Empty));
        assert_eq!(normalize_kana(" \u{3000}\t "), Err(KanaError::Empty));
    }

    #[test]
    fn length_limit() {
        let too_long = Err(KanaError::TooLong { max: 100 });
        assert_eq!(normalize_kana(&"ア".repeat(101)), too_long);
        assert_eq!(normalize_kana(&"ｱ".repeat(100)), Ok("ア".repeat(100)));
        let padded = format!("\u{3000}{}\u{3000}\u{3000}", "あ".repeat(100));
        assert_eq!(normalize_kana(&padded), Ok("ア".repeat(100)));
        // Voiced half-width pairs count once: 100 × ｶﾞ is 200 input chars but 100 output.
        assert_eq!(normalize_kana(&"ｶﾞ".repeat(100)), Ok("ガ".repeat(100)));
        let spaced = format!("{} {}", "ア".repeat(50), "イ".repeat(50));
        assert_eq!(normalize_kana(&spaced), too_long);
    }

    #[test]
    fn error_messages() {
        let e = KanaError::NotKana { ch: 'A', index: 3 };
        assert_eq!(
            e.to_string(),
            "カナ以外の文字が含まれています / non-kana character 'A' at position 3"
        );
        assert!(KanaError::Empty.to_string().contains("reading is empty"));
        let long = KanaError::TooLong { max: 100 }.to_string();
        assert!(long.contains("100文字以内") && long.contains("100 characters"));
        let ctrl = KanaError::NotKana { ch: '\n', index: 0 }.to_string();
        assert!(ctrl.contains("'\\n'"));
        let _boxed: Box<dyn std::error::Error> = Box::new(KanaError::Empty);
    }

    #[test]
    fn match_key_folding() {
        assert_eq!(key("ジョー"), "ジヨー");
        assert_eq!(key("ヂョー"), key("ジョー"));
        assert_eq!(key("ヲノ"), "オノ");
        assert_eq!(key("ヰヱ"), "イエ");
        assert_eq!(key("ヅカ ヴ"), "ズカブ");
        assert_eq!(key("ァィゥェォッャュョヮヵヶ"), "アイウエオツヤユヨワカケ");
        assert_eq!(key("ジョン・スミス"), "ジヨンスミス");
        assert_eq!(key("ヤマダ タロウ"), "ヤマダタロウ");
        assert_eq!(key("コーーヒー"), "コーヒー");
        assert_eq!(key("コー ーヒ"), "コーヒ");
    }

    #[test]
    fn match_key_from_raw_input() {
        let a = key("ﾔﾏﾀﾞ ﾀﾛｳ");
        assert_eq!(a, key("やまだ　たろう"));
        assert_eq!(a, key("ヤマダタロウ"));
        assert_eq!(key("きっかわ"), key("キツカワ"));
        let err = Err(KanaError::NotKana { ch: 'Y', index: 0 });
        assert_eq!(match_key("Yamada"), err);
        assert_eq!(match_key("　"), Err(KanaError::Empty));
        assert_eq!(match_key("・"), Err(KanaError::Empty));
    }

    /// Property tests: PROPTEST_CASES raises the case count (default 256 here; each case
    /// is microseconds).
    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Interesting input: kana in every form, marks, separators, look-alikes and
        /// arbitrary chars.
        fn kanaish() -> impl Strategy<Value = String> {
            let special: Vec<char> = "あがぱゝゞゔゕゖアガパヽヾヴヷヺヲヵヶーｰｱｶﾞﾊﾟｳﾞｦｧｯﾝﾞﾟ\u{3099}\u{309A}\u{309B}\u{309C}・･ 　\t－‐―-ヿ゠ㇰ\u{0}\n\u{200B}\u{FEFF}A1漢"
                .chars()
                .collect();
            prop::collection::vec(
                prop_oneof![
                    4 => prop::sample::select(special),
                    1 => any::<char>(),
                    1 => (0x3040u32..0x3100).prop_filter_map("char", char::from_u32),
                    1 => (0xFF60u32..0xFFA0).prop_filter_map("char", char::from_u32),
                ],
                0..120,
            )
            .prop_map(|v| v.into_iter().collect())
        }

        fn allowed_output(c: char) -> bool {
            matches!(c, '\u{30A1}'..='\u{30FA}' | 'ヽ' | 'ヾ' | 'ー' | '・' | ' ')
        }

        /// One name written three ways: full-width katakana, hiragana, half-width katakana.
        fn variants() -> impl Strategy<Value = (String, String, String)> {
            // (katakana, hiragana, half-width): every triple the normaliser must unify.
            let table: Vec<(String, String, String)> = HALF_WIDTH
                .chars()
                .enumerate()
                .filter(|(_, k)| *k != 'ー')
                .flat_map(|(i, k)| {
                    let half = char::from_u32(0xFF66 + i as u32).unwrap_or(' ');
                    let hira = char::from_u32(k as u32 - 0x60).unwrap_or(' ');
                    let mut out = vec![(k.to_string(), hira.to_string(), half.to_string())];
                    for (mark, half_mark) in [(Mark::Voiced, 'ﾞ'), (Mark::SemiVoiced, 'ﾟ')] {
                        if let Some(v) = compose(k, mark) {
                            // ヴ has the hiragana ゔ; ヷ ヺ have none (skip them).
                            if let Some(h) = char::from_u32(v as u32 - 0x60)
                                .filter(|h| ('\u{3041}'..='\u{3096}').contains(h))
                            {
                                out.push((
                                    v.to_string(),
                                    h.to_string(),
                                    format!("{half}{half_mark}"),
                                ));
                            }
                        }
                    }
                    out
                })
                .collect();
            let syllable = prop::sample::select(table);
            let word = prop::collection::vec(syllable, 1..8);
            prop::collection::vec(word, 1..4).prop_map(|words| {
                let join = |pick: fn(&(String, String, String)) -> &String, sep: &str| {
                    words
                        .iter()
                        .map(|w| w.iter().map(pick).map(String::as_str).collect::<String>())
                        .collect::<Vec<_>>()
                        .join(sep)
                };
                (
                    join(|t| &t.0, " "),
                    join(|t| &t.1, "\u{3000}"),
                    join(|t| &t.2, " \t "),
                )
            })
        }

        fn config() -> ProptestConfig {
            ProptestConfig {
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn never_panics_and_output_is_clean(input in prop_oneof![any::<String>(), kanaish()]) {
                match normalize_kana(&input) {
                    Ok(out) => {
                        prop_assert!(!out.is_empty());
                        prop_assert!(out.chars().count() <= MAX_LEN, "{out:?}");
                        prop_assert!(out.chars().all(allowed_output), "{input:?} → {out:?}");
                        prop_assert!(!out.starts_with(' ') && !out.ends_with(' ') && !out.contains("  "));
                        prop_assert!(!out.chars().any(|c| ('\u{FF61}'..='\u{FF9F}').contains(&c)), "half-width left: {out:?}");
                        // Idempotent.
                        prop_assert_eq!(normalize_kana(&out), Ok(out.clone()));
                        // Surrounding spaces change nothing.
                        prop_assert_eq!(normalize_kana(&format!(" \u{3000}{input}\t ")), Ok(out.clone()));
                        // The match key of the input is the key of its normal form, and a key
                        // is its own key.
                        let key = match_key(&input);
                        prop_assert_eq!(&key, &match_key(&out));
                        if let Ok(k) = key {
                            prop_assert!(!k.contains(' ') && !k.contains('・') && !k.contains("ーー"));
                            prop_assert!(!k.chars().any(|c| "ァィゥェォッャュョヮヵヶヰヱヲヂヅヴ".contains(c)), "{k:?}");
                            prop_assert_eq!(match_key(&k), Ok(k.clone()));
                        }
                    }
                    Err(KanaError::NotKana { ch, index }) => {
                        // The original char, at its 0-based char index.
                        prop_assert_eq!(input.chars().nth(index), Some(ch));
                        prop_assert!(match_key(&input).is_err());
                    }
                    Err(KanaError::TooLong { max }) => {
                        prop_assert_eq!(max, MAX_LEN);
                        prop_assert!(input.chars().count() > MAX_LEN);
                    }
                    Err(KanaError::Empty) => {
                        prop_assert!(input.chars().all(|c| matches!(c, ' ' | '\t' | '\u{3000}')), "{:?}", input);
                    }
                }
            }

            #[test]
            fn width_and_script_variants_normalise_equal((kata, hira, half) in variants()) {
                let expected = normalize_kana(&kata);
                prop_assert!(expected.is_ok() || expected == Err(KanaError::TooLong { max: MAX_LEN }), "{:?}", expected);
                if let Ok(e) = &expected {
                    prop_assert_eq!(e, &kata);
                }
                prop_assert_eq!(&normalize_kana(&hira), &expected, "hiragana {:?}", hira);
                prop_assert_eq!(&normalize_kana(&half), &expected, "half-width {:?}", half);
                // Combining marks after hiragana: が = か + U+3099, ぱ = は + U+309A.
                let combining: String = hira
                    .chars()
                    .flat_map(|c| {
                        if "がぎぐげござじずぜぞだぢづでどばびぶべぼ".contains(c) {
                            vec![char::from_u32(c as u32 - 1).unwrap_or(c), '\u{3099}']
                        } else if "ぱぴぷぺぽ".contains(c) {
                            vec![char::from_u32(c as u32 - 2).unwrap_or(c), '\u{309A}']
                        } else if c == 'ゔ' {
                            vec!['う', '\u{3099}']
                        } else {
                            vec![c]
                        }
                    })
                    .collect();
                prop_assert_eq!(&normalize_kana(&combining), &expected, "combining {:?}", combining);
            }
        }
    }
}
