//! CSV import (issue 16, item 1) through `POST /import/{kind}`: a CP932 file with 和暦 dates
//! and the characters municipal exports hold becomes persons exactly as createPerson stores
//! them, under the agency's references; a re-run writes nothing; a bad row stops the whole
//! file (nothing written, every problem reported with its line and column) unless
//! `skipBadRows`; a file without a column leaves that field alone; the caller's own agency
//! only, with the role to record persons; every person written is ledgered with its
//! reference, and the import itself once.

use serde_json::{json, Value};
use tsunagi_tests::{person_input, tests, Server};

tests!(
    a_cp932_file_with_wareki_dates_is_imported_and_a_rerun_writes_nothing,
    a_bad_row_stops_the_file_unless_skipped_and_every_problem_is_reported,
    a_rerun_changes_only_the_columns_the_file_has,
    an_import_needs_the_role_and_stays_in_the_callers_agency,
    imported_and_upserted_persons_share_the_agencys_references,
    multipart_with_a_mapping_and_a_file_without_ids,
    consultations_and_consents_are_written_by_their_upserts,
    households_are_their_member_rows_grouped_by_household_number,
);

struct Answer {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.bytes)))
    }
}

async fn post(srv: &Server, token: &str, path: &str, content_type: &str, body: Vec<u8>) -> Answer {
    post_accept(srv, token, path, content_type, "application/json", body).await
}

async fn post_accept(
    srv: &Server,
    token: &str,
    path: &str,
    content_type: &str,
    accept: &str,
    body: Vec<u8>,
) -> Answer {
    let resp = reqwest::Client::new()
        .post(srv.url(path))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", content_type)
        .header("Accept", accept)
        .body(body)
        .send()
        .await
        .expect("POST /import");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.bytes().await.expect("body").to_vec();
    Answer {
        status,
        content_type,
        bytes,
    }
}

fn cp932(text: &str) -> Vec<u8> {
    tsunagi_api::import::encode_cp932(text).expect("CP932 holds the test's characters")
}

const PERSON_BY_REF: &str = "query($s: String!, $e: String!) { personByRef(system: $s, externalId: $e) {
  id version familyName givenName familyNameKana givenNameKana birthDate sex address phone district careLevel } }";

async fn by_ref(srv: &Server, token: &str, system: &str, id: &str) -> Value {
    let r = srv
        .gql(token, PERSON_BY_REF, json!({ "s": system, "e": id }))
        .await;
    r.ok()["personByRef"].clone()
}

/// A persons file in a municipal system's habits: Japanese headers, 和暦 and 西暦 dates,
/// half-width kana, full-width digits, 機種依存文字 (①, ㈱) and 異体字 (髙, 﨑).
const FILE: &str = "宛名番号,氏名,フリガナ,生年月日,性別,住所,電話番号\r\n\
A-001,髙橋 一郎,ﾀｶﾊｼ ｲﾁﾛｳ,昭和50年4月1日,男,鶴岡市本町１－２ ㈱ビル①,０２３５－２２－１２３４\r\n\
A-002,山﨑 花子,やまざき はなこ,S50.4.1,女,鶴岡市馬場町９,\r\n\
A-003,佐藤 平成,サトウ ヘイセイ,H31.4.30,2,,\r\n\
A-004,佐藤 令和,サトウ レイワ,R1.5.1,1,,\r\n\
A-005,鈴木 次郎,スズキ ジロウ,20240401,不明,,\r\n\
A-006,田中 三郎,タナカ サブロウ,2024/4/1,,,\r\n";

async fn a_cp932_file_with_wareki_dates_is_imported_and_a_rerun_writes_nothing(srv: &Server) {
    let own = srv.agency("imp-own", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("imp-cw", &own, &["caseworker"]).await;
    let a = post(srv, &cw, "/import/persons", "text/csv", cp932(FILE)).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
    let report = a.json();
    assert_eq!(report["encoding"], "CP932 (Shift_JIS)");
    assert_eq!(report["rows"], 6);
    assert_eq!(report["created"], 6);
    assert_eq!(report["written"], true);
    assert_eq!(report["errors"], json!([]));

    let takahashi = by_ref(srv, &cw, "csv", "A-001").await;
    assert_eq!(takahashi["familyName"], "髙橋", "異体字 kept as written");
    assert_eq!(takahashi["givenName"], "一郎");
    assert_eq!(
        takahashi["familyNameKana"], "タカハシ",
        "half-width kana widened"
    );
    assert_eq!(takahashi["givenNameKana"], "イチロウ");
    assert_eq!(takahashi["birthDate"], "1975-04-01");
    assert_eq!(takahashi["sex"], "MALE");
    assert_eq!(takahashi["address"], "鶴岡市本町1-2 ㈱ビル①");
    assert_eq!(takahashi["phone"], "0235-22-1234");
    let yamazaki = by_ref(srv, &cw, "csv", "A-002").await;
    assert_eq!(yamazaki["familyName"], "山﨑");
    assert_eq!(
        yamazaki["familyNameKana"], "ヤマザキ",
        "hiragana to katakana"
    );
    assert_eq!(yamazaki["birthDate"], "1975-04-01");
    assert_eq!(yamazaki["phone"], Value::Null);
    assert_eq!(
        by_ref(srv, &cw, "csv", "A-003").await["birthDate"],
        "2019-04-30"
    );
    assert_eq!(
        by_ref(srv, &cw, "csv", "A-004").await["birthDate"],
        "2019-05-01"
    );
    assert_eq!(
        by_ref(srv, &cw, "csv", "A-005").await["birthDate"],
        "2024-04-01"
    );
    assert_eq!(by_ref(srv, &cw, "csv", "A-006").await["sex"], "UNKNOWN");

    // Ledgered: one WRITE per person with its reference and line, and the import once.
    let ledger = srv.ledger().await;
    let writes: Vec<_> = ledger
        .iter()
        .filter(|e| e.action == "WRITE" && e.operation == "importPersons")
        .collect();
    assert_eq!(writes.len(), 7, "six persons and the import");
    let person_rows: Vec<_> = writes
        .iter()
        .filter(|e| e.record_type == "person")
        .collect();
    assert_eq!(person_rows.len(), 6);
    let first = person_rows
        .iter()
        .find(|e| e.record_id.as_deref() == takahashi["id"].as_str())
        .expect("Takahashi's WRITE row");
    assert_eq!(first.subject_person_id, first.record_id);
    let detail: Value = serde_json::from_str(&first.detail).unwrap();
    assert_eq!(detail["created"], true);
    assert_eq!(detail["line"], 2);
    assert_eq!(detail["import"], report["importId"]);
    let summary = writes.iter().find(|e| e.record_type == "import").unwrap();
    let detail: Value = serde_json::from_str(&summary.detail).unwrap();
    assert_eq!(detail["created"], 6);
    assert_eq!(detail["encoding"], "CP932 (Shift_JIS)");
    assert!(
        !summary.detail.contains("髙橋"),
        "the summary names no person"
    );

    // The same file again: nothing written, not even the ledger.
    let before = srv.snapshot().await;
    let a = post(srv, &cw, "/import/persons", "text/csv", cp932(FILE)).await;
    assert_eq!(a.status, 200);
    let again = a.json();
    assert_eq!(again["created"], 0);
    assert_eq!(again["updated"], 0);
    assert_eq!(again["unchanged"], 6);
    assert_eq!(again["written"], false);
    srv.assert_unchanged(&before, "a re-run of the same file")
        .await;

    // The same file as UTF-8 with a BOM (what Excel writes) is the same persons.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(FILE.as_bytes());
    let a = post(srv, &cw, "/import/persons", "text/csv", bom).await;
    let utf8 = a.json();
    assert_eq!(utf8["encoding"], "UTF-8");
    assert_eq!(utf8["unchanged"], 6, "{utf8}");
    srv.assert_unchanged(&before, "the same file in UTF-8")
        .await;
}

async fn a_bad_row_stops_the_file_unless_skipped_and_every_problem_is_reported(srv: &Server) {
    let own = srv.agency("imp-bad", "DISABILITY").await;
    let (_, cw) = srv.account("imp-bad-cw", &own, &["caseworker"]).await;
    let file = "\u{feff}external_id,family_name,given_name,family_name_kana,given_name_kana,birth_date,sex\r\n\
B-1,良井,一,ヨイ,ハジメ,1980-01-02,F\r\n\
B-2,悪井,二,ワルイ,ジ,H31.5.1,M\r\n\
B-3,,三,ワルイ,サン,1980-01-02,M\r\n\
B-4,悪井,四,ワルイ,シ,1980-02-30,X\r\n\
B-5,良井,五,ヨイ,ゴ,,\r\n";
    let before = srv.snapshot().await;
    let a = post(
        srv,
        &cw,
        "/import/persons",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.bytes));
    let report = a.json();
    assert_eq!(report["refused"], true);
    assert_eq!(report["written"], false);
    assert_eq!(report["rows"], 5);
    assert_eq!(report["badRows"], 3);
    let errors = report["errors"].as_array().unwrap();
    let at = |line: u64, column: &str| {
        errors
            .iter()
            .find(|e| e["line"] == line && e["column"] == column)
            .unwrap_or_else(|| panic!("no error at line {line} [{column}]: {errors:?}"))["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        at(3, "birth_date").contains("令和元年5月1日"),
        "H31.5.1 does not exist"
    );
    assert!(!at(4, "family_name").is_empty());
    assert!(!at(5, "birth_date").is_empty(), "February 30th");
    assert!(at(5, "sex").contains("sex must be"));
    srv.assert_unchanged(&before, "a file with bad rows").await;

    // The report as a CSV file Excel opens: BOM, CRLF, one line per problem.
    let a = post_accept(
        srv,
        &cw,
        "/import/persons",
        "text/csv",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.content_type.starts_with("text/csv"), "{}", a.content_type);
    assert!(a.bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
    let text = String::from_utf8(a.bytes[3..].to_vec()).unwrap();
    assert!(text.contains("\r\n3,birth_date,"), "{text}");
    assert_eq!(text.matches("\r\n").count(), errors.len() + 1, "{text}");

    // A dry run with skipBadRows says what would be written, and writes nothing.
    let a = post(
        srv,
        &cw,
        "/import/persons?dryRun=true&skipBadRows=true",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 200);
    let dry = a.json();
    assert_eq!(
        (dry["created"].clone(), dry["written"].clone()),
        (json!(2), json!(false))
    );
    srv.assert_unchanged(&before, "a dry run").await;

    // skipBadRows writes the good rows and reports the bad ones.
    let a = post(
        srv,
        &cw,
        "/import/persons?skipBadRows=true",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 200);
    let skipped = a.json();
    assert_eq!(skipped["created"], 2);
    assert_eq!(skipped["badRows"], 3);
    assert_eq!(skipped["written"], true);
    assert_eq!(by_ref(srv, &cw, "csv", "B-1").await["givenName"], "一");
    assert_eq!(
        by_ref(srv, &cw, "csv", "B-5").await["birthDate"],
        Value::Null
    );
    let r = srv
        .gql(&cw, PERSON_BY_REF, json!({ "s": "csv", "e": "B-2" }))
        .await;
    assert_eq!(r.codes(), vec!["NOT_FOUND"], "a bad row was not written");

    // Bad query parameters and kinds are refused before the body is read.
    let a = post(srv, &cw, "/import/people", "text/csv", Vec::new()).await;
    assert_eq!(
        (
            a.status,
            a.json()["errors"][0]["extensions"]["field"].clone()
        ),
        (400, json!("kind"))
    );
    let a = post(
        srv,
        &cw,
        "/import/persons?encoding=latin1",
        "text/csv",
        Vec::new(),
    )
    .await;
    assert_eq!(a.json()["errors"][0]["extensions"]["field"], "encoding");
}

async fn a_rerun_changes_only_the_columns_the_file_has(srv: &Server) {
    let own = srv.agency("imp-upd", "CHILD_FAMILY").await;
    let (_, cw) = srv.account("imp-upd-cw", &own, &["caseworker"]).await;
    let file = "宛名番号,氏名,氏名カナ,生年月日,住所,電話番号\n\
C-1,石川 啄木,イシカワ タクボク,明治19年2月20日,盛岡市,019-000-0000\n";
    let a = post(
        srv,
        &cw,
        "/import/persons?system=juki-v2",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.json()["created"], 1);
    let p = by_ref(srv, &cw, "juki-v2", "C-1").await;
    assert_eq!(p["birthDate"], "1886-02-20");
    assert_eq!(p["version"], 1);
    // The next export has no phone column, and the address changed.
    let file = "宛名番号,氏名,氏名カナ,生年月日,住所\n\
C-1,石川 啄木,イシカワ タクボク,明治19年2月20日,東京都文京区\n";
    let a = post(
        srv,
        &cw,
        "/import/persons?system=juki-v2",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    let report = a.json();
    assert_eq!(
        (report["created"].clone(), report["updated"].clone()),
        (json!(0), json!(1))
    );
    let after = by_ref(srv, &cw, "juki-v2", "C-1").await;
    assert_eq!(after["id"], p["id"]);
    assert_eq!(after["version"], 2);
    assert_eq!(after["address"], "東京都文京区");
    assert_eq!(
        after["phone"], "019-000-0000",
        "no phone column: the phone is kept"
    );
    let update = srv
        .ledger()
        .await
        .into_iter()
        .rfind(|e| e.record_type == "person" && e.operation == "importPersons")
        .unwrap();
    let detail: Value = serde_json::from_str(&update.detail).unwrap();
    assert_eq!(
        detail["fields"],
        json!(["address"]),
        "field names, never values"
    );
    assert!(!update.detail.contains("文京区"));
}

async fn an_import_needs_the_role_and_stays_in_the_callers_agency(srv: &Server) {
    let a1 = srv.agency("imp-a1", "COMPREHENSIVE_CARE").await;
    let a2 = srv.agency("imp-a2", "SELF_RELIANCE").await;
    let (_, cw1) = srv.account("imp-a1-cw", &a1, &["caseworker"]).await;
    let (_, cw2) = srv.account("imp-a2-cw", &a2, &["caseworker"]).await;
    let (_, analyst) = srv.account("imp-a1-an", &a1, &["analyst"]).await;
    let file = "宛名番号,氏名,フリガナ\nD-1,北 一,キタ ハジメ\n";
    let before = srv.snapshot().await;
    let a = post(
        srv,
        &analyst,
        "/import/persons",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.json()["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let a = post(
        srv,
        "not-a-token",
        "/import/persons",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 401);
    srv.assert_unchanged(&before, "refused imports").await;

    // The same file at two agencies: two persons, each its own agency's, each found only by
    // its own agency's reference.
    assert_eq!(
        post(
            srv,
            &cw1,
            "/import/persons",
            "text/csv",
            file.as_bytes().to_vec()
        )
        .await
        .json()["created"],
        1
    );
    assert_eq!(
        post(
            srv,
            &cw2,
            "/import/persons",
            "text/csv",
            file.as_bytes().to_vec()
        )
        .await
        .json()["created"],
        1
    );
    let p1 = by_ref(srv, &cw1, "csv", "D-1").await;
    let p2 = by_ref(srv, &cw2, "csv", "D-1").await;
    assert_ne!(p1["id"], p2["id"]);
    let r = srv
        .gql(
            &cw2,
            "query($id: ID!) { person(id: $id) { familyName } }",
            json!({ "id": p1["id"] }),
        )
        .await;
    assert_eq!(
        r.codes(),
        vec!["NOT_FOUND"],
        "agency 1's import is not agency 2's to know"
    );
}

async fn imported_and_upserted_persons_share_the_agencys_references(srv: &Server) {
    let own = srv.agency("imp-ups", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("imp-ups-cw", &own, &["caseworker"]).await;
    let file = "external_id,family_name,given_name,family_name_kana,given_name_kana,birth_date,sex,address,phone,district\n\
P-0001,山田,花子,ヤマダ,ハナコ,1950-04-01,F,鶴岡市本町一丁目 1-1,0235-00-0000,中央圏域\n";
    let a = post(
        srv,
        &cw,
        "/import/persons?system=kaigo-v3",
        "text/csv",
        file.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.json()["created"], 1);
    let imported = by_ref(srv, &cw, "kaigo-v3", "P-0001").await;
    // The agency's software then syncs the same person by the same reference.
    let mut input = person_input("山田", "花子", "ヤマダ", "ハナコ");
    input["careLevel"] = Value::Null;
    input["publicAssistance"] = Value::Null;
    let r = srv
        .gql(
            &cw,
            "mutation($r: ExternalRefInput!, $i: CreatePersonInput!) { upsertPerson(ref: $r, input: $i) { created changed person { id } } }",
            json!({ "r": { "system": "kaigo-v3", "externalId": "P-0001" }, "i": input }),
        )
        .await;
    let up = &r.ok()["upsertPerson"];
    assert_eq!(up["created"], false);
    assert_eq!(
        up["changed"], false,
        "the import stored it as createPerson would"
    );
    assert_eq!(up["person"]["id"], imported["id"]);
}

/// A multipart body with a file and a mapping: the file's own headers (not known to the hub)
/// mapped to fields, and no id column: the import derives a key, so a re-run is still
/// nothing new.
async fn multipart_with_a_mapping_and_a_file_without_ids(srv: &Server) {
    let own = srv.agency("imp-map", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("imp-map-cw", &own, &["caseworker"]).await;
    let file =
        cp932("利用者姓,利用者名,セイ,メイ,誕生日,メモ\r\n森 ,鴎外,ﾓﾘ,ｵｳｶﾞｲ,明治10年1月19日,x\r\n");
    let mapping = "利用者姓,family_name\n利用者名,given_name\nセイ,family_name_kana\nメイ,given_name_kana\n誕生日,birth_date\nメモ,ignore\n";
    let boundary = "----tsunagi-test-boundary";
    let mut body = Vec::new();
    for (name, content) in [
        ("file", file.clone()),
        ("mapping", mapping.as_bytes().to_vec()),
    ] {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.csv\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        body.extend(content);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    let ct = format!("multipart/form-data; boundary={boundary}");
    let a = post(srv, &cw, "/import/persons", &ct, body.clone()).await;
    assert_eq!(
        a.status,
        422,
        "明治10年 is before 1880: {}",
        String::from_utf8_lossy(&a.bytes)
    );
    assert!(a.json()["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("too early"));
    // The same with a birth date the hub takes (明治 era).
    let file =
        cp932("利用者姓,利用者名,セイ,メイ,誕生日,メモ\r\n森 ,鴎外,ﾓﾘ,ｵｳｶﾞｲ,明治15年1月19日,x\r\n");
    let mut body = Vec::new();
    for (name, content) in [("file", file), ("mapping", mapping.as_bytes().to_vec())] {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend(content);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    let a = post(srv, &cw, "/import/persons", &ct, body.clone()).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
    let report = a.json();
    assert_eq!(report["created"], 1);
    let ledger = srv.ledger().await;
    let row = ledger
        .iter()
        .rfind(|e| e.record_type == "person" && e.operation == "importPersons")
        .unwrap();
    let id = row.record_id.clone().unwrap();
    let r = srv
        .gql(&cw, "query($id: ID!) { person(id: $id) { familyName givenName givenNameKana birthDate externalRefs { system externalId } } }", json!({ "id": id }))
        .await;
    let p = &r.ok()["person"];
    assert_eq!(p["familyName"], "森");
    assert_eq!(p["givenNameKana"], "オウガイ");
    assert_eq!(p["birthDate"], "1882-01-19");
    let derived = p["externalRefs"][0]["externalId"].as_str().unwrap();
    assert!(derived.starts_with("derived:"), "{derived}");
    // Again: the derived key finds the same person, nothing is written.
    let before = srv.snapshot().await;
    let a = post(srv, &cw, "/import/persons", &ct, body).await;
    assert_eq!(a.json()["unchanged"], 1);
    srv.assert_unchanged(&before, "a re-run of a file without ids")
        .await;
}

const PERSONS: &str = "宛名番号,氏名,フリガナ,生年月日\nR-1,相談 太郎,ソウダン タロウ,S40.5.5\nR-2,相談 花子,ソウダン ハナコ,S42.6.6\n";

/// Consultations and consents are written by their upserts, row by row, in one transaction:
/// every check the API makes, the same ledger rows, and all or nothing.
async fn consultations_and_consents_are_written_by_their_upserts(srv: &Server) {
    let own = srv.agency("imp-rec", "COMPREHENSIVE_CARE").await;
    let other = srv.agency("imp-rec-b", "DISABILITY").await;
    let (_, cw) = srv.account("imp-rec-cw", &own, &["caseworker"]).await;
    let (_, cw_b) = srv.account("imp-rec-b-cw", &other, &["caseworker"]).await;
    assert_eq!(
        post(
            srv,
            &cw,
            "/import/persons",
            "text/csv",
            PERSONS.as_bytes().to_vec()
        )
        .await
        .json()["created"],
        2
    );
    let taro = by_ref(srv, &cw, "csv", "R-1").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let consultations = "相談番号,宛名番号,受付日,受付経路,相談内容,緊急度,課題\r\n\
S-1,R-1,令和6年4月1日,電話,母の介護と自身の就労の相談,高,◎HIKIKOMORI\r\n\
S-2,R-2,R6.4.2,来所,$PERSON:R-1 と書いた相談,,\r\n";
    let consents = "同意番号,宛名番号,同意者,同意区分,利用目的,提供先,同意日\r\n\
C-1,R-1,本人,本人情報 連絡先,支援,DISABILITY,R6.4.1\r\n";

    // A dry run tries every row against the database and writes nothing.
    let before = srv.snapshot().await;
    let a = post(
        srv,
        &cw,
        "/import/consultations?dryRun=true",
        "text/csv",
        consultations.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
    assert_eq!(
        (a.json()["created"].clone(), a.json()["written"].clone()),
        (json!(2), json!(false))
    );
    srv.assert_unchanged(&before, "a dry run of consultations")
        .await;

    let a = post(
        srv,
        &cw,
        "/import/consultations",
        "text/csv",
        consultations.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        a.json()["created"],
        2,
        "{}",
        String::from_utf8_lossy(&a.bytes)
    );
    let a = post(
        srv,
        &cw,
        "/import/consents",
        "text/csv",
        consents.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        a.json()["created"],
        1,
        "{}",
        String::from_utf8_lossy(&a.bytes)
    );

    // What the API now holds: the consultation as recorded, and agency B sees Taro's name.
    let r = srv
        .gql(&cw, "query($s: String!, $e: String!) { consultationByRef(system: $s, externalId: $e) { summary channel urgency receivedAt issues { category { code } main } } }", json!({ "s": "csv", "e": "S-1" }))
        .await;
    let c = &r.ok()["consultationByRef"];
    assert_eq!(c["summary"], "母の介護と自身の就労の相談");
    assert_eq!(c["channel"], "PHONE");
    assert_eq!(c["urgency"], "HIGH");
    assert_eq!(
        c["issues"],
        json!([{ "category": { "code": "HIKIKOMORI" }, "main": true }])
    );
    assert!(
        c["receivedAt"]
            .as_str()
            .unwrap()
            .starts_with("2024-03-31T15:00:00"),
        "{c}"
    );
    let r = srv
        .gql(
            &cw_b,
            "query($id: ID!) { person(id: $id) { familyName phone } }",
            json!({ "id": taro }),
        )
        .await;
    assert_eq!(r.data()["person"]["familyName"], "相談");
    // Only the person and household slots are placeholders: a summary is text as written.
    let r = srv
        .gql(&cw, "query($s: String!, $e: String!) { consultationByRef(system: $s, externalId: $e) { summary } }", json!({ "s": "csv", "e": "S-2" }))
        .await;
    assert_eq!(
        r.ok()["consultationByRef"]["summary"],
        "$PERSON:R-1 と書いた相談"
    );
    // Ledgered as the upserts are, and the import once.
    let ledger = srv.ledger().await;
    let ops: Vec<&str> = ledger
        .iter()
        .filter(|e| e.action == "WRITE")
        .map(|e| e.operation.as_str())
        .collect();
    assert_eq!(
        ops.iter().filter(|o| **o == "upsertConsultation").count(),
        2
    );
    assert_eq!(ops.iter().filter(|o| **o == "upsertConsent").count(), 1);
    assert!(ops.contains(&"importConsultations") && ops.contains(&"importConsents"));

    // Again: nothing new, nothing written.
    let before = srv.snapshot().await;
    let a = post(
        srv,
        &cw,
        "/import/consultations",
        "text/csv",
        consultations.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (a.json()["unchanged"].clone(), a.json()["written"].clone()),
        (json!(2), json!(false))
    );
    let a = post(
        srv,
        &cw,
        "/import/consents",
        "text/csv",
        consents.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.json()["unchanged"], 1);
    srv.assert_unchanged(&before, "re-running consultations and consents")
        .await;

    // A row the mutation refuses (an unknown issue code) and a row about a person the
    // agency never imported: the file is refused whole, the good row not written either.
    let bad = "相談番号,宛名番号,受付日,相談内容,課題\n\
S-3,R-1,R6.5.1,よい行,\n\
S-4,R-1,R6.5.2,課題が不明,NO_SUCH_ISSUE\n\
S-5,R-9,R6.5.3,知らない人,\n";
    let a = post(
        srv,
        &cw,
        "/import/consultations",
        "text/csv",
        bad.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.bytes));
    let errors = a.json()["errors"].clone();
    let errors = errors.as_array().unwrap();
    assert_eq!(errors.len(), 2, "both bad rows reported: {errors:?}");
    assert!(
        errors[0]["line"] == 3
            && errors[0]["column"]
                .as_str()
                .unwrap()
                .starts_with("input.issues"),
        "{errors:?}"
    );
    assert!(
        errors[1]["line"] == 4 && errors[1]["reason"].as_str().unwrap().contains("R-9"),
        "{errors:?}"
    );
    srv.assert_unchanged(&before, "a consultations file with bad rows")
        .await;
    // Without the unknown person, the mutation's own refusal stops the file.
    let bad = "相談番号,宛名番号,受付日,相談内容,課題\nS-3,R-1,R6.5.1,よい行,\nS-4,R-1,R6.5.2,課題が不明,NO_SUCH_ISSUE\n";
    let a = post(
        srv,
        &cw,
        "/import/consultations",
        "text/csv",
        bad.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.bytes));
    let e = &a.json()["errors"][0];
    assert_eq!(e["line"], 3);
    assert!(
        e["column"].as_str().unwrap().starts_with("input.issues"),
        "{e}"
    );
    srv.assert_unchanged(&before, "a row the mutation refuses")
        .await;
    // skipBadRows: the good row is written.
    let a = post(
        srv,
        &cw,
        "/import/consultations?skipBadRows=true",
        "text/csv",
        bad.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(
        (a.json()["created"].clone(), a.json()["badRows"].clone()),
        (json!(1), json!(1))
    );
    // An analyst may not import consultations; a life-support coordinator may not import
    // consents (it may not record them).
    let (_, lsc) = srv
        .account("imp-rec-lsc", &own, &["life_support_coordinator"])
        .await;
    let a = post(
        srv,
        &lsc,
        "/import/consents",
        "text/csv",
        consents.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 403);
}

/// A households file is its member rows, grouped by 世帯番号: each household one
/// upsertHousehold under its 世帯番号, and a consultation may then name it.
async fn households_are_their_member_rows_grouped_by_household_number(srv: &Server) {
    let own = srv.agency("imp-hh", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("imp-hh-cw", &own, &["caseworker"]).await;
    assert_eq!(
        post(
            srv,
            &cw,
            "/import/persons",
            "text/csv",
            PERSONS.as_bytes().to_vec()
        )
        .await
        .json()["created"],
        2
    );
    let file = cp932(
        "世帯番号,宛名番号,続柄,世帯主,加入日\r\nH-1,R-1,本人,○,平成元年1月8日\r\nH-1,R-2,妻,,\r\n",
    );
    let a = post(srv, &cw, "/import/households", "text/csv", file.clone()).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
    assert_eq!(
        (a.json()["rows"].clone(), a.json()["created"].clone()),
        (json!(2), json!(1))
    );
    let r = srv
        .gql(&cw, "query($s: String!, $e: String!) { householdByRef(system: $s, externalId: $e) { id members { relationship isHead joinedOn person { id } } } }", json!({ "s": "csv", "e": "H-1" }))
        .await;
    let h = &r.ok()["householdByRef"];
    let members = h["members"].as_array().unwrap();
    assert_eq!(members.len(), 2, "{h}");
    let taro = by_ref(srv, &cw, "csv", "R-1").await["id"].clone();
    let head = members.iter().find(|m| m["person"]["id"] == taro).unwrap();
    assert_eq!(
        (head["relationship"].clone(), head["isHead"].clone()),
        (json!("本人"), json!(true))
    );
    assert_eq!(head["joinedOn"], "1989-01-08");
    // Again: nothing written; a consultation names the household by its 世帯番号.
    let before = srv.snapshot().await;
    assert_eq!(
        post(srv, &cw, "/import/memberships", "text/csv", file)
            .await
            .json()["unchanged"],
        1
    );
    srv.assert_unchanged(&before, "re-importing households")
        .await;
    let c = "相談番号,宛名番号,世帯番号,受付日,相談内容\nS-9,R-1,H-1,R6.6.1,世帯の相談\nS-10,R-1,H-404,R6.6.2,知らない世帯\n";
    let a = post(
        srv,
        &cw,
        "/import/consultations?skipBadRows=true",
        "text/csv",
        c.as_bytes().to_vec(),
    )
    .await;
    let report = a.json();
    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["errors"][0]["line"], 3);
    assert!(report["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("H-404"));
    // A person twice in one household is that row's error.
    let twice = "世帯番号,宛名番号,続柄\nH-2,R-1,本人\nH-2,R-1,本人\n";
    let a = post(
        srv,
        &cw,
        "/import/households",
        "text/csv",
        twice.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(a.status, 422);
    assert_eq!(a.json()["errors"][0]["line"], 3);
}
