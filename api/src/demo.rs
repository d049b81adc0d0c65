//! デモデータ: the seed city's agencies, staff accounts for each role, a few households with
//! Japanese names and kana, consultations, referrals, consents, and the 山田 household's
//! 多機関協働 workflow. Loaded once (`tsunagi serve --demo`).
//!
//! Apart from the bootstrap (the city office and its first admin, which no API call can
//! create), every record is written through the API itself: each step is a GraphQL
//! mutation executed in-process as the demo account that would make it, so the demo's
//! values pass exactly the validation, normalisation and store functions that a client's
//! input passes, and each write has its own WRITE row in the ledger. A value the API would
//! refuse (or could not read back) stops the load with the step that failed.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, TransactionTrait};
use serde_json::{json, Value};

use crate::audit::{self, Entry};
use crate::config::Limits;
use crate::graphql::context::RequestCtx;
use crate::graphql::enums::{AccountKind, LegalRegime};
use crate::graphql::{self, TsunagiSchema};
use crate::policy::{AgencyKind, Principal, Role};
use crate::store;
use entity::{account, agency};

/// (code, name, kind, legal regime)
const AGENCIES: &[(&str, &str, &str, &str)] = &[
    (
        "city-fukushi",
        "市 福祉政策課 (重層的支援体制整備事業 所管)",
        "CITY_OFFICE",
        "PUBLIC_BODY",
    ),
    (
        "city-takikan",
        "市 福祉相談課 多機関協働担当",
        "MULTI_AGENCY",
        "PUBLIC_BODY",
    ),
    (
        "houkatsu-chuo",
        "中央地域包括支援センター",
        "COMPREHENSIVE_CARE",
        "PRIVATE_OPERATOR",
    ),
    (
        "nikokoro",
        "障害者相談支援センターにこころ",
        "DISABILITY",
        "PRIVATE_OPERATOR",
    ),
    (
        "kodomo-katei",
        "こども家庭センター",
        "CHILD_FAMILY",
        "PUBLIC_BODY",
    ),
    (
        "kurashi",
        "鶴岡地域生活自立支援センター くらしステーション",
        "SELF_RELIANCE",
        "PRIVATE_OPERATOR",
    ),
    (
        "shakyo-seikatsu",
        "社会福祉協議会 生活支援コーディネーター",
        "COMMUNITY_BUILDING",
        "PRIVATE_OPERATOR",
    ),
    (
        "sho-chiiki-kakeru",
        "障がい者地域生活支援センター翔",
        "COMMUNITY_BUILDING",
        "PRIVATE_OPERATOR",
    ),
];

/// (login, display name, agency code, kind, roles)
const ACCOUNTS: &[(&str, &str, &str, &str, &str)] = &[
    ("admin", "管理者 佐々木", "city-fukushi", "STAFF", "admin"),
    ("auditor", "監査 村上", "city-fukushi", "STAFF", "auditor"),
    ("analyst", "分析 石川", "city-fukushi", "STAFF", "analyst"),
    (
        "takikan-coord",
        "多機関協働 阿部",
        "city-takikan",
        "STAFF",
        "coordinator",
    ),
    (
        "houkatsu-cw",
        "包括 相談員 高橋",
        "houkatsu-chuo",
        "STAFF",
        "caseworker",
    ),
    (
        "nikokoro-cw",
        "にこころ 相談員 伊藤",
        "nikokoro",
        "STAFF",
        "caseworker",
    ),
    (
        "kodomo-cw",
        "こども家庭 相談員 渡辺",
        "kodomo-katei",
        "STAFF",
        "caseworker",
    ),
    (
        "kurashi-cw",
        "くらし 相談員 中村",
        "kurashi",
        "STAFF",
        "caseworker",
    ),
    (
        "kurashi-system",
        "くらしステーション 相談記録システム",
        "kurashi",
        "SERVICE",
        "integration",
    ),
    (
        "shakyo-lsc",
        "生活支援コーディネーター 小林",
        "shakyo-seikatsu",
        "STAFF",
        "life_support_coordinator",
    ),
];

/// Whether the demo set is already there.
pub async fn loaded(db: &DatabaseConnection) -> Result<bool, DbErr> {
    Ok(store::registry::agency_by_code(db, "houkatsu-chuo")
        .await?
        .is_some())
}

/// The demo's requests, each executed in-process through the schema as one demo account
/// (the same path as `POST /graphql` after authentication: request context, resolvers,
/// read ledger rows appended afterwards).
struct Loader<'a> {
    db: &'a DatabaseConnection,
    schema: TsunagiSchema,
    principals: HashMap<String, Principal>,
    agencies: HashMap<String, String>,
}

impl Loader<'_> {
    /// The principal of a demo account, as authentication would resolve it.
    async fn principal(&mut self, login: &str) -> anyhow::Result<Principal> {
        if let Some(p) = self.principals.get(login) {
            return Ok(p.clone());
        }
        let account = store::registry::account_by_login(self.db, login)
            .await?
            .ok_or_else(|| anyhow!("demo account {login} missing"))?;
        let agency = store::registry::agency(self.db, &account.agency_id)
            .await?
            .ok_or_else(|| anyhow!("agency of {login} missing"))?;
        let p = Principal {
            account_id: account.id,
            agency_id: agency.id,
            agency_kind: AgencyKind::parse(&agency.kind)
                .ok_or_else(|| anyhow!("agency kind {:?}", agency.kind))?,
            roles: Role::parse_set(&account.roles),
        };
        self.principals.insert(login.to_owned(), p.clone());
        Ok(p)
    }

    /// Run one GraphQL request as `login`; any error stops the load.
    async fn run(&mut self, login: &str, query: &str, variables: Value) -> anyhow::Result<Value> {
        let principal = self.principal(login).await?;
        let operation = crate::limits::inspect(query, None).operation;
        let ctx = Arc::new(RequestCtx::new(principal.clone(), audit::now_micros(), 4));
        let request = async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(variables))
            .data(ctx.clone());
        let response = self.schema.execute(request).await;
        if !response.errors.is_empty() {
            let errors: Vec<String> = response
                .errors
                .iter()
                .map(|e| format!("{} {:?}", e.message, e.path))
                .collect();
            bail!(
                "デモデータの投入に失敗 / demo step {operation} as {login} failed: {}",
                errors.join("; ")
            );
        }
        let entries = ctx
            .recorder
            .entries(&principal, &operation)
            .ok_or_else(|| anyhow!("ledger entries of {operation}"))?;
        if !entries.is_empty() {
            let txn = self.db.begin().await?;
            audit::append(&txn, entries).await?;
            txn.commit().await?;
        }
        Ok(response.data.into_json()?)
    }

    /// Run a mutation and return the id of the record it answers with (`{ field { id } }`).
    async fn create(
        &mut self,
        login: &str,
        query: &str,
        field: &str,
        variables: Value,
    ) -> anyhow::Result<String> {
        let data = self.run(login, query, variables).await?;
        data[field]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("{field} returned no id"))
    }

    fn agency(&self, code: &str) -> anyhow::Result<String> {
        self.agencies
            .get(code)
            .cloned()
            .ok_or_else(|| anyhow!("demo agency {code} missing"))
    }
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn date_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Load the demo data set unless it is there already.
pub async fn load(db: &DatabaseConnection) -> anyhow::Result<()> {
    if loaded(db).await? {
        tracing::info!("demo data already loaded");
        return Ok(());
    }
    let mut l = Loader {
        db,
        schema: graphql::schema(Some(db.clone()), &Limits::default()),
        principals: HashMap::new(),
        agencies: HashMap::new(),
    };
    bootstrap(&mut l).await?;
    registry(&mut l).await?;
    let son = cases_and_records(&mut l).await?;
    workflow(&mut l, &son).await?;
    tracing::info!("demo data loaded");
    Ok(())
}

/// The city office and its first admin: the only rows no API call can create (every
/// registry mutation needs an admin). Written with their ledger row in one transaction,
/// from the API's own enums.
async fn bootstrap(l: &mut Loader<'_>) -> anyhow::Result<()> {
    let (code, name, kind, regime) = AGENCIES[0];
    let (login, display, _, _, roles) = ACCOUNTS[0];
    let now = audit::now_micros();
    let kind = AgencyKind::parse(kind).ok_or_else(|| anyhow!("agency kind {kind}"))?;
    let regime = match regime {
        "PUBLIC_BODY" => LegalRegime::PublicBody,
        _ => LegalRegime::PrivateOperator,
    };
    let city = agency::Model {
        id: store::new_id(),
        code: code.to_owned(),
        name: name.to_owned(),
        kind: kind.as_str().to_owned(),
        legal_regime: regime.as_str().to_owned(),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let admin = account::Model {
        id: store::new_id(),
        login: login.to_owned(),
        display_name: display.to_owned(),
        agency_id: city.id.clone(),
        kind: AccountKind::Staff.as_str().to_owned(),
        roles: Role::format_set(&Role::parse_set(roles)),
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let txn = l.db.begin().await?;
    agency::ActiveModel::from(city.clone()).insert(&txn).await?;
    account::ActiveModel::from(admin.clone())
        .insert(&txn)
        .await?;
    audit::append(
        &txn,
        vec![Entry {
            roles: String::new(),
            action: "WRITE",
            operation: "loadDemo".to_owned(),
            record_type: "demo".to_owned(),
            bases: json!({}),
            detail: json!({"bootstrap": {"agency": code, "account": login}, "agencies": AGENCIES.len(), "accounts": ACCOUNTS.len()}),
            ..Entry::default()
        }],
    )
    .await?;
    txn.commit().await?;
    l.agencies.insert(code.to_owned(), city.id);
    Ok(())
}

/// The other agencies and accounts, created by the admin through the registry mutations.
async fn registry(l: &mut Loader<'_>) -> anyhow::Result<()> {
    for (code, name, kind, regime) in &AGENCIES[1..] {
        let id = l
            .create(
                "admin",
                "mutation DemoAgency($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
                "createAgency",
                json!({ "i": { "code": code, "name": name, "kind": kind, "legalRegime": regime } }),
            )
            .await?;
        l.agencies.insert((*code).to_owned(), id);
    }
    for (login, display, code, kind, roles) in &ACCOUNTS[1..] {
        let roles: Vec<String> = roles.split(',').map(str::to_uppercase).collect();
        let agency_id = l.agency(code)?;
        l.create(
                "admin",
                "mutation DemoAccount($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
                "createAccount",
                json!({ "i": { "login": login, "displayName": display, "agencyId": agency_id, "kind": kind, "roles": roles } }),
            )
            .await?;
    }
    Ok(())
}

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
async fn cases_and_records(l: &mut Loader<'_>) -> anyhow::Result<(String, String)> {
    let now = audit::now_micros();
    // 山田家: 8050 — 83歳の母 (要介護2) と 52歳のひきこもりの長男。包括が受付。
    let mother = l
        .create("houkatsu-cw", CREATE_PERSON, "createPerson", json!({ "i": {
            "familyName": "山田", "givenName": "トメ", "familyNameKana": "ヤマダ", "givenNameKana": "トメ",
            "birthDate": "1943-05-12", "sex": "FEMALE", "address": "鶴岡市本町一丁目 2-3",
            "district": "中央圏域", "phone": "0235-00-1234", "careLevel": "要介護2" } }))
        .await?;
    let son = l
        .create("houkatsu-cw", CREATE_PERSON, "createPerson", json!({ "i": {
            "familyName": "山田", "givenName": "健一", "familyNameKana": "ヤマダ", "givenNameKana": "ケンイチ",
            "birthDate": "1974-09-03", "sex": "MALE", "address": "鶴岡市本町一丁目 2-3",
            "district": "中央圏域", "publicAssistance": false } }))
        .await?;
    // 佐藤家: DV 支援措置中の母と小学生の子。こども家庭センターが受付。The address is real
    // data like any other; that it is suppressed is shown only through `addressConfidential`
    // (CHILD_PROTECTION), never in the value itself. The measure covers the accompanying
    // child (同一世帯の子も支援措置の対象).
    let sato = l
        .create("kodomo-cw", CREATE_PERSON, "createPerson", json!({ "i": {
            "familyName": "佐藤", "givenName": "美咲", "familyNameKana": "サトウ", "givenNameKana": "ミサキ",
            "birthDate": "1990-02-20", "sex": "FEMALE", "address": "鶴岡市大山二丁目 14-8",
            "district": "西部圏域", "phone": "090-0000-5678", "addressConfidential": true } }))
        .await?;
    let sato_child = l
        .create("kodomo-cw", CREATE_PERSON, "createPerson", json!({ "i": {
            "familyName": "佐藤", "givenName": "陽向", "familyNameKana": "サトウ", "givenNameKana": "ヒナタ",
            "birthDate": "2017-07-01", "sex": "MALE", "address": "鶴岡市大山二丁目 14-8",
            "district": "西部圏域", "addressConfidential": true } }))
        .await?;
    // 鈴木: 生活困窮、債務。くらしステーションが受付。
    let suzuki = l
        .create("kurashi-cw", CREATE_PERSON, "createPerson", json!({ "i": {
            "familyName": "鈴木", "givenName": "大輔", "familyNameKana": "スズキ", "givenNameKana": "ダイスケ",
            "birthDate": "1981-11-30", "sex": "MALE", "address": "鶴岡市大山三丁目 4-5",
            "district": "大山圏域", "phone": "080-0000-9012",
            "disabilityCertificate": "精神障害者保健福祉手帳 3級", "publicAssistance": false } }))
        .await?;

    let member = |id: &str, rel: &str, head: bool| json!({ "personId": id, "relationship": rel, "isHead": head, "joinedOn": "2020-04-01" });
    let yamada = l
        .create(
            "houkatsu-cw",
            CREATE_HOUSEHOLD,
            "createHousehold",
            json!({ "m": [
            member(&mother, "本人", true), member(&son, "長男", false)] }),
        )
        .await?;
    let sato_home = l
        .create(
            "kodomo-cw",
            CREATE_HOUSEHOLD,
            "createHousehold",
            json!({ "m": [
            member(&sato, "本人", true), member(&sato_child, "長男", false)] }),
        )
        .await?;
    let suzuki_home = l
        .create(
            "kurashi-cw",
            CREATE_HOUSEHOLD,
            "createHousehold",
            json!({ "m": [
            member(&suzuki, "本人", true)] }),
        )
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
    let yamada_consultation = l
        .create("houkatsu-cw", RECORD_CONSULTATION, "recordConsultation", json!({ "i": {
            "receivedAt": day(0), "channel": "VISIT", "subjectPersonIds": [mother, son], "householdId": yamada,
            "issues": [issue("P8050", true), issue("NURSING_CARE", false), issue("HIKIKOMORI", false)],
            "summary": "母の介護サービス調整の相談。同居の長男は 20 年以上ひきこもり状態で、母の年金で生活している。長男本人とはまだ会えていない。",
            "urgency": "HIGH" } }))
        .await?;
    let sato_consultation = l
        .create("kodomo-cw", RECORD_CONSULTATION, "recordConsultation", json!({ "i": {
            "receivedAt": day(3), "channel": "VISIT", "subjectPersonIds": [sato, sato_child], "householdId": sato_home,
            "issues": [issue("DV", true), issue("CHILDREN", false)],
            "summary": "元配偶者からの DV により転居。支援措置申出済み。子の就学手続きと生活費について相談。",
            "urgency": "CRITICAL" } }))
        .await?;
    let suzuki_consultation = l.create("kurashi-cw", RECORD_CONSULTATION, "recordConsultation", json!({ "i": {
        "receivedAt": day(10), "channel": "VISIT", "subjectPersonIds": [suzuki], "householdId": suzuki_home,
        "issues": [issue("DEBT", true), issue("WORK_SCHOOL", false), issue("MENTAL_HEALTH", false)],
        "summary": "消費者金融に約 200 万円の債務。うつ病で離職し、家賃を 2 か月滞納している。",
        "urgency": "HIGH" } }))
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
    l.create(
        "houkatsu-cw",
        PROPOSE_REFERRAL,
        "proposeReferral",
        json!({ "i": {
        "personId": son, "toAgencyId": nikokoro, "consultationId": yamada_consultation,
        "reason": "長男の社会参加と障害の可能性についてアセスメントをお願いしたい。" } }),
    )
    .await?;
    let accepted = l
        .create(
            "kodomo-cw",
            PROPOSE_REFERRAL,
            "proposeReferral",
            json!({ "i": {
            "personId": sato, "toAgencyId": kurashi, "consultationId": sato_consultation,
            "reason": "転居後の生活費と就労について自立相談支援をお願いしたい。" } }),
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

/// The 多機関協働 part: the 山田 household's support case (支援決定 — taken by the city, not at
/// the 支援会議, which the API refuses —, a plan
/// agreed by the mother, the centres' involvements), the 支援会議 in session with 包括 and
/// にこころ as members, the son's outreach visits, and the district's community resources
/// with a placement.
async fn workflow(l: &mut Loader<'_>, (son, household): &(String, String)) -> anyhow::Result<()> {
    let now = audit::now_micros();
    let today = crate::policy::city_date(now);
    let ago = |days: i64| date(today - Duration::days(days));
    let (takikan, houkatsu, nikokoro) = (
        l.agency("city-takikan")?,
        l.agency("houkatsu-chuo")?,
        l.agency("nikokoro")?,
    );
    let coord = "takikan-coord";
    let case = l
        .create(
            coord,
            "mutation DemoCase($i: OpenCaseInput!) { openCase(input: $i) { id } }",
            "openCase",
            json!({ "i": { "householdId": household, "openedOn": ago(50) } }),
        )
        .await?;
    let meeting = l
        .create(coord, "mutation DemoMeeting($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }", "createMeeting",
            json!({ "i": { "kind": "SUPPORT_MEETING", "householdId": household, "caseId": case,
                "heldAt": date_time(now - Duration::days(40)), "participantAgencyIds": [houkatsu, nikokoro],
                "categories": ["IDENTITY", "CONTACT", "HOUSEHOLD", "HEALTH", "PLAN"],
                "periodFrom": date_time(now - Duration::days(40)), "periodUntil": date_time(now + Duration::days(140)) } }))
        .await?;
    l.run(coord, "mutation DemoMinutes($id: ID!, $m: String!) { updateMeetingMinutes(id: $id, version: 1, minutes: $m) { id } }",
        json!({ "id": meeting, "m": "長男の状況共有。本人の同意が得られるまで支援会議で情報を共有し、にこころがアウトリーチを担う。" }))
        .await?;
    l.run(coord, "mutation DemoDecision($c: ID!, $i: SupportDecisionInput!) { recordSupportDecision(caseId: $c, input: $i) { id } }",
        json!({ "c": case, "i": { "decidedOn": ago(45), "decider": "福祉相談課長",
            "basis": "重層的支援体制整備事業実施要綱 第5条" } }))
        .await?;
    for (agency, role) in [
        (&houkatsu, "LEAD"),
        (&nikokoro, "SUPPORTING"),
        (&takikan, "SUPPORTING"),
    ] {
        l.run(coord, "mutation DemoInvolvement($c: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $c, input: $i) { id } }",
            json!({ "c": case, "i": { "agencyId": agency, "role": role, "startedOn": ago(45) } }))
            .await?;
    }
    let plan = l
        .create(coord, "mutation DemoPlan($c: ID!, $i: PlanInput!) { createPlanVersion(caseId: $c, input: $i) { id } }", "createPlanVersion",
            json!({ "c": case, "i": {
                "wishes": "母: 自宅で息子と暮らし続けたい。",
                "longTermGoal": "母の在宅生活の継続と、長男の社会とのつながりの回復",
                "shortTermGoals": ["母の介護サービス利用の安定", "長男との面会の実現"],
                "nextReviewOn": ago(-30),
                "assignments": [
                    { "agencyId": houkatsu, "role": "LEAD", "task": "母のケアマネジメントと家族全体の状況把握", "contactFrequency": "月 1 回訪問" },
                    { "agencyId": nikokoro, "role": "SUPPORTING", "task": "長男へのアウトリーチ (訪問・手紙)", "contactFrequency": "隔週" }
                ] } }))
        .await?;
    // 母の署名 (プラン兼利用申込書): SIGNED.
    l.run(coord, "mutation DemoAgreement($p: ID!, $d: Date!) { recordPlanAgreement(planId: $p, agreedOn: $d, method: SIGNED) { id } }",
        json!({ "p": plan, "d": ago(35) }))
        .await?;
    for to in ["PLANNING", "ACTIVE"] {
        let version = l
            .run(
                coord,
                "query DemoCaseVersion($id: ID!) { supportCase(id: $id) { version } }",
                json!({ "id": case }),
            )
            .await?["supportCase"]["version"]
            .as_i64()
            .ok_or_else(|| anyhow!("case version"))?;
        l.run(coord, "mutation DemoAdvance($id: ID!, $v: Int!, $to: CaseStatus!) { advanceCase(id: $id, version: $v, to: $to) { id } }",
            json!({ "id": case, "v": version, "to": to }))
            .await?;
    }
    for (days, result, stage, note) in [
        (30, "NOT_MET", "PRE_CONTACT", "不在。手紙を投函。"),
        (16, "MET", "CONTACT", "玄関先で 5 分ほど話せた。"),
        (
            2,
            "MET",
            "RELATIONSHIP",
            "自室で面談。ゲームの話題で会話が続いた。",
        ),
    ] {
        l.run("nikokoro-cw", "mutation DemoActivity($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
            json!({ "i": { "kind": "OUTREACH_VISIT", "personId": son, "caseId": case, "occurredOn": ago(days),
                "result": result, "stage": stage, "nextPlannedOn": ago(days - 14), "note": note } }))
            .await?;
    }
    let mut resources = Vec::new();
    for (kind, name, district, schedule, target) in [
        (
            "SALON",
            "本町ふれあいサロン",
            "中央圏域",
            "毎週水曜 10:00-12:00",
            "高齢者",
        ),
        (
            "CHILDRENS_CAFETERIA",
            "みんなの食堂 西部",
            "西部圏域",
            "第 2・第 4 土曜 17:00-19:00",
            "子どもと保護者",
        ),
        (
            "WORK_EXPERIENCE",
            "農園しごと体験 (大山)",
            "大山圏域",
            "平日 9:00-12:00、要予約",
            "就労経験の少ない方、ひきこもりの方",
        ),
        (
            "IBASHO",
            "まちなか居場所 つなぐ",
            "中央圏域",
            "火・金 13:00-17:00",
            "どなたでも",
        ),
    ] {
        resources.push(
            l.create("shakyo-lsc", "mutation DemoResource($i: ResourceInput!) { createCommunityResource(input: $i) { id } }",
                "createCommunityResource",
                json!({ "i": { "kind": kind, "name": name, "district": district, "schedule": schedule,
                    "targetGroups": target, "capacity": 15, "contact": "社会福祉協議会 地域福祉係" } }))
                .await?,
        );
    }
    l.run("nikokoro-cw", "mutation DemoPlacement($p: ID!, $r: ID!, $d: Date!) { startPlacement(personId: $p, resourceId: $r, startedOn: $d) { id } }",
        json!({ "p": son, "r": resources[3], "d": ago(1) }))
        .await?;
    Ok(())
}

/// Print the demo accounts and how to get a token for each.
pub async fn print_accounts(db: &DatabaseConnection) -> Result<(), DbErr> {
    eprintln!("\nデモアカウント / demo accounts — get a token with:");
    for (login, display, code, _, roles) in ACCOUNTS {
        if store::registry::account_by_login(db, login)
            .await?
            .is_some()
        {
            eprintln!(
                "  cargo run -q -p tsunagi-api -- token --account {login:<16} # {display} ({code}, {roles})"
            );
        }
    }
    eprintln!();
    Ok(())
}
