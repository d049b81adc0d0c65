//! Matching keys for 名寄せ (record matching across agencies): [`match_key`] for readings,
//! [`name_key`] for names as written. Both are idempotent (a key is its own key) and causal
//! (each output character depends only on what came before it), so the key of a prefix is a
//! prefix of the key, which the prefix searches rely on.
//!
//! Self-contained (std, `unicode-normalization` and its siblings): the migration that
//! recomputes the stored keys compiles this file too.

use unicode_normalization::UnicodeNormalization;

use super::itaiji;
use super::reading::{compose, normalize_kana, KanaError, Mark};

/// The vowel a katakana letter ends in (after the small-kana folding), if it has one.
fn vowel(c: char) -> Option<char> {
    const ROWS: [(&str, char); 5] = [
        ("アカガサザタダナハバパマヤラワ", 'ア'),
        ("イキギシジチニヒビピミリ", 'イ'),
        ("ウクグスズツヌフブプムユル", 'ウ'),
        ("エケゲセゼテデネヘベペメレ", 'エ'),
        ("オコゴソゾトドノホボポモヨロ", 'オ'),
    ];
    ROWS.iter()
        .find(|(row, _)| row.contains(c))
        .map(|(_, v)| *v)
}

/// A letter without its voicing mark (ガ→カ, パ→ハ), or itself.
fn unvoiced(c: char) -> char {
    const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボ";
    const SEMI: &str = "パピプペポ";
    if VOICED.contains(c) {
        char::from_u32(c as u32 - 1).unwrap_or(c)
    } else if SEMI.contains(c) {
        char::from_u32(c as u32 - 2).unwrap_or(c)
    } else {
        c
    }
}

/// The folding of one letter of a normalised reading, before the context rules.
fn fold_letter(c: char) -> char {
    match c {
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
        'ヷ' => 'バ',
        'ヸ' => 'ビ',
        'ヹ' => 'ベ',
        'ヺ' => 'ボ',
        other => other,
    }
}

/// Matching key for 名寄せ (record matching), from a normalised or raw reading.
///
/// Applies [`normalize_kana`] (width, hiragana→katakana, combined dakuten), then:
///
/// * removes spaces and ・;
/// * folds small kana to large (ァ→ア, ッ→ツ, ヵ→カ …), ヲ→オ, ヰ→イ, ヱ→エ, ヂ→ジ, ヅ→ズ,
///   and ヴ ヷ ヸ ヹ ヺ → ブ バ ビ ベ ボ;
/// * writes out the iteration marks: ヽ repeats the letter before it unvoiced, ヾ voiced
///   (サヽキ→ササキ, ミスヾ→ミスズ);
/// * long vowels (長音): ー after a letter becomes the vowel it lengthens, with the long e
///   and o written イ and ウ as names usually are (サトー→サトウ, ユーコ→ユウコ, メー→メイ,
///   マー→マア); オ after an o-row letter becomes ウ (オオノ→オウノ, トオル→トウル), so
///   オオノ, オーノ and オウノ share one key; runs of ー left (after ン, at the start) are
///   collapsed to one.
///
/// A reading with nothing left (e.g. only ・) gives `Err(Empty)`.
pub fn match_key(input: &str) -> Result<String, KanaError> {
    let normalized = normalize_kana(input)?;
    let mut key: Vec<char> = Vec::with_capacity(normalized.len());
    // The previous letter of the reading (spaces and ・ skipped) was ー: a run counts once.
    let mut after_long = false;
    for c in normalized.chars() {
        let prev = key.last().copied();
        let letter = match fold_letter(c) {
            ' ' | '・' => continue,
            'ヽ' | 'ヾ' if prev.and_then(vowel).is_some() => {
                let base = unvoiced(prev.unwrap_or(c));
                match c {
                    'ヾ' => fold_letter(compose(base, Mark::Voiced).unwrap_or(base)),
                    _ => base,
                }
            }
            other => other,
        };
        if std::mem::replace(&mut after_long, letter == 'ー') && letter == 'ー' {
            continue;
        }
        let folded = match (letter, prev.and_then(vowel)) {
            ('ー', Some('エ')) | ('ー', Some('イ')) => 'イ',
            ('ー', Some('オ')) | ('ー', Some('ウ')) | ('オ', Some('オ')) => 'ウ',
            ('ー', Some(v)) => v,
            (other, _) => other,
        };
        key.push(folded);
    }
    if key.is_empty() {
        return Err(KanaError::Empty);
    }
    Ok(key.into_iter().collect())
}

/// Matching key for a name as written (漢字氏名): NFKC (full- and half-width forms, CJK
/// compatibility ideographs such as U+FA19 神 → 神), then the common 異体字 of names to
/// their usual form ([`itaiji::canonical`]: 髙→高, 﨑→崎, 邊/邉→辺, 齋/齊→斎, 濵→浜, 德→徳 …),
/// with every space removed. Never fails: an empty name gives an empty key.
pub fn name_key(input: &str) -> String {
    // Spaces go before and after NFKC (which makes some, e.g. ゛ → space + U+3099); the
    // second NFKC joins what a removed space kept apart (カ ゛ → ガ), so the key is stable.
    let spaced = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
    let once = spaced(&spaced(input).nfkc().collect::<String>());
    once.nfkc().map(itaiji::canonical).collect()
}

/// The characters that [`name_key`] turns into the one character `k` (k itself, its 異体字
/// and the compatibility ideographs that NFKC maps to any of them). For searches that
/// compare stored names with a key in SQL (`replace` each of these with `k`).
pub fn spellings_of(k: char) -> Vec<char> {
    let mut out: Vec<char> = itaiji::variants_of(k).collect();
    out.extend(
        itaiji::COMPAT_RANGES
            .iter()
            .flat_map(|r| r.clone())
            .filter_map(char::from_u32)
            .filter(|&c| {
                let mut n = std::iter::once(c).nfkc();
                matches!((n.next(), n.next()), (Some(m), None) if m != c && itaiji::canonical(m) == k)
            }),
    );
    out.retain(|&c| c != k);
    out.sort_unstable();
    out.dedup();
    out
}
