//! デモデータ: the seed city's agencies, staff accounts for each role, a few households with
//! Japanese names and kana, consultations, referrals and consents. Loaded once
//! (`tsunagi serve --demo`); the load is one ledgered write.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbErr, TransactionTrait};

use crate::audit::{self, Entry};
use crate::store;
use entity::{
    account, agency, consent, consent_category, consent_recipient, consultation,
    consultation_issue, consultation_subject, household, household_member, person, referral,
};

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

struct Ids {
    agencies: Vec<(String, String)>,
    accounts: Vec<(String, String)>,
}

impl Ids {
    fn agency(&self, code: &str) -> String {
        self.agencies
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    }
    fn account(&self, login: &str) -> String {
        self.accounts
            .iter()
            .find(|(l, _)| l == login)
            .map(|(_, id)| id.clone())
            .unwrap_or_default()
    }
}

#[allow(clippy::too_many_arguments)]
fn person(
    owner: &str,
    by: &str,
    names: (&str, &str, &str, &str),
    born: (i32, u32, u32),
    sex: &str,
    address: &str,
    district: &str,
    phone: Option<&str>,
) -> person::Model {
    let now = audit::now_micros();
    let key = crate::kana::match_key(&format!("{}{}", names.2, names.3)).unwrap_or_default();
    person::Model {
        id: store::new_id(),
        owner_agency_id: owner.to_owned(),
        family_name: names.0.to_owned(),
        given_name: names.1.to_owned(),
        family_name_kana: names.2.to_owned(),
        given_name_kana: names.3.to_owned(),
        kana_key: key,
        birth_date: NaiveDate::from_ymd_opt(born.0, born.1, born.2),
        sex: sex.to_owned(),
        address: Some(address.to_owned()),
        phone: phone.map(str::to_owned),
        district: Some(district.to_owned()),
        address_confidential: false,
        care_level: None,
        disability_certificate: None,
        public_assistance: None,
        version: 1,
        created_by: by.to_owned(),
        created_at: now,
        updated_at: now,
    }
}

/// Load the demo data set unless it is there already.
pub async fn load(db: &DatabaseConnection) -> Result<(), DbErr> {
    if loaded(db).await? {
        tracing::info!("demo data already loaded");
        return Ok(());
    }
    let now = audit::now_micros();
    let txn = db.begin().await?;
    let mut ids = Ids {
        agencies: Vec::new(),
        accounts: Vec::new(),
    };
    for (code, name, kind, regime) in AGENCIES {
        let a = agency::Model {
            id: store::new_id(),
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            kind: (*kind).to_owned(),
            legal_regime: (*regime).to_owned(),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        ids.agencies.push((a.code.clone(), a.id.clone()));
        agency::ActiveModel::from(a).insert(&txn).await?;
    }
    for (login, display, code, kind, roles) in ACCOUNTS {
        let a = account::Model {
            id: store::new_id(),
            login: (*login).to_owned(),
            display_name: (*display).to_owned(),
            agency_id: ids.agency(code),
            kind: (*kind).to_owned(),
            roles: (*roles).to_owned(),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        ids.accounts.push((a.login.clone(), a.id.clone()));
        account::ActiveModel::from(a).insert(&txn).await?;
    }
    let houkatsu = ids.agency("houkatsu-chuo");
    let nikokoro = ids.agency("nikokoro");
    let kodomo = ids.agency("kodomo-katei");
    let kurashi = ids.agency("kurashi");
    let takikan = ids.agency("city-takikan");
    let hk_cw = ids.account("houkatsu-cw");
    let kd_cw = ids.account("kodomo-cw");
    let kr_cw = ids.account("kurashi-cw");

    // 山田家: 8050 — 83歳の母 (要介護2) と 52歳のひきこもりの長男。包括が受付。
    let mut mother = person(
        &houkatsu,
        &hk_cw,
        ("山田", "トメ", "ヤマダ", "トメ"),
        (1943, 5, 12),
        "FEMALE",
        "鶴岡市本町一丁目 2-3",
        "中央圏域",
        Some("0235-00-1234"),
    );
    mother.care_level = Some("要介護2".to_owned());
    let mut son = person(
        &houkatsu,
        &hk_cw,
        ("山田", "健一", "ヤマダ", "ケンイチ"),
        (1974, 9, 3),
        "MALE",
        "鶴岡市本町一丁目 2-3",
        "中央圏域",
        None,
    );
    son.public_assistance = Some(false);
    // 佐藤家: DV 支援措置中の母と小学生の子。こども家庭センターが受付。
    let mut sato = person(
        &kodomo,
        &kd_cw,
        ("佐藤", "美咲", "サトウ", "ミサキ"),
        (1990, 2, 20),
        "FEMALE",
        "鶴岡市大山二丁目 14-8",
        "西部圏域",
        Some("090-0000-5678"),
    );
    // The address is real data like any other; that it is suppressed is shown only through
    // `addressConfidential` (CHILD_PROTECTION), never in the value itself.
    sato.address_confidential = true;
    let mut sato_child = person(
        &kodomo,
        &kd_cw,
        ("佐藤", "陽向", "サトウ", "ヒナタ"),
        (2017, 7, 1),
        "MALE",
        "鶴岡市大山二丁目 14-8",
        "西部圏域",
        None,
    );
    // The measure covers the accompanying child (同一世帯の子も支援措置の対象).
    sato_child.address_confidential = true;
    // 鈴木: 生活困窮、債務。くらしステーションが受付。
    let mut suzuki = person(
        &kurashi,
        &kr_cw,
        ("鈴木", "大輔", "スズキ", "ダイスケ"),
        (1981, 11, 30),
        "MALE",
        "鶴岡市大山三丁目 4-5",
        "大山圏域",
        Some("080-0000-9012"),
    );
    suzuki.disability_certificate = Some("精神障害者保健福祉手帳 3級".to_owned());
    suzuki.public_assistance = Some(false);
    let persons = [
        mother.clone(),
        son.clone(),
        sato.clone(),
        sato_child.clone(),
        suzuki.clone(),
    ];
    for p in &persons {
        person::ActiveModel::from(p.clone()).insert(&txn).await?;
    }

    let households = [
        (
            &houkatsu,
            &hk_cw,
            vec![(&mother, "本人", true), (&son, "長男", false)],
        ),
        (
            &kodomo,
            &kd_cw,
            vec![(&sato, "本人", true), (&sato_child, "長男", false)],
        ),
        (&kurashi, &kr_cw, vec![(&suzuki, "本人", true)]),
    ];
    let mut household_ids = Vec::new();
    for (owner, by, members) in households {
        let h = household::Model {
            id: store::new_id(),
            owner_agency_id: owner.clone(),
            version: 1,
            created_by: by.clone(),
            created_at: now,
            updated_at: now,
        };
        household_ids.push(h.id.clone());
        household::ActiveModel::from(h.clone()).insert(&txn).await?;
        for (p, rel, head) in members {
            household_member::ActiveModel::from(household_member::Model {
                id: store::new_id(),
                household_id: h.id.clone(),
                person_id: p.id.clone(),
                relationship: rel.to_owned(),
                is_head: head,
                joined_on: NaiveDate::from_ymd_opt(2020, 4, 1),
                left_on: None,
                created_at: now,
            })
            .insert(&txn)
            .await?;
        }
    }

    let day = |d: i64| {
        Utc.with_ymd_and_hms(2026, 10, 1, 9, 30, 0)
            .single()
            .unwrap_or(now)
            + Duration::days(d)
    };
    let consultations = [
        (&houkatsu, &hk_cw, vec![&mother, &son], Some(&household_ids[0]), vec![("P8050", true), ("NURSING_CARE", false), ("HIKIKOMORI", false)], "母の介護サービス調整の相談。同居の長男は 20 年以上ひきこもり状態で、母の年金で生活している。長男本人とはまだ会えていない。", "HIGH", day(0)),
        (&kodomo, &kd_cw, vec![&sato, &sato_child], Some(&household_ids[1]), vec![("DV", true), ("CHILDREN", false)], "元配偶者からの DV により転居。支援措置申出済み。子の就学手続きと生活費について相談。", "CRITICAL", day(3)),
        (&kurashi, &kr_cw, vec![&suzuki], Some(&household_ids[2]), vec![("DEBT", true), ("WORK_SCHOOL", false), ("MENTAL_HEALTH", false)], "消費者金融に約 200 万円の債務。うつ病で離職し、家賃を 2 か月滞納している。", "HIGH", day(10)),
    ];
    let mut consultation_ids = Vec::new();
    for (agency_id, by, subjects, household_id, issues, summary, urgency, at) in consultations {
        let c = consultation::Model {
            id: store::new_id(),
            receiving_agency_id: agency_id.clone(),
            received_at: at,
            channel: "VISIT".to_owned(),
            household_id: household_id.cloned(),
            summary: summary.to_owned(),
            urgency: urgency.to_owned(),
            status: "IN_PROGRESS".to_owned(),
            version: 1,
            created_by: by.clone(),
            created_at: now,
            updated_at: now,
        };
        consultation_ids.push(c.id.clone());
        consultation::ActiveModel::from(c.clone())
            .insert(&txn)
            .await?;
        for s in subjects {
            consultation_subject::ActiveModel::from(consultation_subject::Model {
                consultation_id: c.id.clone(),
                person_id: s.id.clone(),
            })
            .insert(&txn)
            .await?;
        }
        for (code, main) in issues {
            consultation_issue::ActiveModel::from(consultation_issue::Model {
                consultation_id: c.id.clone(),
                issue_code: code.to_owned(),
                is_main: main,
            })
            .insert(&txn)
            .await?;
        }
    }

    // Consents: 山田健一 agrees to share IDENTITY/CONTACT/HOUSEHOLD with the disability centre
    // and 多機関協働; 鈴木 agrees to share with every 地域包括 (by kind) and 多機関協働 incl. HEALTH.
    let consents = [
        (
            &son,
            &houkatsu,
            &hk_cw,
            vec!["IDENTITY", "CONTACT", "HOUSEHOLD"],
            vec![("AGENCY", nikokoro.clone()), ("AGENCY", takikan.clone())],
        ),
        (
            &suzuki,
            &kurashi,
            &kr_cw,
            vec!["IDENTITY", "CONTACT", "HEALTH", "LIVELIHOOD"],
            vec![
                ("AGENCY", takikan.clone()),
                ("AGENCY_KIND", "COMPREHENSIVE_CARE".to_owned()),
            ],
        ),
        (
            &sato,
            &kodomo,
            &kd_cw,
            vec!["IDENTITY", "CONTACT"],
            vec![("AGENCY", kurashi.clone())],
        ),
    ];
    for (subject, agency_id, by, cats, recipients) in consents {
        let c = consent::Model {
            id: store::new_id(),
            subject_person_id: subject.id.clone(),
            given_by: "SELF".to_owned(),
            proxy_name: None,
            proxy_relationship: None,
            purpose: "SUPPORT".to_owned(),
            // Relative to the load, so the demo keeps working: from yesterday for a year.
            valid_from: now - Duration::days(1),
            valid_until: Some(now + Duration::days(365)),
            method: "WRITTEN".to_owned(),
            evidence_ref: Some("同意書 R8-001".to_owned()),
            explanation_version: Some("v1".to_owned()),
            recorded_by: by.clone(),
            recorded_agency_id: agency_id.clone(),
            recorded_at: day(1),
            withdrawn_at: None,
            withdrawn_by: None,
            withdrawal_reason: None,
            version: 1,
        };
        consent::ActiveModel::from(c.clone()).insert(&txn).await?;
        for cat in cats {
            consent_category::ActiveModel::from(consent_category::Model {
                consent_id: c.id.clone(),
                category: cat.to_owned(),
            })
            .insert(&txn)
            .await?;
        }
        for (t, v) in recipients {
            consent_recipient::ActiveModel::from(consent_recipient::Model {
                consent_id: c.id.clone(),
                recipient_type: t.to_owned(),
                recipient_value: v,
            })
            .insert(&txn)
            .await?;
        }
    }

    // Referrals: the son from 包括 to にこころ (proposed); 佐藤美咲 from こども家庭 to くらし (accepted).
    let referrals = [
        (
            &houkatsu,
            &nikokoro,
            &son,
            &consultation_ids[0],
            "長男の社会参加と障害の可能性についてアセスメントをお願いしたい。",
            "PROPOSED",
            &hk_cw,
        ),
        (
            &kodomo,
            &kurashi,
            &sato,
            &consultation_ids[1],
            "転居後の生活費と就労について自立相談支援をお願いしたい。",
            "ACCEPTED",
            &kd_cw,
        ),
    ];
    for (from, to, p, c, reason, status, by) in referrals {
        referral::ActiveModel::from(referral::Model {
            id: store::new_id(),
            from_agency_id: from.clone(),
            to_agency_id: to.clone(),
            person_id: p.id.clone(),
            consultation_id: Some(c.clone()),
            reason: reason.to_owned(),
            status: status.to_owned(),
            decline_reason: None,
            version: 1,
            created_by: by.clone(),
            created_at: now,
            updated_at: now,
            decided_at: (status == "ACCEPTED").then_some(now),
            completed_at: None,
        })
        .insert(&txn)
        .await?;
    }
    load_workflow(&txn, &ids, &household_ids[0], &son, now).await?;
    audit::append(
        &txn,
        vec![Entry {
            roles: String::new(),
            action: "WRITE",
            operation: "loadDemo".to_owned(),
            record_type: "demo".to_owned(),
            bases: serde_json::json!({}),
            detail: serde_json::json!({"agencies": AGENCIES.len(), "accounts": ACCOUNTS.len(), "persons": persons.len()}),
            ..Entry::default()
        }],
    )
    .await?;
    txn.commit().await?;
    tracing::info!("demo data loaded");
    Ok(())
}

/// The 多機関協働 part of the demo: the 山田 household's support case (支援決定, a plan agreed
/// by the mother, the centres' involvements), a 支援会議 in session with にこころ and
/// 包括 as members, the son's outreach visits, and the district's community resources with a
/// placement.
async fn load_workflow(
    txn: &sea_orm::DatabaseTransaction,
    ids: &Ids,
    household_id: &str,
    son: &person::Model,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    use entity::{
        activity, case_decision, case_involvement, community_resource, meeting, meeting_category,
        meeting_member, participation_placement, plan_assignment, support_case, support_plan,
    };
    let takikan = ids.agency("city-takikan");
    let houkatsu = ids.agency("houkatsu-chuo");
    let nikokoro = ids.agency("nikokoro");
    let shakyo = ids.agency("shakyo-seikatsu");
    let coord = ids.account("takikan-coord");
    let today = now.date_naive();
    let date = |days: i64| today - Duration::days(days);
    let case = support_case::Model {
        id: store::new_id(),
        household_id: household_id.to_owned(),
        owner_agency_id: takikan.clone(),
        lead_account_id: coord.clone(),
        status: "ACTIVE".to_owned(),
        status_before_suspension: None,
        opened_on: date(50),
        closed_on: None,
        version: 1,
        created_by: coord.clone(),
        created_at: now,
        updated_at: now,
    };
    support_case::ActiveModel::from(case.clone())
        .insert(txn)
        .await?;
    let meeting = meeting::Model {
        id: store::new_id(),
        kind: store::facts::SUPPORT_MEETING_KIND.to_owned(),
        household_id: household_id.to_owned(),
        case_id: Some(case.id.clone()),
        owner_agency_id: takikan.clone(),
        held_at: now - Duration::days(40),
        minutes: Some("長男の状況共有。本人の同意が得られるまで支援会議で情報を共有し、にこころがアウトリーチを担う。".to_owned()),
        period_from: Some(now - Duration::days(40)),
        period_until: Some(now + Duration::days(140)),
        version: 1,
        created_by: coord.clone(),
        created_at: now,
        updated_at: now,
    };
    meeting::ActiveModel::from(meeting.clone())
        .insert(txn)
        .await?;
    for agency in [&takikan, &houkatsu, &nikokoro] {
        meeting_member::ActiveModel::from(meeting_member::Model {
            meeting_id: meeting.id.clone(),
            agency_id: agency.clone(),
        })
        .insert(txn)
        .await?;
    }
    for cat in ["IDENTITY", "CONTACT", "HOUSEHOLD", "HEALTH", "PLAN"] {
        meeting_category::ActiveModel::from(meeting_category::Model {
            meeting_id: meeting.id.clone(),
            category: cat.to_owned(),
        })
        .insert(txn)
        .await?;
    }
    case_decision::ActiveModel::from(case_decision::Model {
        id: store::new_id(),
        case_id: case.id.clone(),
        kind: "SUPPORT_DECISION".to_owned(),
        decided_on: date(45),
        decider: "福祉相談課長".to_owned(),
        basis: Some("重層的支援体制整備事業実施要綱 第5条".to_owned()),
        reason: None,
        note: None,
        meeting_id: Some(meeting.id.clone()),
        plan_id: None,
        recorded_by: coord.clone(),
        created_at: now,
    })
    .insert(txn)
    .await?;
    for (agency, role) in [
        (&houkatsu, "LEAD"),
        (&nikokoro, "SUPPORTING"),
        (&takikan, "SUPPORTING"),
    ] {
        case_involvement::ActiveModel::from(case_involvement::Model {
            id: store::new_id(),
            case_id: case.id.clone(),
            agency_id: agency.clone(),
            role: role.to_owned(),
            started_on: date(45),
            ended_on: None,
            version: 1,
            created_at: now,
            updated_at: now,
        })
        .insert(txn)
        .await?;
    }
    let plan = support_plan::Model {
        id: store::new_id(),
        case_id: case.id.clone(),
        plan_version: 1,
        wishes: "母: 自宅で息子と暮らし続けたい。".to_owned(),
        long_term_goal: "母の在宅生活の継続と、長男の社会とのつながりの回復".to_owned(),
        short_term_goals: "母の介護サービス利用の安定 / 長男との面会の実現".to_owned(),
        next_review_on: Some(date(-30)),
        agreed_on: Some(date(35)),
        agreement_method: Some("母の署名 (プラン兼利用申込書)".to_owned()),
        created_by: coord.clone(),
        created_at: now,
    };
    support_plan::ActiveModel::from(plan.clone())
        .insert(txn)
        .await?;
    for (i, (agency, role, task, freq)) in [
        (
            &houkatsu,
            "主担当",
            "母のケアマネジメントと家族全体の状況把握",
            "月 1 回訪問",
        ),
        (
            &nikokoro,
            "支援",
            "長男へのアウトリーチ (訪問・手紙)",
            "隔週",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        plan_assignment::ActiveModel::from(plan_assignment::Model {
            id: store::new_id(),
            plan_id: plan.id.clone(),
            agency_id: agency.clone(),
            role: role.to_owned(),
            task: task.to_owned(),
            contact_frequency: Some(freq.to_owned()),
            due_on: None,
            placement_id: None,
            sort_order: i as i32,
        })
        .insert(txn)
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
        activity::ActiveModel::from(activity::Model {
            id: store::new_id(),
            kind: "OUTREACH_VISIT".to_owned(),
            person_id: son.id.clone(),
            case_id: Some(case.id.clone()),
            placement_id: None,
            agency_id: nikokoro.clone(),
            account_id: ids.account("nikokoro-cw"),
            occurred_on: date(days),
            result: Some(result.to_owned()),
            stage: Some(stage.to_owned()),
            next_planned_on: Some(date(days - 14)),
            note: note.to_owned(),
            created_at: now,
        })
        .insert(txn)
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
        let r = community_resource::Model {
            id: store::new_id(),
            kind: kind.to_owned(),
            name: name.to_owned(),
            district: Some(district.to_owned()),
            schedule: Some(schedule.to_owned()),
            target_groups: Some(target.to_owned()),
            capacity: Some(15),
            contact: Some("社会福祉協議会 地域福祉係".to_owned()),
            agency_id: shakyo.clone(),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        resources.push(r.id.clone());
        community_resource::ActiveModel::from(r).insert(txn).await?;
    }
    participation_placement::ActiveModel::from(participation_placement::Model {
        id: store::new_id(),
        person_id: son.id.clone(),
        resource_id: resources[3].clone(),
        agency_id: nikokoro.clone(),
        started_on: date(1),
        ended_on: None,
        status: "ACTIVE".to_owned(),
        version: 1,
        created_by: ids.account("nikokoro-cw"),
        created_at: now,
        updated_at: now,
    })
    .insert(txn)
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
