//! The demo's persons, households, consultations, consents and referrals.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use super::{date_time, Loader};
use crate::audit;

const CREATE_PERSON: &str =
    "mutation DemoPerson($i: CreatePersonInput!) { createPerson(input: $i) { id } }";
const CREATE_HOUSEHOLD: &str =
    "mutation DemoHousehold($m: [MemberInput!]!) { createHousehold(members: $m) { id } }";
const RECORD_CONSULTATION: &str = "mutation DemoConsultation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }";
const RECORD_CONSENT: &str =
    "mutation DemoConsent($i: RecordConsentInput!) { recordConsent(input: $i) { id } }";
const PROPOSE_REFERRAL: &str = "mutation DemoReferral($i: ProposeReferralInput!) { proposeReferral(input: $i) { id version } }";

/// Persons, households, consultations, consents and referrals, each written by the
/// caseworker of the agency that receives them. Returns the 山田 son's id and his
/// household's.
pub(super) async fn cases_and_records(l: &mut Loader<'_>) -> anyhow::Result<(String, String)> {
    let now = audit::now_micros();
    let [mother, son, sato, sato_child, suzuki] = l
        .create_each(CREATE_PERSON, "createPerson", [
            // 山田家: 8050 — 83歳の母 (要介護2) と 52歳のひきこもりの長男。包括が受付。
            ("houkatsu-cw", json!({ "i": {
                "familyName": "山田", "givenName": "トメ", "familyNameKana": "ヤマダ", "givenNameKana": "トメ",
                "birthDate": "1943-05-12", "sex": "FEMALE", "address": "鶴岡市本町一丁目 2-3",
                "district": "中央圏域", "phone": "0235-00-1234", "careLevel": "要介護2" } })),
            ("houkatsu-cw", json!({ "i": {
                "familyName": "山田", "givenName": "健一", "familyNameKana": "ヤマダ", "givenNameKana": "ケンイチ",
                "birthDate": "1974-09-03", "sex": "MALE", "address": "鶴岡市本町一丁目 2-3",
                "district": "中央圏域", "publicAssistance": false } })),
            // 佐藤家: DV 支援措置中の母と小学生の子。こども家庭センターが受付。The address is
            // real data like any other; that it is suppressed is shown only through
            // `addressConfidential` (CHILD_PROTECTION), never in the value itself. The
            // measure covers the accompanying child (同一世帯の子も支援措置の対象).
            ("kodomo-cw", json!({ "i": {
                "familyName": "佐藤", "givenName": "美咲", "familyNameKana": "サトウ", "givenNameKana": "ミサキ",
                "birthDate": "1990-02-20", "sex": "FEMALE", "address": "鶴岡市大山二丁目 14-8",
                "district": "西部圏域", "phone": "090-0000-5678", "addressConfidential": true } })),
            ("kodomo-cw", json!({ "i": {
                "familyName": "佐藤", "givenName": "陽向", "familyNameKana": "サトウ", "givenNameKana": "ヒナタ",
                "birthDate": "2017-07-01", "sex": "MALE", "address": "鶴岡市大山二丁目 14-8",
                "district": "西部圏域", "addressConfidential": true } })),
            // 鈴木: 生活困窮、債務。くらしステーションが受付。
            ("kurashi-cw", json!({ "i": {
                "familyName": "鈴木", "givenName": "大輔", "familyNameKana": "スズキ", "givenNameKana": "ダイスケ",
                "birthDate": "1981-11-30", "sex": "MALE", "address": "鶴岡市大山三丁目 4-5",
                "district": "大山圏域", "phone": "080-0000-9012",
                "disabilityCertificate": "精神障害者保健福祉手帳 3級", "publicAssistance": false } })),
        ])
        .await?;

    let member = |id: &str, rel: &str, head: bool| json!({ "personId": id, "relationship": rel, "isHead": head, "joinedOn": "2020-04-01" });
    let [yamada, sato_home, suzuki_home] = l
        .create_each(CREATE_HOUSEHOLD, "createHousehold", [
            ("houkatsu-cw", json!({ "m": [member(&mother, "本人", true), member(&son, "長男", false)] })),
            ("kodomo-cw", json!({ "m": [member(&sato, "本人", true), member(&sato_child, "長男", false)] })),
            ("kurashi-cw", json!({ "m": [member(&suzuki, "本人", true)] })),
        ])
        .await?;

    let day = |d: i64| {
        date_time(
            Utc.with_ymd_and_hms(2026, 10, 1, 9, 30, 0)
                .single()
                .unwrap_or(now)
                + Duration::days(d),
        )
    };
    let issue = |code: &str, main: bool| json!({ "code": code, "main": main });
    let [yamada_consultation, sato_consultation, suzuki_consultation] = l
        .create_each(RECORD_CONSULTATION, "recordConsultation", [
            ("houkatsu-cw", json!({ "i": {
                "receivedAt": day(0), "channel": "VISIT", "subjectPersonIds": [mother, son], "householdId": yamada,
                "issues": [issue("P8050", true), issue("NURSING_CARE", false), issue("HIKIKOMORI", false)],
                "summary": "母の介護サービス調整の相談。同居の長男は 20 年以上ひきこもり状態で、母の年金で生活している。長男本人とはまだ会えていない。",
                "urgency": "HIGH" } })),
            ("kodomo-cw", json!({ "i": {
                "receivedAt": day(3), "channel": "VISIT", "subjectPersonIds": [sato, sato_child], "householdId": sato_home,
                "issues": [issue("DV", true), issue("CHILDREN", false)],
                "summary": "元配偶者からの DV により転居。支援措置申出済み。子の就学手続きと生活費について相談。",
                "urgency": "CRITICAL" } })),
            ("kurashi-cw", json!({ "i": {
                "receivedAt": day(10), "channel": "VISIT", "subjectPersonIds": [suzuki], "householdId": suzuki_home,
                "issues": [issue("DEBT", true), issue("WORK_SCHOOL", false), issue("MENTAL_HEALTH", false)],
                "summary": "消費者金融に約 200 万円の債務。うつ病で離職し、家賃を 2 か月滞納している。",
                "urgency": "HIGH" } })),
        ])
        .await?;
    let (takikan, nikokoro, kurashi) = (
        l.agency("city-takikan")?,
        l.agency("nikokoro")?,
        l.agency("kurashi")?,
    );
    for (id, login) in [
        (&yamada_consultation, "houkatsu-cw"),
        (&sato_consultation, "kodomo-cw"),
        (&suzuki_consultation, "kurashi-cw"),
    ] {
        l.run(login, "mutation DemoStatus($id: ID!) { setConsultationStatus(id: $id, version: 1, status: IN_PROGRESS) { id } }",
            json!({ "id": id })).await?;
    }

    // Consents: 山田健一 agrees to share IDENTITY/CONTACT/HOUSEHOLD with the disability centre
    // and 多機関協働; 鈴木 agrees to share with every 地域包括 (by kind) and 多機関協働 incl. HEALTH.
    // Relative to the load, so the demo keeps working: from yesterday for a year.
    let (from, until) = (
        date_time(now - Duration::days(1)),
        date_time(now + Duration::days(365)),
    );
    for (login, person, cats, agencies, kinds) in [
        (
            "houkatsu-cw",
            &son,
            vec!["IDENTITY", "CONTACT", "HOUSEHOLD"],
            vec![&nikokoro, &takikan],
            vec![],
        ),
        (
            "kurashi-cw",
            &suzuki,
            vec!["IDENTITY", "CONTACT", "HEALTH", "LIVELIHOOD"],
            vec![&takikan],
            vec!["COMPREHENSIVE_CARE"],
        ),
        (
            "kodomo-cw",
            &sato,
            vec!["IDENTITY", "CONTACT"],
            vec![&kurashi],
            vec![],
        ),
    ] {
        l.create(login, RECORD_CONSENT, "recordConsent", json!({ "i": {
            "personId": person, "givenBy": "SELF", "categories": cats, "recipientAgencyIds": agencies,
            "recipientAgencyKinds": kinds, "purpose": "SUPPORT", "validFrom": from, "validUntil": until,
            "method": "WRITTEN", "evidenceRef": "同意書 R8-001", "explanationVersion": "v1" } }))
            .await?;
    }

    // Referrals: the son from 包括 to にこころ (proposed); 佐藤美咲 from こども家庭 to くらし (accepted).
    let [_, accepted] = l
        .create_each(
            PROPOSE_REFERRAL,
            "proposeReferral",
            [
                (
                    "houkatsu-cw",
                    json!({ "i": {
                "personId": son, "toAgencyId": nikokoro, "consultationId": yamada_consultation,
                "reason": "長男の社会参加と障害の可能性についてアセスメントをお願いしたい。" } }),
                ),
                (
                    "kodomo-cw",
                    json!({ "i": {
                "personId": sato, "toAgencyId": kurashi, "consultationId": sato_consultation,
                "reason": "転居後の生活費と就労について自立相談支援をお願いしたい。" } }),
                ),
            ],
        )
        .await?;
    l.run(
        "kurashi-cw",
        "mutation DemoAccept($id: ID!) { acceptReferral(id: $id, version: 1) { id } }",
        json!({ "id": accepted }),
    )
    .await?;
    Ok((son, yamada))
}
