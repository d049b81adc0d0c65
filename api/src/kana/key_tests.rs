//! The 名寄せ cases named in issue 16, one test per kind of variant, and the properties of
//! the keys (never panic, idempotent).

use super::*;

fn key(s: &str) -> String {
    match_key(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn same_key(variants: &[&str]) {
    let first = key(variants[0]);
    for v in variants {
        assert_eq!(key(v), first, "{v:?} vs {:?}", variants[0]);
    }
}

#[test]
fn width_and_script() {
    same_key(&["ｻｲﾄｳ", "さいとう", "サイトウ", "ｻｲﾄｰ", "サイトー"]);
    assert_eq!(key("ｻｲﾄｳ"), "サイトウ");
}

#[test]
fn combined_dakuten() {
    same_key(&["ガンダ", "ｶﾞﾝﾀﾞ", "か\u{3099}んた\u{3099}", "カ\u{309B}ンダ"]);
    same_key(&["パク", "ﾊﾟｸ", "は\u{309A}く"]);
}

#[test]
fn long_vowels() {
    same_key(&["サトウ", "サトー", "サトオ", "さとう"]);
    same_key(&["オオノ", "オーノ", "オウノ"]);
    same_key(&["ユウコ", "ユーコ", "ゆうこ"]);
    same_key(&["トオル", "トール", "トウル"]);
    same_key(&["ケイ", "ケー"]);
    same_key(&["ショウタ", "ショータ", "しょおた"]);
    assert_eq!(key("マー"), "マア");
    assert_eq!(key("コーーヒー"), key("コーヒー"));
    // After ン or at the start ー stays, one for a run.
    assert_eq!(key("ンーー"), "ンー");
    assert_eq!(key("ーア"), "ーア");
    // A different vowel is a different name.
    assert_ne!(key("サトウ"), key("サタウ"));
    assert_ne!(key("オオノ"), key("オノ"));
}

#[test]
fn small_kana() {
    same_key(&["キッカワ", "キツカワ", "きっかわ", "ｷｯｶﾜ"]);
    same_key(&["ジョウ", "ジヨウ"]);
    assert_eq!(key("ヶ"), "ケ");
    assert_eq!(key("ヵ"), "カ");
}

#[test]
fn wo_wi_we() {
    assert_eq!(key("ヲ"), key("オ"));
    assert_eq!(key("ヰ"), key("イ"));
    assert_eq!(key("ヱ"), key("エ"));
    same_key(&["ヲカダ", "オカダ", "をかだ", "ｦｶﾀﾞ"]);
}

#[test]
fn vu_and_ji_zu() {
    same_key(&["ヴ", "ブ", "ゔ", "ｳﾞ"]);
    same_key(&["ヂ", "ジ"]);
    same_key(&["ヅ", "ズ"]);
    same_key(&["ヷ", "バ"]);
}

#[test]
fn spaces_and_dots() {
    same_key(&[
        "やまだ　たろう",
        "ヤマダ タロウ",
        "ヤマダタロウ",
        " ﾔﾏﾀﾞ\tﾀﾛｳ ",
    ]);
    same_key(&["ジョン・スミス", "ジョンスミス", "ｼﾞｮﾝ･ｽﾐｽ"]);
}

#[test]
fn iteration_marks() {
    same_key(&["サヽキ", "ササキ", "さゝき"]);
    same_key(&["ミスヾ", "ミスズ", "みすゞ"]);
    // Nothing to repeat: kept.
    assert_eq!(key("ヽ"), "ヽ");
}

#[test]
fn itaiji_of_names() {
    assert_eq!(name_key("髙橋"), "高橋");
    assert_eq!(name_key("髙橋"), name_key("高橋"));
    assert_eq!(name_key("山\u{FA11}"), "山崎");
    assert_eq!(name_key("渡邊"), "渡辺");
    assert_eq!(name_key("渡邉"), "渡辺");
    assert_eq!(name_key("齋藤"), "斎藤");
    assert_eq!(name_key("齊藤"), "斎藤");
    assert_eq!(name_key("濵田"), "浜田");
    assert_eq!(name_key("德川"), "徳川");
    assert_eq!(name_key("𠮷田"), "吉田");
}

#[test]
fn nfkc_width_and_spaces_of_names() {
    assert_eq!(name_key("山田　太郎"), "山田太郎");
    assert_eq!(name_key(" 山田 太郎 "), "山田太郎");
    assert_eq!(name_key("ＪＯＨＮ　ＳＭＩＴＨ"), "JOHNSMITH");
    assert_eq!(name_key("ｽﾐｽ"), "スミス");
    // A CJK compatibility ideograph with a canonical mapping: 神 U+FA19 → 神 U+795E.
    assert_eq!(name_key("\u{FA19}田"), "\u{795E}田");
    assert_eq!(name_key(""), "");
}

#[test]
fn spellings_for_sql_search() {
    let high = spellings_of('高');
    assert_eq!(high, vec!['髙']);
    assert!(spellings_of('崎').contains(&'\u{FA11}'));
    assert!(spellings_of('\u{795E}').contains(&'\u{FA19}'));
    assert!(spellings_of('斎')
        .iter()
        .all(|c| name_key(&c.to_string()) == "斎"));
    // Every spelling folds to its usual form.
    for (usual, _) in itaiji::TABLE {
        for s in spellings_of(*usual) {
            assert_eq!(name_key(&s.to_string()), usual.to_string(), "{s}");
        }
    }
    assert!(spellings_of('a').is_empty());
}

#[test]
fn itaiji_table_is_consistent() {
    let mut seen = std::collections::BTreeSet::new();
    for (usual, variants) in itaiji::TABLE {
        assert_eq!(
            itaiji::canonical(*usual),
            *usual,
            "{usual} is listed as a variant"
        );
        for v in variants.chars() {
            assert_ne!(v, *usual);
            assert!(seen.insert(v), "{v} listed twice");
            assert_eq!(itaiji::canonical(v), *usual);
        }
    }
}

mod properties {
    use super::super::*;
    use proptest::prelude::*;

    fn namish() -> impl Strategy<Value = String> {
        let special: Vec<char> = "髙高﨑崎邊邉辺齋齊斉斎濵浜德徳𠮷\u{FA19}神山田 　Ａａｶﾞｱさゝーヽヾオウヲヰヱヴ・\u{3099}\u{0}\n①㈱"
            .chars()
            .collect();
        prop::collection::vec(
            prop_oneof![3 => prop::sample::select(special), 1 => any::<char>()],
            0..40,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn name_key_never_panics_and_is_idempotent(input in prop_oneof![any::<String>(), namish()]) {
            let k = name_key(&input);
            prop_assert!(!k.chars().any(char::is_whitespace));
            prop_assert_eq!(name_key(&k), k.clone());
            prop_assert!(!k.chars().any(|c| itaiji::canonical(c) != c), "{:?}", k);
        }

        #[test]
        fn match_key_is_idempotent(input in namish()) {
            if let Ok(k) = match_key(&input) {
                prop_assert_eq!(match_key(&k), Ok(k.clone()));
            }
        }
    }
}
