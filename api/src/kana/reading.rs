//! Readings as stored (保存・表示用のふりがな): [`normalize_kana`] and [`widen_half_width`].
//! Self-contained (std only): the migration that recomputes the stored keys compiles this
//! file too (`migration/src/m20261208_000001_match_keys.rs`), as a sibling of `key.rs`.

use std::fmt;

/// Maximum length of a normalised reading, in chars (ふりがなの最大文字数).
pub(super) const MAX_LEN: usize = 100;

/// Half-width katakana U+FF66..=U+FF9D in code-point order, as full-width katakana.
pub(super) const HALF_WIDTH: &str = "ヲァィゥェォャュョッーアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン";

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
pub(super) enum Mark {
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
pub(super) fn to_katakana(c: char) -> Option<char> {
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
pub(super) fn compose(base: char, mark: Mark) -> Option<char> {
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
