//! Tests of [`super`]: header rows as municipal systems and people write them.

use super::*;

fn persons(headers: &[&str]) -> Result<Columns, Vec<RowError>> {
    map_headers(Kind::Persons, headers, &Mapping::default())
}

#[test]
fn japanese_and_english_headers() {
    let c = persons(&[
        "宛名番号",
        "氏名",
        "フリガナ",
        "生年月日",
        "性別",
        "住所",
        "電話番号",
    ])
    .unwrap();
    assert_eq!(c.field(0), Some(Field::ExternalId));
    assert_eq!(c.field(1), Some(Field::FullName));
    assert_eq!(c.field(2), Some(Field::FullNameKana));
    assert_eq!(c.field(6), Some(Field::Phone));
    let c = persons(&[
        "external_id",
        "Family_Name",
        "ＧＩＶＥＮ ＮＡＭＥ",
        " family-name-kana ",
        "givenNameKana",
        "BIRTH_DATE",
        "sex",
    ])
    .unwrap();
    assert_eq!(
        (0..7).map(|i| c.field(i)).collect::<Vec<_>>(),
        [
            Field::ExternalId,
            Field::FamilyName,
            Field::GivenName,
            Field::FamilyNameKana,
            Field::GivenNameKana,
            Field::BirthDate,
            Field::Sex
        ]
        .map(Some)
    );
    let c = persons(&["姓", "名", "ｾｲ", "ﾒｲ", "氏名（カナ）"]);
    assert!(c.is_err(), "both 氏名カナ and セイ/メイ");
    let c = persons(&["姓", "名", "姓カナ", "名カナ", "ＴＥＬ"]).unwrap();
    assert_eq!(c.field(4), Some(Field::Phone));
    assert_eq!(header_key("ﾌﾘｶﾞﾅ"), "フリガナ");
}

#[test]
fn my_number_is_refused_even_when_mapped() {
    for header in [
        "マイナンバー",
        "個人番号",
        "my_number",
        "MyNumber",
        "ｍｙ ｎｕｍｂｅｒ",
        "ﾏｲﾅﾝﾊﾞｰ",
        "個人番号（マイナンバー）",
    ] {
        let mapping = Mapping::default().ignore(header);
        let errors = map_headers(Kind::Persons, &["氏名", "カナ", header], &mapping).unwrap_err();
        assert_eq!(errors.len(), 1, "{header}");
        assert_eq!(errors[0].line, 1);
        assert_eq!(errors[0].column.as_deref(), Some(header.trim()));
        assert!(errors[0].reason.contains("My Number"), "{header}");
    }
    assert!(!is_my_number("宛名番号"));
    assert!(!is_my_number("住民番号"));
}

#[test]
fn unknown_duplicate_and_missing_headers_each_reported() {
    let errors = persons(&["氏名", "趣味", "名前", "生年月日"]).unwrap_err();
    let reasons: Vec<(Option<&str>, &str)> = errors
        .iter()
        .map(|e| (e.column.as_deref(), e.reason.as_str()))
        .collect();
    assert_eq!(errors.len(), 3, "{reasons:?}");
    assert!(reasons[0].0 == Some("趣味") && reasons[0].1.contains("unknown header"));
    assert!(reasons[1].0 == Some("名前") && reasons[1].1.contains("two columns"));
    assert!(reasons[2].0 == Some("氏名カナ") && reasons[2].1.contains("no column"));
    let errors = persons(&["姓", "カナ"]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column.as_deref(), Some("名"));
}

#[test]
fn mapping_takes_precedence() {
    let mapping =
        Mapping::parse("# 対応表\n趣味,ignore\n名前,ignore\nカナ名,full_name_kana\n宛名番号,-\n\n")
            .unwrap();
    let c = map_headers(
        Kind::Persons,
        &["氏名", "趣味", "名前", "カナ名", "宛名番号", ""],
        &mapping,
    )
    .unwrap();
    assert_eq!(c.field(1), None);
    assert_eq!(c.field(3), Some(Field::FullNameKana));
    assert_eq!(c.field(4), None, "mapped away from the built-in");
    assert_eq!(c.blank(), &[5]);
    let errors = Mapping::parse("a,no_such_field\nb\n").unwrap_err();
    assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 2]);
    let errors = map_headers(
        Kind::Persons,
        &["氏名", "カナ", "x"],
        &Mapping::default().map("x", Field::Summary),
    )
    .unwrap_err();
    assert!(errors[0].reason.contains("not part of"));
}

#[test]
fn every_kind_has_unambiguous_headers() {
    for kind in [
        Kind::Persons,
        Kind::Households,
        Kind::Memberships,
        Kind::Consultations,
        Kind::Consents,
    ] {
        let fields = kind.fields();
        for f in fields {
            let (ja, en) = f.names();
            for alias in ja.iter().chain(en) {
                let key = header_key(alias);
                let hits: Vec<_> = fields.iter().filter(|g| g.matches(&key)).collect();
                assert_eq!(hits, [f], "{kind:?}: {alias}");
                assert!(!is_my_number(alias));
            }
        }
        assert_eq!(Kind::parse(&format!("{kind:?}")), Some(kind));
    }
    for f in ALL {
        assert_eq!(Field::from_name(f.name()), Some(f));
    }
    let c = map_headers(
        Kind::Consultations,
        &["宛名番号", "受付日", "相談内容", "世帯番号"],
        &Mapping::default(),
    )
    .unwrap();
    assert_eq!(c.field(0), Some(Field::PersonRef));
    assert_eq!(c.field(3), Some(Field::HouseholdId));
    let errors = map_headers(Kind::Memberships, &["世帯番号"], &Mapping::default()).unwrap_err();
    assert_eq!(errors.len(), 2, "宛名番号 and 続柄 missing");
}
