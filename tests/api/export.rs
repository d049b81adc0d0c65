//! CSV export (issue 16, item 2) through `GET /export/persons`: exactly what the caller may
//! see, withheld cells empty with the categories named, ledgered per subject before the file
//! leaves; UTF-8 with a BOM and CRLF by default, CP932 on request, and a file CP932 cannot
//! hold refused with the cells named, never a character replaced; an agency's export
//! imports again without a change.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, tests, Server};

tests!(
    an_export_imports_again_without_a_change,
    another_agency_gets_only_what_its_consent_opens_and_the_reads_are_ledgered,
    cp932_is_refused_for_what_it_cannot_hold_and_never_replaced,
);

struct File {
    status: u16,
    content_type: String,
    bytes: Vec<u8>,
}

async fn export(srv: &Server, token: &str, query: &str) -> File {
    let resp = reqwest::Client::new()
        .get(srv.url(&format!("/export/persons{query}")))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("GET /export");
    File {
        status: resp.status().as_u16(),
        content_type: resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        bytes: resp.bytes().await.expect("body").to_vec(),
    }
}

async fn import(srv: &Server, token: &str, body: Vec<u8>) -> Value {
    let resp = reqwest::Client::new()
        .post(srv.url("/import/persons"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "text/csv")
        .body(body)
        .send()
        .await
        .expect("POST /import");
    assert!(resp.status().is_success() || resp.status().as_u16() == 422);
    resp.json().await.expect("report")
}

/// The file's rows (header first) as the `csv` crate reads them, from UTF-8 after its BOM.
fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a BOM");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text)
        .records()
        .map(|r| r.expect("CSV").iter().map(str::to_owned).collect())
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}: {:?}", rows[0]))
}

const FILE: &str = "宛名番号,氏名,フリガナ,生年月日,性別,住所,電話番号,地区\r\n\
E-1,髙橋 一郎,ﾀｶﾊｼ ｲﾁﾛｳ,昭和50年4月1日,男,鶴岡市本町１－２,0235-22-1234,中央\r\n\
E-2,山﨑 花子,やまざき はなこ,H31.4.30,女,\"鶴岡市馬場町9, 2階\",,北部\r\n";

async fn an_export_imports_again_without_a_change(srv: &Server) {
    let own = srv.agency("exp-own", "COMPREHENSIVE_CARE").await;
    let (_, cw) = srv.account("exp-cw", &own, &["caseworker"]).await;
    assert_eq!(
        import(srv, &cw, FILE.as_bytes().to_vec()).await["created"],
        2
    );
    // Cells a spreadsheet would run as formulas (CSV injection).
    let formulas = "宛名番号,氏名,フリガナ,住所,電話番号,地区\r\nE-3,式 三郎,シキ サブロウ,=1+1 番地,+81-90-1234-5678,@南部\r\n";
    assert_eq!(
        import(srv, &cw, formulas.as_bytes().to_vec()).await["created"],
        1
    );
    let f = export(srv, &cw, "").await;
    assert_eq!(f.status, 200);
    assert_eq!(f.content_type, "text/csv; charset=utf-8");
    assert!(
        f.bytes.starts_with(b"\xEF\xBB\xBF"),
        "a BOM: Excel opens it as UTF-8"
    );
    let text = String::from_utf8(f.bytes.clone()).unwrap();
    assert_eq!(text.matches("\r\n").count(), 4, "CRLF line ends: {text}");
    assert_eq!(text.matches('\n').count(), 4, "no bare LF");
    let rows = rows(&f.bytes);
    assert_eq!(rows.len(), 4);
    let row = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    let e1 = row("E-1");
    assert_eq!(e1[column(&rows, "姓")], "髙橋");
    assert_eq!(e1[column(&rows, "姓カナ")], "タカハシ");
    assert_eq!(e1[column(&rows, "生年月日")], "1975/04/01");
    assert_eq!(e1[column(&rows, "性別")], "男");
    assert_eq!(
        e1[column(&rows, "非開示区分")],
        "",
        "the agency's own: nothing withheld"
    );
    assert_eq!(row("E-2")[column(&rows, "住所")], "鶴岡市馬場町9, 2階");
    // A leading = + - @ is written after a ' so that Excel shows text, not a formula.
    let e3 = row("E-3");
    assert_eq!(e3[column(&rows, "住所")], "'=1+1 番地");
    assert_eq!(e3[column(&rows, "電話番号")], "'+81-90-1234-5678");
    assert_eq!(e3[column(&rows, "地区")], "'@南部");

    // The export back into the hub: every row found by its reference, nothing written.
    let before = srv.snapshot().await;
    let report = import(srv, &cw, f.bytes.clone()).await;
    assert_eq!(report["unchanged"], 3, "{report}");
    assert_eq!(report["errors"], json!([]));
    // The export's own reads are ledgered; the re-import writes nothing at all.
    srv.assert_unchanged(&before, "re-importing an export")
        .await;
}

async fn another_agency_gets_only_what_its_consent_opens_and_the_reads_are_ledgered(srv: &Server) {
    let own = srv.agency("exp-a", "COMPREHENSIVE_CARE").await;
    let other = srv.agency("exp-b", "DISABILITY").await;
    let (_, cw) = srv.account("exp-a-cw", &own, &["caseworker"]).await;
    let (_, cw_b) = srv.account("exp-b-cw", &other, &["caseworker"]).await;
    assert_eq!(
        import(srv, &cw, FILE.as_bytes().to_vec()).await["created"],
        2
    );
    let ledger = srv.ledger().await;
    let takahashi = ledger
        .iter()
        .find(|e| e.operation == "importPersons" && e.detail.contains("\"line\":2"))
        .and_then(|e| e.record_id.clone())
        .unwrap();
    // Agency B: nothing before a consent.
    let f = export(srv, &cw_b, "").await;
    assert_eq!(rows(&f.bytes).len(), 1, "only the header");
    // A consent to B for IDENTITY only: B's export has the name, not the address or phone.
    srv.consent(
        &cw,
        consent_input(&takahashi, &["IDENTITY"], &[&other], &[]),
    )
    .await;
    let seq = srv.ledger().await.last().unwrap().seq;
    let f = export(srv, &cw_b, "").await;
    let rows = rows(&f.bytes);
    assert_eq!(rows.len(), 2, "one person: {rows:?}");
    let r = &rows[1];
    assert_eq!(r[column(&rows, "ハブID")], takahashi);
    assert_eq!(r[column(&rows, "姓")], "髙橋");
    assert_eq!(
        r[column(&rows, "宛名番号")],
        "",
        "A's reference is A's alone"
    );
    assert_eq!(r[column(&rows, "住所")], "");
    assert_eq!(r[column(&rows, "電話番号")], "");
    let text = String::from_utf8_lossy(&f.bytes);
    assert!(!text.contains("本町") && !text.contains("0235"), "{text}");
    let withheld = &r[column(&rows, "非開示区分")];
    for category in ["CONTACT", "HEALTH", "LIVELIHOOD", "CHILD_PROTECTION"] {
        assert!(withheld.contains(category), "{category} in {withheld:?}");
    }
    assert!(!withheld.contains("IDENTITY"));
    // B's export imported into B: refused, a withheld cell is "not shown", not blank.
    let before = srv.snapshot().await;
    let report = import(srv, &cw_b, f.bytes.clone()).await;
    assert_eq!(report["refused"], true, "{report}");
    assert!(
        report["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["line"] == 2 && e["column"] == "非開示区分"),
        "{report}"
    );
    srv.assert_unchanged(&before, "importing an export with withheld cells")
        .await;
    // Ledgered: B's read of the person, with what was shown and withheld.
    let reads: Vec<_> = srv
        .ledger()
        .await
        .into_iter()
        .filter(|e| e.seq > seq && e.action == "READ")
        .collect();
    let read = reads
        .iter()
        .find(|e| e.subject_person_id.as_deref() == Some(takahashi.as_str()))
        .unwrap_or_else(|| panic!("no READ of the person: {reads:?}"));
    assert_eq!(read.operation, "export");
    assert!(read.shown.contains("IDENTITY"), "{}", read.shown);
    assert!(read.withheld.contains("CONTACT"), "{}", read.withheld);
}

async fn cp932_is_refused_for_what_it_cannot_hold_and_never_replaced(srv: &Server) {
    let own = srv.agency("exp-sj", "CHILD_FAMILY").await;
    let (_, cw) = srv.account("exp-sj-cw", &own, &["caseworker"]).await;
    assert_eq!(
        import(srv, &cw, FILE.as_bytes().to_vec()).await["created"],
        2
    );
    // CP932 holds 髙 and 﨑 (NEC/IBM extensions): the file is Shift_JIS and reads back.
    let f = export(srv, &cw, "?encoding=cp932").await;
    assert_eq!(f.status, 200);
    assert_eq!(f.content_type, "text/csv; charset=Shift_JIS");
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&f.bytes);
    assert!(!bad);
    assert!(text.contains("髙橋") && text.contains("山﨑"), "{text}");
    // A name with 𠮷 (outside CP932): refused, the cell named, nothing replaced.
    let r = srv
        .gql(
            &cw,
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
            json!({ "i": tsunagi_tests::person_input("𠮷田", "三郎", "ヨシダ", "サブロウ") }),
        )
        .await;
    r.ok();
    let f = export(srv, &cw, "?encoding=cp932").await;
    assert_eq!(f.status, 422);
    let body: Value = serde_json::from_slice(&f.bytes).unwrap();
    let cells = &body["errors"][0]["extensions"]["unencodable"];
    assert_eq!(cells.as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(cells[0]["column"], "姓");
    assert_eq!(cells[0]["characters"], "𠮷");
    // UTF-8 holds it.
    let f = export(srv, &cw, "").await;
    assert!(String::from_utf8(f.bytes).unwrap().contains("𠮷田"));
    let f = export(srv, &cw, "?encoding=latin1").await;
    assert_eq!(f.status, 400);
}
