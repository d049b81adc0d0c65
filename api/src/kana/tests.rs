//! Unit and property tests of the readings and keys; the 名寄せ cases are in `key_tests`.

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
    assert_eq!(key("ジョー"), "ジヨウ");
    assert_eq!(key("ヂョー"), key("ジョー"));
    assert_eq!(key("ヲノ"), "オノ");
    assert_eq!(key("ヰヱ"), "イエ");
    assert_eq!(key("ヅカ ヴ"), "ズカブ");
    assert_eq!(key("ァィゥェォッャュョヮヵヶ"), "アイウエオツヤユヨワカケ");
    assert_eq!(key("ジョン・スミス"), "ジヨンスミス");
    assert_eq!(key("ヤマダ タロウ"), "ヤマダタロウ");
    assert_eq!(key("コーーヒー"), "コウヒイ");
    assert_eq!(key("コー ーヒ"), "コウヒ");
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
    use super::super::reading::{compose, Mark, HALF_WIDTH, MAX_LEN};
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
                            out.push((v.to_string(), h.to_string(), format!("{half}{half_mark}")));
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
                        prop_assert!(!k.chars().any(|c| "ァィゥェォッャュョヮヵヶヰヱヲヂヅヴヷヸヹヺ".contains(c)), "{k:?}");
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
