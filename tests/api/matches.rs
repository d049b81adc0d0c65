//! 名寄せ (issue 16, item 3): `personMatches` finds a person however the reading was typed,
//! scores candidates with their evidence, shows only persons the caller may know, says of
//! anybody else at most "a probable match is held elsewhere" (README §6), and is ledgered;
//! `persons(name:)` folds 異体字 with the same key.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(
    reading_variants_find_the_same_person,
    candidates_are_scored_best_first_with_their_evidence,
    a_person_the_caller_may_not_know_is_never_named,
    the_search_is_ledgered_without_hidden_persons,
    name_search_folds_variant_kanji,
    only_roles_that_record_persons_may_search,
    the_upgrade_recomputes_stored_keys
);

const MATCHES: &str = "query($f: String!, $g: String!, $b: Date, $s: Sex, $p: String, $a: String) {
  personMatches(familyNameKana: $f, givenNameKana: $g, birthDate: $b, sex: $s, phone: $p, address: $a) {
    candidates { score probable evidence person { id familyName givenName ownerAgency { id } } }
    probableMatchElsewhere
  }
}";

fn person(family: &str, given: &str, kf: &str, kg: &str, birth: &str, sex: &str) -> Value {
    let mut p = person_input(family, given, kf, kg);
    p["birthDate"] = json!(birth);
    p["sex"] = json!(sex);
    p["phone"] = json!(null);
    p["address"] = json!(null);
    p
}

async fn search(srv: &Server, token: &str, vars: Value) -> Value {
    srv.gql(token, MATCHES, vars).await.ok()["personMatches"].clone()
}

fn ids(answer: &Value) -> Vec<String> {
    answer["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["person"]["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn reading_variants_find_the_same_person(srv: &Server) {
    let a = srv.agency("nm-a", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("nm-a-cw", &a, &["caseworker"]).await;
    let saito = srv
        .person(
            &cw,
            person("斎藤", "一郎", "ｻｲﾄｳ", "ｲﾁﾛｳ", "1960-01-02", "MALE"),
        )
        .await;
    let ohno = srv
        .person(
            &cw,
            person("大野", "透", "オオノ", "トオル", "1970-03-03", "MALE"),
        )
        .await;
    let eve = srv
        .person(
            &cw,
            person("野村", "イヴ", "ノムラ", "イヴ", "1980-05-05", "FEMALE"),
        )
        .await;
    let kikkawa = srv
        .person(
            &cw,
            person("吉川", "洋子", "キッカワ", "ヨウコ", "1955-06-06", "FEMALE"),
        )
        .await;
    let wo = srv
        .person(
            &cw,
            person("岡田", "栄", "ヲカダ", "サカエ", "1945-07-07", "MALE"),
        )
        .await;
    let cases: &[(&str, &str, &str)] = &[
        // full/half width and script
        ("サイトウ", "イチロウ", &saito),
        ("さいとう", "いちろう", &saito),
        ("ｻｲﾄｳ", "ｲﾁﾛｳ", &saito),
        // long vowels
        ("サイトー", "イチロー", &saito),
        ("オーノ", "トール", &ohno),
        ("おうの", "とうる", &ohno),
        // ヴ / ブ
        ("ノムラ", "イブ", &eve),
        ("のむら", "いゔ", &eve),
        // small kana
        ("キツカワ", "ヨーコ", &kikkawa),
        // ヲ → オ, spaces
        ("オカダ", "サカエ", &wo),
        ("　を か だ ", " さかえ", &wo),
        // combined dakuten
        ("のむら", "いう\u{3099}", &eve),
    ];
    for (f, g, want) in cases {
        let r = search(srv, &cw, json!({ "f": f, "g": g })).await;
        assert_eq!(ids(&r), vec![want.to_string()], "{f} {g}: {r}");
        assert_eq!(
            r["candidates"][0]["evidence"],
            json!(["NAME_KANA"]),
            "{f} {g}"
        );
        assert_eq!(r["candidates"][0]["score"], 40);
        assert_eq!(r["probableMatchElsewhere"], false);
    }
    // A different name is not a candidate; nor is a reading that is not kana accepted.
    let r = search(srv, &cw, json!({ "f": "サトウ", "g": "イチロウ" })).await;
    assert_eq!(ids(&r), Vec::<String>::new());
    let bad = srv
        .gql(&cw, MATCHES, json!({ "f": "Saito", "g": "イチロウ" }))
        .await;
    let e = bad.only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "familyNameKana", "{}", bad.body);
    // The person search uses the same key.
    let r = srv
        .gql(
            &cw,
            "query($k: String!) { persons(kana: $k) { nodes { id } } }",
            json!({ "k": "おーの とーる" }),
        )
        .await;
    assert_eq!(r.ok()["persons"]["nodes"], json!([{ "id": ohno }]));
}

async fn candidates_are_scored_best_first_with_their_evidence(srv: &Server) {
    let a = srv.agency("nm-s", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("nm-s-cw", &a, &["caseworker"]).await;
    let mut full = person("髙橋", "花子", "タカハシ", "ハナコ", "1950-04-01", "FEMALE");
    full["phone"] = json!("0235-00-0000");
    full["address"] = json!("鶴岡市本町一丁目 1-1");
    let best = srv.person(&cw, full).await;
    // Same reading, another birth date.
    let namesake = srv
        .person(
            &cw,
            person("高橋", "花子", "タカハシ", "ハナコ", "1951-05-05", "FEMALE"),
        )
        .await;
    // Married: another family name, same given name and birth date.
    let married = srv
        .person(
            &cw,
            person("佐藤", "花子", "サトウ", "ハナコ", "1950-04-01", "FEMALE"),
        )
        .await;
    // Same birth date only: not a candidate.
    srv.person(
        &cw,
        person("鈴木", "一郎", "スズキ", "イチロウ", "1950-04-01", "MALE"),
    )
    .await;
    let r = search(
        srv,
        &cw,
        json!({ "f": "たかはし", "g": "ﾊﾅｺ", "b": "1950-04-01", "s": "FEMALE",
                "p": "０２３５－００－００００", "a": "鶴岡市本町一丁目1-1" }),
    )
    .await;
    assert_eq!(
        ids(&r),
        vec![best.clone(), married.clone(), namesake.clone()],
        "{r}"
    );
    let c = &r["candidates"];
    assert_eq!(c[0]["score"], 100);
    assert_eq!(c[0]["probable"], true);
    assert_eq!(
        c[0]["evidence"],
        json!(["NAME_KANA", "BIRTH_DATE", "SEX", "PHONE", "ADDRESS"])
    );
    assert_eq!(c[0]["person"]["familyName"], "髙橋");
    assert_eq!(c[1]["score"], 55);
    assert_eq!(c[1]["probable"], false);
    assert_eq!(
        c[1]["evidence"],
        json!(["GIVEN_NAME_KANA", "BIRTH_DATE", "SEX"])
    );
    assert_eq!(c[2]["score"], 45);
    assert_eq!(c[2]["evidence"], json!(["NAME_KANA", "SEX"]));
    // `first` bounds the answer (1..=20).
    let r = srv
        .gql(
            &cw,
            "{ personMatches(familyNameKana: \"タカハシ\", givenNameKana: \"ハナコ\", birthDate: \"1950-04-01\", first: 1) { candidates { person { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r.ok()["personMatches"]["candidates"],
        json!([{ "person": { "id": best } }])
    );
    let r = srv
        .gql(
            &cw,
            "{ personMatches(familyNameKana: \"タカハシ\", givenNameKana: \"ハナコ\", first: 21) { probableMatchElsewhere } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r.only_error("BAD_USER_INPUT")["extensions"]["field"],
        "first"
    );
}

/// B holds 渡邊 花子; A may not know her. A learns only the yes/no hint, and only for a strong
/// match typed in full; never her id, name, agency or how many.
async fn a_person_the_caller_may_not_know_is_never_named(srv: &Server) {
    let a = srv.agency("nm-ha", "SELF_RELIANCE").await;
    let b = srv.agency("nm-hb", "CHILD_FAMILY").await;
    let (_, a_cw) = srv.account("nm-ha-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("nm-hb-cw", &b, &["caseworker"]).await;
    let hidden = srv
        .person(
            &b_cw,
            person("渡邊", "花子", "ワタナベ", "ハナコ", "1970-07-07", "FEMALE"),
        )
        .await;
    let mut dv = person("秘匿", "花子", "ヒトク", "ハナコ", "1971-01-01", "FEMALE");
    dv["addressConfidential"] = json!(true);
    let protected = srv.person(&b_cw, dv).await;
    // The same protected person registered again at a third agency, without the measure:
    // she must not raise the hint through that record either.
    let c = srv.agency("nm-hc", "DISABILITY").await;
    let (_, c_cw) = srv.account("nm-hc-cw", &c, &["caseworker"]).await;
    let again = srv
        .person(
            &c_cw,
            person("秘匿", "花子", "ヒトク", "ハナコ", "1971-01-01", "FEMALE"),
        )
        .await;
    let secrets = [
        again.as_str(),
        hidden.as_str(),
        protected.as_str(),
        b.as_str(),
        "nm-hb",
        "渡邊",
        "秘匿",
        "CHILD_FAMILY",
    ];
    let clean = |r: &Value, what: &str| {
        let text = r.to_string();
        for s in secrets {
            assert!(!text.contains(s), "{what}: {s} leaked in {text}");
        }
    };
    let strong = json!({ "f": "わたなべ", "g": "はなこ", "b": "1970-07-07" });
    let r = search(srv, &a_cw, strong.clone()).await;
    clean(&r, "strong");
    assert_eq!(
        r,
        json!({ "candidates": [], "probableMatchElsewhere": true })
    );
    // Anything short of the whole reading and the birth date: the same "no" as nobody.
    for (what, vars) in [
        ("no birth date", json!({ "f": "ワタナベ", "g": "ハナコ" })),
        (
            "another birth date",
            json!({ "f": "ワタナベ", "g": "ハナコ", "b": "1970-07-08" }),
        ),
        (
            "given name only",
            json!({ "f": "サトウ", "g": "ハナコ", "b": "1970-07-07" }),
        ),
        (
            "family name only",
            json!({ "f": "ワタナベ", "g": "ハナエ", "b": "1970-07-07" }),
        ),
        (
            "nobody",
            json!({ "f": "ダレモ", "g": "イナイ", "b": "1970-07-07" }),
        ),
        // DV等支援措置: never, even a strong match, nor through an unprotected duplicate.
        (
            "protected",
            json!({ "f": "ヒトク", "g": "ハナコ", "b": "1971-01-01" }),
        ),
    ] {
        let r = search(srv, &a_cw, vars).await;
        clean(&r, what);
        assert_eq!(
            r,
            json!({ "candidates": [], "probableMatchElsewhere": false }),
            "{what}"
        );
    }
    // A consent to A for IDENTITY: now a candidate in full, and no longer a hint.
    srv.consent(&b_cw, consent_input(&hidden, &["IDENTITY"], &[&a], &[]))
        .await;
    let answer = srv.gql(&a_cw, MATCHES, strong).await;
    // Which agency holds her is NARRATIVE: not covered by the consent, withheld as anywhere.
    assert_eq!(answer.codes(), vec!["CONSENT_REQUIRED"], "{}", answer.body);
    let r = answer.data()["personMatches"].clone();
    assert_eq!(ids(&r), vec![hidden.clone()]);
    assert_eq!(r["probableMatchElsewhere"], false);
    assert_eq!(r["candidates"][0]["person"]["familyName"], "渡邊");
    assert_eq!(
        r["candidates"][0]["evidence"],
        json!(["NAME_KANA", "BIRTH_DATE"])
    );
    assert_eq!(r["candidates"][0]["person"]["ownerAgency"], Value::Null);
}

async fn the_search_is_ledgered_without_hidden_persons(srv: &Server) {
    let a = srv.agency("nm-la", "SELF_RELIANCE").await;
    let b = srv.agency("nm-lb", "DISABILITY").await;
    let (a_acc, a_cw) = srv.account("nm-la-cw", &a, &["caseworker"]).await;
    let (_, b_cw) = srv.account("nm-lb-cw", &b, &["caseworker"]).await;
    let mine = srv
        .person(
            &a_cw,
            person("山田", "花子", "ヤマダ", "ハナコ", "1965-02-02", "FEMALE"),
        )
        .await;
    let theirs = srv
        .person(
            &b_cw,
            person("山田", "花子", "ヤマダ", "ハナコ", "1965-02-02", "FEMALE"),
        )
        .await;
    let before = srv.ledger().await.len();
    let r = search(
        srv,
        &a_cw,
        json!({ "f": "ヤマダ", "g": "ハナコ", "b": "1965-02-02", "p": "090-0000-0000" }),
    )
    .await;
    assert_eq!(ids(&r), vec![mine.clone()]);
    assert_eq!(r["probableMatchElsewhere"], true);
    let rows: Vec<_> = srv.ledger().await.into_iter().skip(before).collect();
    let search_rows: Vec<_> = rows
        .iter()
        .filter(|e| e.record_type == "person_match")
        .collect();
    assert_eq!(search_rows.len(), 1, "{rows:?}");
    let s = search_rows[0];
    assert_eq!(s.action, "READ");
    assert_eq!(s.account_id.as_deref(), Some(a_acc.as_str()));
    assert_eq!(s.subject_person_id, None);
    let detail: Value = serde_json::from_str(&s.detail.to_string()).expect("detail");
    assert_eq!(
        detail,
        json!({ "given": ["familyNameKana", "givenNameKana", "birthDate", "phone"],
                "candidates": 1, "elsewhere": true })
    );
    // The values searched for are not in the ledger, and neither is the hidden person.
    for e in &rows {
        let text = format!("{e:?}");
        assert!(
            !text.contains(&theirs),
            "hidden person in the ledger: {text}"
        );
        assert!(
            !text.contains("1965-02-02") && !text.contains("090-0000-0000"),
            "{text}"
        );
    }
    // The candidate shown was read under IDENTITY (and its phone compared under CONTACT).
    let reads: Vec<_> = rows
        .iter()
        .filter(|e| e.subject_person_id.as_deref() == Some(mine.as_str()))
        .collect();
    assert!(!reads.is_empty(), "{rows:?}");
    let shown: String = reads.iter().map(|e| e.shown.clone()).collect();
    assert!(shown.contains("IDENTITY"), "{shown}");
}

async fn name_search_folds_variant_kanji(srv: &Server) {
    let a = srv.agency("nm-k", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("nm-k-cw", &a, &["caseworker"]).await;
    let taka = srv
        .person(
            &cw,
            person("髙橋", "一", "タカハシ", "ハジメ", "1950-01-01", "MALE"),
        )
        .await;
    let wata = srv
        .person(
            &cw,
            person("渡辺", "一", "ワタナベ", "ハジメ", "1950-01-01", "MALE"),
        )
        .await;
    let saki = srv
        .person(
            &cw,
            person(
                "山\u{FA11}",
                "一",
                "ヤマサキ",
                "ハジメ",
                "1950-01-01",
                "MALE",
            ),
        )
        .await;
    let q = "query($n: String!) { persons(name: $n) { nodes { id } } }";
    for (name, want) in [
        ("高橋", &taka),
        ("髙橋", &taka),
        ("高橋 一", &taka),
        ("渡邊", &wata),
        ("渡邉 一", &wata),
        ("渡辺", &wata),
        ("山崎", &saki),
        ("山﨑", &saki),
    ] {
        let r = srv.gql(&cw, q, json!({ "n": name })).await;
        assert_eq!(
            r.ok()["persons"]["nodes"],
            json!([{ "id": want }]),
            "{name}"
        );
    }
    let r = srv.gql(&cw, q, json!({ "n": "高田" })).await;
    assert_eq!(r.ok()["persons"]["nodes"], json!([]));
}

async fn only_roles_that_record_persons_may_search(srv: &Server) {
    let a = srv.agency("nm-r", "SELF_RELIANCE").await;
    let vars = json!({ "f": "ヤマダ", "g": "ハナコ", "b": "1965-02-02" });
    for roles in [["life_support_coordinator"], ["analyst"], ["auditor"]] {
        let (_, t) = srv.account(&format!("nm-r-{}", roles[0]), &a, &roles).await;
        let r = srv.gql(&t, MATCHES, vars.clone()).await;
        r.only_error("FORBIDDEN");
    }
    let (_, coord) = srv.account("nm-r-coord", &a, &["coordinator"]).await;
    let r = search(srv, &coord, vars).await;
    assert_eq!(r["candidates"], json!([]));
}

/// m20261208_000001_match_keys: keys stored under the old definition (long vowels kept as
/// ー) are recomputed with `kana::match_key`; the record's version is untouched.
async fn the_upgrade_recomputes_stored_keys(srv: &Server) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let a = srv.agency("nm-m", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("nm-m-cw", &a, &["caseworker"]).await;
    let p = srv
        .person(
            &cw,
            person("佐藤", "陽子", "サトー", "ヨーコ", "1950-01-01", "FEMALE"),
        )
        .await;
    let stale = "サトーヨーコ";
    entity::person::Entity::update_many()
        .col_expr(
            entity::person::Column::KanaKey,
            sea_orm::sea_query::Expr::value(stale),
        )
        .filter(entity::person::Column::Id.eq(p.as_str()))
        .exec(&srv.db)
        .await
        .expect("stale key");
    let before = entity::person::Entity::find_by_id(p.clone())
        .one(&srv.db)
        .await
        .expect("read")
        .expect("person");
    assert_eq!(before.kana_key, stale);
    let q = "query($k: String!) { persons(kana: $k) { nodes { id } } }";
    let r = srv.gql(&cw, q, json!({ "k": "サトウ ヨウコ" })).await;
    assert_eq!(
        r.ok()["persons"]["nodes"],
        json!([]),
        "the stale key is not found"
    );
    migration::recompute_kana_keys(&srv.db)
        .await
        .expect("recompute");
    let after = entity::person::Entity::find_by_id(p.clone())
        .one(&srv.db)
        .await
        .expect("read")
        .expect("person");
    assert_eq!(
        after.kana_key,
        tsunagi_api::kana::match_key("サトーヨーコ").unwrap()
    );
    assert_eq!(after.kana_key, "サトウヨウコ");
    assert_eq!(
        (after.version, after.updated_at),
        (before.version, before.updated_at)
    );
    let r = srv.gql(&cw, q, json!({ "k": "さとう ようこ" })).await;
    assert_eq!(r.ok()["persons"]["nodes"], json!([{ "id": p }]));
}
