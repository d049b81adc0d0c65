//! Tests of [`super`]: whole files, as municipal systems export them.

use super::*;
use crate::import::encoding::{encode_cp932, encode_utf8_with_bom};

fn options() -> ReadOptions {
    ReadOptions {
        mapping: Mapping::default(),
        today: NaiveDate::from_ymd_opt(2024, 6, 1).unwrap(),
    }
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// (line, column, reason) of each error, for compact assertions.
fn summary(errors: &[RowError]) -> Vec<(u64, Option<&str>)> {
    errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect()
}

#[test]
fn cp932_file_with_ibm_extensions_and_half_width_kana() {
    let text = "宛名番号,氏名,フリガナ,生年月日,性別,住所,電話番号\r\n\
                0001,髙橋 花子,ﾀｶﾊｼ ﾊﾅｺ,S50.4.1,女,㈱ビル①,０２３５－２２－１２３４\r\n\
                0002,﨑山 ｶﾀｶﾅ,さきやま かたかな,令和元年5月1日,1,,\r\n";
    let bytes = encode_cp932(text).unwrap();
    // The file really is CP932: 髙 as 0xFB 0xFC, ｶﾀ as 0xB6 0xC0, ﾀｶ as 0xC0 0xB6.
    for needle in [
        &b"\xFB\xFC"[..],
        b"\xFA\xB1",
        b"\x87\x40",
        b"\x87\x8A",
        b"\xB6\xC0",
    ] {
        assert!(bytes.windows(2).any(|w| w == needle), "{needle:x?}");
    }
    assert!(std::str::from_utf8(&bytes).is_err());
    let persons = read_persons_file(&bytes, Encoding::Auto, &options()).unwrap();
    assert_eq!(persons.len(), 2);
    let p = &persons[0];
    assert_eq!(p.line, 2);
    assert_eq!(p.external_id.as_deref(), Some("0001"));
    assert_eq!(
        (p.family_name.as_str(), p.given_name.as_str()),
        ("髙橋", "花子")
    );
    assert_eq!(
        (p.family_name_kana.as_str(), p.given_name_kana.as_str()),
        ("タカハシ", "ハナコ")
    );
    assert_eq!(p.birth_date, date(1975, 4, 1));
    assert_eq!(p.sex, Sex::Female);
    assert_eq!(p.address.as_deref(), Some("㈱ビル①"));
    assert_eq!(p.phone.as_deref(), Some("0235-22-1234"));
    let q = &persons[1];
    assert_eq!(
        (q.family_name.as_str(), q.given_name.as_str()),
        ("﨑山", "カタカナ")
    );
    assert_eq!(
        (q.family_name_kana.as_str(), q.given_name_kana.as_str()),
        ("サキヤマ", "カタカナ")
    );
    assert_eq!(q.birth_date, date(2019, 5, 1));
    assert_eq!(q.sex, Sex::Male);
    assert_eq!(q.line, 3, "CRLF lines");
    assert_eq!((q.address.as_ref(), q.phone.as_ref()), (None, None));
    // Stated CP932 reads the same; stated UTF-8 is refused at the first bad byte, line 1.
    assert_eq!(
        read_persons_file(&bytes, Encoding::Cp932, &options()).unwrap(),
        persons
    );
    let errors = read_persons_file(&bytes, Encoding::Utf8, &options()).unwrap_err();
    assert_eq!(summary(&errors), [(1, None)]);
    assert!(errors[0].reason.contains("UTF-8"));
}

#[test]
fn utf8_file_with_bom_and_english_headers() {
    let text =
        "external_id,family_name,given_name,family_name_kana,given_name_kana,birth_date,sex\n\
                A1,山田,太郎,やまだ,たろう,2024/4/1,M\n";
    let bytes = encode_utf8_with_bom(text);
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let persons = read_persons_file(&bytes, Encoding::Auto, &options()).unwrap();
    assert_eq!(persons.len(), 1);
    assert_eq!(
        persons[0].external_id.as_deref(),
        Some("A1"),
        "BOM not in the header"
    );
    assert_eq!(persons[0].family_name_kana, "ヤマダ");
    assert_eq!(persons[0].birth_date, date(2024, 4, 1));
    // Without the BOM, the same.
    assert_eq!(
        read_persons_file(text.as_bytes(), Encoding::Auto, &options()).unwrap(),
        persons
    );
}

#[test]
fn quoted_newline_keeps_physical_line_numbers() {
    let text = "氏名,カナ,備考,生年月日\n\
                山田 太郎,ヤマダ タロウ,\"一行目\n二行目\",S50.4.1\n\
                鈴木 花子,スズキ ハナコ,,S50.2.30\n\
                佐藤 一郎,サトウ イチロウ,\"\r\n\",H1.1.8\n";
    let options = ReadOptions {
        mapping: Mapping::default().ignore("備考"),
        ..options()
    };
    let errors = read_persons(text, &options).unwrap_err();
    // The bad row starts on physical line 4 (line 2's address spans lines 2 and 3).
    assert_eq!(summary(&errors), [(4, Some("生年月日"))]);
    assert!(
        errors[0].reason.contains("28日まで"),
        "{}",
        errors[0].reason
    );
    let fixed = text.replace("S50.2.30", "S50.2.28");
    let persons = read_persons(&fixed, &options).unwrap();
    assert_eq!(
        persons.iter().map(|p| p.line).collect::<Vec<_>>(),
        [2, 4, 5]
    );
    // A line break in a one-line field is refused, on the line where its row starts.
    let errors = read_persons(&fixed.replace("山田 太郎", "\"山田\n太郎\""), &options).unwrap_err();
    assert_eq!(summary(&errors), [(2, Some("氏名"))]);
    let persons = read_persons(&fixed.replace("S50.2.28", "\"S50.2.28\""), &options).unwrap();
    assert_eq!(persons[2].line, 5);
    // The same file as Excel writes it (CRLF) gives the same lines.
    let crlf = text.replace('\n', "\r\n");
    let errors = read_persons(&crlf, &options).unwrap_err();
    assert_eq!(summary(&errors), [(4, Some("生年月日"))]);
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_column() {
    let text = "宛名番号,氏名,フリガナ,生年月日,性別,電話番号\n\
                1,山田 太郎,ヤマダ タロウ,S50.4.1,男,0235-22-1234\n\
                2,山田花子,ヤマダ ハナコ,H31.5.1,女,\n\
                3,鈴木 一郎,スズキ イチロウ,2024/4/1,男,\n\
                ,佐藤 次郎,佐藤,1990/13/1,X,call me\n\
                ,,,,,\n\
                1,田中 三郎,タナカ サブロウ,,2,\n\
                4,高橋 四郎\n";
    let errors = read_persons(text, &options()).unwrap_err();
    assert_eq!(
        summary(&errors),
        [
            (3, Some("氏名")),
            (3, Some("生年月日")),
            (5, Some("宛名番号")),
            (5, Some("フリガナ")),
            (5, Some("生年月日")),
            (5, Some("性別")),
            (5, Some("電話番号")),
            (7, Some("宛名番号")),
            (8, None),
        ]
    );
    assert!(errors[0].reason.contains("no space"));
    assert!(errors[1].reason.contains("令和元年5月1日"));
    assert!(errors[3].reason.contains("non-kana"));
    assert!(errors[4].reason.contains("month 13"));
    assert!(errors[7].reason.contains("repeats line 2"));
    assert!(errors[8].reason.contains("fields where the header has"));
    assert_eq!(
        errors[0].to_string(),
        format!("3 行目 / line 3 [氏名]: {}", errors[0].reason)
    );
}

#[test]
fn header_problems_come_alone() {
    let text = "氏名,フリガナ,マイナンバー,趣味\n山田 太郎,ヤマダ タロウ,123456789012,読書\n";
    let errors = read_persons(text, &options()).unwrap_err();
    assert_eq!(
        summary(&errors),
        [(1, Some("マイナンバー")), (1, Some("趣味"))]
    );
    assert!(errors[0].reason.contains("My Number"));
    // Mapped as ignored, the unknown header is read past; the My Number never is.
    let options = ReadOptions {
        mapping: Mapping::default().ignore("趣味").ignore("マイナンバー"),
        ..options()
    };
    let errors = read_persons(text, &options).unwrap_err();
    assert_eq!(summary(&errors), [(1, Some("マイナンバー"))]);
    let ok = read_persons(
        &text
            .replace(",マイナンバー", "")
            .replace(",123456789012", ""),
        &options,
    )
    .unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(
        summary(&read_persons("", &options).unwrap_err()),
        [(1, None)],
        "empty file"
    );
}

#[test]
fn blank_headers_and_trailing_commas() {
    let text = "氏名,カナ,\n山田 太郎,ヤマダ タロウ,\n鈴木 花子,スズキ ハナコ,x\n佐藤 一郎,サトウ イチロウ,,,\n";
    let errors = read_persons(text, &options()).unwrap_err();
    assert_eq!(summary(&errors), [(3, Some("3列目"))]);
    let persons = read_persons(&text.replace(",x", ","), &options()).unwrap();
    assert_eq!(persons.len(), 3);
    assert_eq!(persons[2].sex, Sex::Unknown, "no 性別 column");
    assert_eq!(persons[2].external_id, None);
}

#[test]
fn full_width_values_and_headers() {
    let text = "ＩＤ,　氏名　,ﾌﾘｶﾞﾅ,生年月日,性別\n\
                Ａ１,山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,昭和５０年４月１日,Ｍ\n\
                Ａ２,山田　花子,ﾔﾏﾀﾞ ﾊﾅｺ,Ｒ２／４／１,２\n";
    let persons = read_persons(text, &options()).unwrap();
    // The id is compared exactly, as upsertPerson(ref:) compares it: not folded.
    assert_eq!(persons[0].external_id.as_deref(), Some("Ａ１"));
    assert_eq!(persons[0].given_name_kana, "タロウ");
    assert_eq!(persons[0].birth_date, date(1975, 4, 1));
    assert_eq!(persons[0].sex, Sex::Male);
    assert_eq!(persons[1].birth_date, date(2020, 4, 1));
    assert_eq!(persons[1].sex, Sex::Female);
}

#[test]
fn rows_of_other_kinds_are_read_generically() {
    let text = "世帯番号,宛名番号,続柄\nH1,0001,世帯主\n\nH1,0002,子\n";
    let mut seen = Vec::new();
    let count = read_rows(text, Kind::Memberships, &Mapping::default(), |row, _| {
        seen.push((
            row.line,
            row.get(Field::HouseholdId).map(str::to_owned),
            row.get(Field::Relationship).map(str::to_owned),
            row.get(Field::JoinedOn).map(str::to_owned),
        ));
    })
    .unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        seen,
        [
            (2, Some("H1".into()), Some("世帯主".into()), None),
            (4, Some("H1".into()), Some("子".into()), None),
        ]
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let samples: [&[u8]; 6] = [
        b"\"",
        b"\xFF\xFF\xFF",
        b"\x81",
        b"a,b\n\"c",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB\xBF\xE6\xB0\x8F\xE5\x90\x8D\n\"\n\"\"\n",
    ];
    for bytes in samples {
        let _ = read_persons_file(bytes, Encoding::Auto, &options());
    }
}

proptest::proptest! {
    #[test]
    fn reader_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let _ = read_persons_file(&bytes, Encoding::Auto, &options());
        let _ = read_persons_file(&bytes, Encoding::Cp932, &options());
    }

    #[test]
    fn reader_never_panics_on_csv_like_text(text in "[氏名カナ,\"\r\n ｱ髙0-9/年月日SHR元]{0,200}") {
        let _ = read_persons(&format!("氏名,カナ,生年月日\n{text}"), &options());
    }
}
