//! 合成データ生成 (`tsunagi seed --scale <demo|small|town|city> [--seed N]`): a deterministic
//! synthetic city for benchmarks and load tests. The same seed gives the same rows (ids,
//! names, dates, ledger hashes) on SQLite and PostgreSQL.
//!
//! Rows are stored the way the API stores them: kana normalised, `kana_key` from
//! `kana::match_key`, every stored enum from the API's own enum (`Sex::Female.as_str()`,
//! `AgreementMethod::Signed`), plan texts through `PlanTexts` (the same checks and JSON
//! encoding as `createPlanVersion`), so the API can read every row back. (The seed writes
//! rows in bulk rather than through the mutations, for speed; the demo set goes through the
//! mutations themselves, see `demo`.) Every created record has a
//! chained WRITE row in the ledger, so `tsunagi audit verify` passes. Everything goes in one
//! transaction with multi-row INSERTs; a database that already has persons is refused.

mod names;

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    Iterable, PaginatorTrait, TransactionTrait,
};

use crate::graphql::case::CaseStatus;
use crate::graphql::enums::{
    Channel, ConsentMethod, ConsultationStatus, GivenBy, ReferralStatus, Sex, Urgency,
};
use crate::graphql::plan::{AgreementMethod, PlanTexts};
use crate::{audit, kana, store};
use entity::{
    account, agency, audit_event, consent, consent_category, consent_recipient, consultation,
    consultation_issue, consultation_subject, household, household_member, meeting,
    meeting_category, meeting_member, person, referral, support_case, support_plan,
};

/// How much to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    pub name: &'static str,
    pub staff_per_agency: usize,
    pub persons: usize,
    pub households: usize,
    pub consultations: usize,
    pub referrals: usize,
    pub cases: usize,
    pub consents: usize,
}

pub const CITY: Scale = Scale {
    name: "city",
    staff_per_agency: 8,
    persons: 150_000,
    households: 60_000,
    consultations: 500_000,
    referrals: 50_000,
    cases: 5_000,
    consents: 200_000,
};

impl Scale {
    /// `demo` is not a generated scale (it is the hand-written demo set): None.
    pub fn parse(name: &str) -> Option<Scale> {
        let (name, div) = match name {
            "city" => ("city", 1),
            "town" => ("town", 10),
            "small" => ("small", 100),
            _ => return None,
        };
        Some(Scale {
            name,
            staff_per_agency: if div == 1 { 8 } else { 2 },
            persons: CITY.persons / div,
            households: CITY.households / div,
            consultations: CITY.consultations / div,
            referrals: CITY.referrals / div,
            cases: CITY.cases / div,
            consents: CITY.consents / div,
        })
    }
}

/// (kind, how many agencies, code stem, name stem, consultation weight per agency,
/// issue mix).
type Kind = (
    &'static str,
    usize,
    &'static str,
    &'static str,
    u32,
    &'static [&'static str],
);

const KINDS: &[Kind] = &[
    (
        "COMPREHENSIVE_CARE",
        8,
        "houkatsu",
        "地域包括支援センター",
        30,
        &[
            "NURSING_CARE",
            "ROROKAIGO",
            "P8050",
            "SOCIAL_ISOLATION",
            "HEALTH",
            "ABUSE",
        ],
    ),
    (
        "DISABILITY",
        5,
        "shogai",
        "障害者相談支援センター",
        15,
        &["DISABILITY", "MENTAL_HEALTH", "HIKIKOMORI", "WORK_SCHOOL"],
    ),
    (
        "CHILD_FAMILY",
        2,
        "kodomo",
        "こども家庭センター",
        12,
        &["CHILDREN", "YOUNG_CARER", "ABUSE", "DV", "DOUBLE_CARE"],
    ),
    (
        "SELF_RELIANCE",
        2,
        "jiritsu",
        "自立相談支援機関",
        15,
        &["DEBT", "INCOME", "HOUSING", "WORK_SCHOOL", "MENTAL_HEALTH"],
    ),
    (
        "PARTICIPATION_SUPPORT",
        2,
        "sanka",
        "参加支援事業所",
        3,
        &["HIKIKOMORI", "WORK_SCHOOL", "SOCIAL_ISOLATION"],
    ),
    (
        "COMMUNITY_BUILDING",
        3,
        "chiiki",
        "生活支援コーディネーター",
        2,
        &["SOCIAL_ISOLATION", "ROROKAIGO", "OTHER"],
    ),
    (
        "OUTREACH",
        2,
        "outreach",
        "アウトリーチ支援員",
        3,
        &["HIKIKOMORI", "P8050", "SOCIAL_ISOLATION"],
    ),
    (
        "MULTI_AGENCY",
        1,
        "takikan",
        "多機関協働 担当",
        5,
        &["P8050", "DOUBLE_CARE", "DEBT", "HIKIKOMORI"],
    ),
    (
        "CITY_OFFICE",
        2,
        "city",
        "市 福祉課",
        5,
        &["INCOME", "HOUSING", "OTHER"],
    ),
    ("THIRD_PARTY", 1, "gaibu", "委託研究機関", 0, &["OTHER"]),
];

/// Categories a consent may cover (IDENTITY is always included).
const CONSENT_CATEGORIES: &[&str] = &[
    "CONTACT",
    "HOUSEHOLD",
    "HEALTH",
    "LIVELIHOOD",
    "NARRATIVE",
    "PLAN",
];

/// The fixed "today" of the synthetic city, so the same seed gives the same rows whatever
/// day it runs. Consents marked active are valid until well after it.
fn reference() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

struct Agency {
    id: String,
    kind: &'static str,
    weight: u32,
    issues: &'static [&'static str],
    staff: Vec<String>,
}

/// The ledger rows being chained (seq and previous hash carried across batches).
struct Ledger {
    seq: i64,
    prev: String,
    rows: Vec<audit_event::Model>,
}

impl Ledger {
    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        rng: &mut StdRng,
        account: &str,
        agency: &str,
        roles: &str,
        operation: &str,
        record_type: &str,
        record_id: &str,
        subject: Option<&str>,
        at: DateTime<Utc>,
    ) {
        self.seq += 1;
        let mut row = audit_event::Model {
            seq: self.seq,
            id: id(rng),
            at,
            account_id: Some(account.to_owned()),
            agency_id: Some(agency.to_owned()),
            roles: roles.to_owned(),
            action: "WRITE".to_owned(),
            operation: operation.to_owned(),
            record_type: record_type.to_owned(),
            record_id: Some(record_id.to_owned()),
            subject_person_id: subject.map(str::to_owned),
            shown: "[]".to_owned(),
            withheld: "[]".to_owned(),
            bases: "{}".to_owned(),
            detail: r#"{"seed":true}"#.to_owned(),
            policy_version: crate::policy::POLICY_VERSION,
            prev_hash: std::mem::take(&mut self.prev),
            hash: String::new(),
        };
        audit::seal(&mut row);
        self.prev = row.hash.clone();
        self.rows.push(row);
    }
}

/// Ids handed out so far in this run (reset by [`run`]).
static IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A deterministic id in the layout the hub itself uses (UUID v7: time-ordered), its 48-bit
/// "time" a counter from 2016-04-01 and the rest from the generator. Ordered ids are both
/// what real data looks like and what makes a bulk load fast: every primary-key index is
/// appended to instead of written at random pages (SQLite's city load took over four
/// minutes with random ids).
fn id(rng: &mut StdRng) -> String {
    const FROM_MS: u64 = 1_459_468_800_000; // 2016-04-01T00:00:00Z
    let n = IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let random: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(FROM_MS + n, &random)
        .into_uuid()
        .to_string()
}

/// Pick an index with the given weights.
fn weighted<T>(rng: &mut StdRng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, item) in items.iter().enumerate() {
        let w = weight(item);
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// Insert rows with multi-row INSERTs, in chunks that stay under SQLite's 32766 bound
/// parameters (and PostgreSQL's 65535).
async fn insert<E>(txn: &DatabaseTransaction, rows: Vec<E::Model>) -> anyhow::Result<()>
where
    E: EntityTrait,
    E::Model: Into<E::ActiveModel>,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let per_row = E::Column::iter().count().max(1);
    let chunk = (30_000 / per_row).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<E::ActiveModel> = rows.by_ref().take(chunk).map(Into::into).collect();
        E::insert_many(batch).exec_without_returning(txn).await?;
    }
    Ok(())
}

fn progress(table: &str, count: usize, started: Instant) {
    eprintln!(
        "  {table:<24} {count:>9} rows  {:>7.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// Generate and load `scale` with `seed`. Refuses a database that already has persons.
pub async fn run(db: &DatabaseConnection, scale: Scale, seed: u64) -> anyhow::Result<()> {
    let existing = person::Entity::find().count(db).await?;
    if existing > 0 {
        anyhow::bail!(
            "このデータベースには既に個人が {existing} 件あります。空のデータベースにのみ投入できます / the database already has {existing} persons; seed only an empty database"
        );
    }
    let all = Instant::now();
    eprintln!("seeding scale {} with seed {seed}", scale.name);
    let mut rng = StdRng::seed_from_u64(seed);
    IDS.store(0, std::sync::atomic::Ordering::Relaxed);
    let txn = db.begin().await?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        // A 256 MB page cache for this connection while it loads (the default 2 MB makes
        // every index insert a page read once the tables outgrow it).
        txn.execute_unprepared("PRAGMA cache_size = -262144")
            .await?;
    }
    let (seq, prev) = audit::tail(&txn).await?;
    let mut ledger = Ledger {
        seq,
        prev,
        rows: Vec::new(),
    };
    let today = reference();
    let loaded_at = today;

    // 機関とアカウント / agencies and staff accounts
    let t = Instant::now();
    let mut agencies: Vec<Agency> = Vec::new();
    let mut agency_rows = Vec::new();
    let mut account_rows = Vec::new();
    for (kind, count, stem, name, weight, issues) in KINDS {
        for n in 1..=*count {
            let a = agency::Model {
                id: id(&mut rng),
                code: format!("s-{stem}-{n:02}"),
                name: format!("{name} 第{n}"),
                kind: (*kind).to_owned(),
                legal_regime: if matches!(*kind, "CHILD_FAMILY" | "MULTI_AGENCY" | "CITY_OFFICE") {
                    "PUBLIC_BODY"
                } else {
                    "PRIVATE_OPERATOR"
                }
                .to_owned(),
                active: true,
                version: 1,
                created_at: loaded_at,
                updated_at: loaded_at,
            };
            let role = match *kind {
                "MULTI_AGENCY" => "coordinator",
                "COMMUNITY_BUILDING" => "life_support_coordinator",
                "CITY_OFFICE" => "analyst",
                _ => "caseworker",
            };
            let mut staff = Vec::new();
            for s in 1..=scale.staff_per_agency {
                let family = &names::FAMILY[rng.random_range(0..names::FAMILY.len())];
                let acc = account::Model {
                    id: id(&mut rng),
                    login: format!(
                        "{}-{}{s}",
                        a.code,
                        if role == "caseworker" { "cw" } else { "st" }
                    ),
                    display_name: format!("{} 職員{s} {}", name, family.0),
                    agency_id: a.id.clone(),
                    kind: "STAFF".to_owned(),
                    roles: role.to_owned(),
                    active: true,
                    version: 1,
                    created_at: loaded_at,
                    updated_at: loaded_at,
                };
                staff.push(acc.id.clone());
                account_rows.push(acc);
            }
            if *kind == "CITY_OFFICE" && n == 1 {
                for (login, display, roles) in [
                    ("s-admin", "管理者", "admin"),
                    ("s-auditor", "監査担当", "auditor"),
                ] {
                    account_rows.push(account::Model {
                        id: id(&mut rng),
                        login: login.to_owned(),
                        display_name: display.to_owned(),
                        agency_id: a.id.clone(),
                        kind: "STAFF".to_owned(),
                        roles: roles.to_owned(),
                        active: true,
                        version: 1,
                        created_at: loaded_at,
                        updated_at: loaded_at,
                    });
                }
            }
            agencies.push(Agency {
                id: a.id.clone(),
                kind,
                weight: *weight,
                issues,
                staff,
            });
            agency_rows.push(a);
        }
    }
    let (n_agencies, n_accounts) = (agency_rows.len(), account_rows.len());
    insert::<agency::Entity>(&txn, agency_rows).await?;
    progress("agency", n_agencies, t);
    insert::<account::Entity>(&txn, account_rows).await?;
    progress("account", n_accounts, t);

    // 世帯と個人 / households and persons. Each household belongs to an agency (weighted
    // by consultation load); its members share a family name, address and district.
    let t = Instant::now();
    let intake: Vec<usize> = (0..agencies.len())
        .filter(|&i| agencies[i].weight > 0)
        .collect();
    let pick_agency = |rng: &mut StdRng| intake[weighted(rng, &intake, |&i| agencies[i].weight)];
    struct House {
        id: String,
        agency: usize,
        members: Vec<String>,
    }
    let mut houses: Vec<House> = Vec::with_capacity(scale.households);
    let mut person_owner: Vec<(String, usize)> = Vec::with_capacity(scale.persons);
    let mut persons = Vec::new();
    let mut households = Vec::new();
    let mut members = Vec::new();
    let mut made = 0usize;
    let mut h_count = 0usize;
    let mut m_count = 0usize;
    let mut p_count = 0usize;
    while made < scale.persons {
        let in_household = houses.len() < scale.households;
        // Household sizes 1..5 (30/30/18/14/8 %); leftovers are single persons without one.
        let size = if in_household {
            [1usize, 2, 3, 4, 5][weighted(&mut rng, &[30u32, 30, 18, 14, 8], |w| *w)]
        } else {
            1
        }
        .min(scale.persons - made);
        let agency_ix = pick_agency(&mut rng);
        let agency_id = agencies[agency_ix].id.clone();
        let by = agencies[agency_ix]
            .staff
            .choose(&mut rng)
            .cloned()
            .unwrap_or_default();
        let created = today - Duration::days(rng.random_range(0..3650));
        let family = names::FAMILY[weighted(&mut rng, names::FAMILY, |f| f.2)];
        let district = names::DISTRICTS[weighted(&mut rng, names::DISTRICTS, |d| d.2)];
        let address = format!(
            "鶴岡市{}{}丁目 {}-{}",
            district.1,
            rng.random_range(1..6),
            rng.random_range(1..30),
            rng.random_range(1..20)
        );
        let phone = format!(
            "0235-{:02}-{:04}",
            rng.random_range(10..99),
            rng.random_range(0..10_000)
        );
        let head_birth = rng.random_range(1935..2002);
        let mut house = House {
            id: id(&mut rng),
            agency: agency_ix,
            members: Vec::new(),
        };
        for m in 0..size {
            let (rel, born) = match m {
                0 => ("本人", head_birth),
                1 => ("配偶者", head_birth + rng.random_range(-4..5)),
                _ if head_birth < 1960 => ("長男", head_birth + rng.random_range(22..35)),
                _ => (
                    ["長男", "長女", "次男", "次女"][m % 4],
                    head_birth + rng.random_range(22..40),
                ),
            };
            let born = born.min(2025);
            let female = if m == 1 {
                rng.random_bool(0.9)
            } else {
                rng.random_bool(0.5)
            };
            let given = if female {
                names::FEMALE.choose(&mut rng)
            } else {
                names::MALE.choose(&mut rng)
            }
            .copied()
            .unwrap_or(("太郎", "タロウ"));
            let family_kana = kana::normalize_kana(family.1)?;
            let given_kana = kana::normalize_kana(given.1)?;
            let key = kana::match_key(&format!("{family_kana}{given_kana}"))?;
            let p = person::Model {
                id: id(&mut rng),
                owner_agency_id: agency_id.clone(),
                family_name: family.0.to_owned(),
                given_name: given.0.to_owned(),
                family_name_kana: family_kana,
                given_name_kana: given_kana,
                kana_key: key,
                birth_date: NaiveDate::from_ymd_opt(
                    born,
                    rng.random_range(1..13),
                    rng.random_range(1..29),
                ),
                sex: if female { Sex::Female } else { Sex::Male }
                    .as_str()
                    .to_owned(),
                address: Some(address.clone()),
                phone: (m == 0).then(|| phone.clone()),
                district: Some(district.0.to_owned()),
                address_confidential: rng.random_bool(0.005),
                care_level: (born < 1950 && rng.random_bool(0.3))
                    .then(|| {
                        ["要支援1", "要介護1", "要介護2", "要介護3"]
                            .choose(&mut rng)
                            .map(|s| s.to_string())
                    })
                    .flatten(),
                disability_certificate: rng
                    .random_bool(0.05)
                    .then(|| "精神障害者保健福祉手帳 2級".to_owned()),
                public_assistance: rng.random_bool(0.3).then(|| rng.random_bool(0.1)),
                version: 1,
                created_by: by.clone(),
                created_at: created,
                updated_at: created,
            };
            ledger.write(
                &mut rng,
                &by,
                &agency_id,
                "caseworker",
                "createPerson",
                "person",
                &p.id,
                Some(&p.id),
                created,
            );
            person_owner.push((p.id.clone(), agency_ix));
            if in_household {
                members.push(household_member::Model {
                    id: id(&mut rng),
                    household_id: house.id.clone(),
                    person_id: p.id.clone(),
                    relationship: rel.to_owned(),
                    is_head: m == 0,
                    joined_on: Some(created.date_naive()),
                    left_on: None,
                    created_at: created,
                });
                house.members.push(p.id.clone());
            }
            persons.push(p);
            made += 1;
        }
        if in_household {
            households.push(household::Model {
                id: house.id.clone(),
                owner_agency_id: agency_id.clone(),
                version: 1,
                created_by: by.clone(),
                created_at: created,
                updated_at: created,
            });
            ledger.write(
                &mut rng,
                &by,
                &agency_id,
                "caseworker",
                "createHousehold",
                "household",
                &house.id,
                None,
                created,
            );
            houses.push(house);
        }
        if persons.len() >= 20_000 || made >= scale.persons {
            p_count += persons.len();
            h_count += households.len();
            m_count += members.len();
            insert::<person::Entity>(&txn, std::mem::take(&mut persons)).await?;
            insert::<household::Entity>(&txn, std::mem::take(&mut households)).await?;
            insert::<household_member::Entity>(&txn, std::mem::take(&mut members)).await?;
            insert::<audit_event::Entity>(&txn, std::mem::take(&mut ledger.rows)).await?;
        }
    }
    progress("person", p_count, t);
    progress("household", h_count, t);
    progress("household_member", m_count, t);

    // 相談 / consultations over ten fiscal years (more in recent years), skewed towards a
    // minority of households, issue mixes by the receiving agency's kind.
    let t = Instant::now();
    let mut consultations = Vec::new();
    let mut subjects = Vec::new();
    let mut issues = Vec::new();
    let mut consult_refs: Vec<(String, usize, String)> = Vec::new(); // (id, agency, person)
    let (mut c_count, mut s_count, mut i_count) = (0, 0, 0);
    for n in 0..scale.consultations {
        // Squaring a uniform number skews towards the first households.
        let u: f64 = rng.random();
        let h = &houses[((u * u) * houses.len() as f64) as usize % houses.len().max(1)];
        let agency_ix = if rng.random_bool(0.6) {
            h.agency
        } else {
            pick_agency(&mut rng)
        };
        let a = &agencies[agency_ix];
        let by = a.staff.choose(&mut rng).cloned().unwrap_or_default();
        // sqrt of a uniform number: recent years get more consultations.
        let age_days = ((1.0 - rng.random::<f64>().sqrt()) * 3650.0) as i64;
        let at = today - Duration::days(age_days) - Duration::minutes(rng.random_range(0..600));
        let main = a.issues.choose(&mut rng).copied().unwrap_or("OTHER");
        let cid = id(&mut rng);
        let status = if age_days > 365 {
            ConsultationStatus::Closed
        } else {
            [
                ConsultationStatus::Open,
                ConsultationStatus::InProgress,
                ConsultationStatus::InProgress,
                ConsultationStatus::Referred,
                ConsultationStatus::Closed,
            ][rng.random_range(0..5)]
        }
        .as_str();
        consultations.push(consultation::Model {
            id: cid.clone(),
            receiving_agency_id: a.id.clone(),
            received_at: at,
            channel: [
                Channel::Visit,
                Channel::Phone,
                Channel::Phone,
                Channel::Outreach,
                Channel::Email,
                Channel::Referral,
                Channel::Other,
            ][rng.random_range(0..7)]
            .as_str()
            .to_owned(),
            household_id: Some(h.id.clone()),
            summary: names::summary(main).to_owned(),
            urgency: [
                Urgency::Low,
                Urgency::Normal,
                Urgency::Normal,
                Urgency::Normal,
                Urgency::High,
                Urgency::Critical,
            ][rng.random_range(0..6)]
            .as_str()
            .to_owned(),
            status: status.to_owned(),
            version: 1,
            created_by: by.clone(),
            created_at: at,
            updated_at: at,
        });
        let first = rng.random_range(0..h.members.len());
        let mut who = vec![h.members[first].clone()];
        if h.members.len() > 1 && rng.random_bool(0.3) {
            who.push(h.members[(first + 1) % h.members.len()].clone());
        }
        for p in &who {
            subjects.push(consultation_subject::Model {
                consultation_id: cid.clone(),
                person_id: p.clone(),
            });
        }
        issues.push(consultation_issue::Model {
            consultation_id: cid.clone(),
            issue_code: main.to_owned(),
            is_main: true,
        });
        let k = rng.random_range(0..3);
        for extra in a.issues.choose_multiple(&mut rng, k) {
            if *extra != main {
                issues.push(consultation_issue::Model {
                    consultation_id: cid.clone(),
                    issue_code: (*extra).to_owned(),
                    is_main: false,
                });
            }
        }
        ledger.write(
            &mut rng,
            &by,
            &a.id,
            "caseworker",
            "recordConsultation",
            "consultation",
            &cid,
            Some(&who[0]),
            at,
        );
        if consult_refs.len() < scale.referrals * 4 {
            consult_refs.push((cid, agency_ix, who[0].clone()));
        }
        if consultations.len() >= 20_000 || n + 1 == scale.consultations {
            c_count += consultations.len();
            s_count += subjects.len();
            i_count += issues.len();
            insert::<consultation::Entity>(&txn, std::mem::take(&mut consultations)).await?;
            insert::<consultation_subject::Entity>(&txn, std::mem::take(&mut subjects)).await?;
            insert::<consultation_issue::Entity>(&txn, std::mem::take(&mut issues)).await?;
            insert::<audit_event::Entity>(&txn, std::mem::take(&mut ledger.rows)).await?;
        }
    }
    progress("consultation", c_count, t);
    progress("consultation_subject", s_count, t);
    progress("consultation_issue", i_count, t);

    // つなぎ / referrals from a consultation's agency to another agency.
    let t = Instant::now();
    let mut referrals = Vec::new();
    for n in 0..scale.referrals.min(consult_refs.len()) {
        let (cid, from_ix, pid) = &consult_refs[n * consult_refs.len() / scale.referrals.max(1)];
        let mut to_ix = pick_agency(&mut rng);
        if to_ix == *from_ix {
            to_ix = (to_ix + 1) % agencies.len();
        }
        let from = &agencies[*from_ix];
        let by = from.staff.choose(&mut rng).cloned().unwrap_or_default();
        let at = today - Duration::days(rng.random_range(0..1500));
        let status = [
            ReferralStatus::Proposed,
            ReferralStatus::Accepted,
            ReferralStatus::Accepted,
            ReferralStatus::Completed,
            ReferralStatus::Completed,
            ReferralStatus::Declined,
        ][rng.random_range(0..6)]
        .as_str();
        let rid = id(&mut rng);
        referrals.push(referral::Model {
            id: rid.clone(),
            from_agency_id: from.id.clone(),
            to_agency_id: agencies[to_ix].id.clone(),
            person_id: pid.clone(),
            consultation_id: Some(cid.clone()),
            reason: "専門的な支援が必要と考えられるため、つなぎをお願いしたい。".to_owned(),
            status: status.to_owned(),
            decline_reason: (status == "DECLINED").then(|| "対象外のため".to_owned()),
            version: 1,
            created_by: by.clone(),
            created_at: at,
            updated_at: at,
            decided_at: (status != "PROPOSED").then_some(at + Duration::days(3)),
            completed_at: (status == "COMPLETED").then_some(at + Duration::days(60)),
        });
        ledger.write(
            &mut rng,
            &by,
            &from.id,
            "caseworker",
            "createReferral",
            "referral",
            &rid,
            Some(pid),
            at,
        );
    }
    let n_ref = referrals.len();
    insert::<referral::Entity>(&txn, referrals).await?;
    progress("referral", n_ref, t);

    // 同意 / consents: 75 % in force, 10 % withdrawn, 15 % expired; recipients by agency or
    // by agency kind; IDENTITY plus a subset of the other categories.
    let t = Instant::now();
    let (mut consents, mut cats, mut recips) = (Vec::new(), Vec::new(), Vec::new());
    let (mut n_con, mut n_cat, mut n_rec) = (0, 0, 0);
    for n in 0..scale.consents {
        let (pid, owner_ix) = &person_owner[rng.random_range(0..person_owner.len())];
        let owner = &agencies[*owner_ix];
        let by = owner.staff.choose(&mut rng).cloned().unwrap_or_default();
        let recorded = today - Duration::days(rng.random_range(1..1800));
        let fate = rng.random_range(0..100);
        let (valid_until, withdrawn) = match fate {
            0..75 => (today + Duration::days(rng.random_range(30..730)), None),
            75..85 => (
                recorded + Duration::days(730),
                Some(recorded + Duration::days(rng.random_range(1..300))),
            ),
            _ => (today - Duration::days(rng.random_range(1..200)), None),
        };
        let proxy = rng.random_bool(0.05);
        let cid = id(&mut rng);
        consents.push(consent::Model {
            id: cid.clone(),
            subject_person_id: pid.clone(),
            given_by: if proxy {
                GivenBy::Proxy
            } else {
                GivenBy::SelfGiven
            }
            .as_str()
            .to_owned(),
            proxy_name: proxy.then(|| "成年後見人".to_owned()),
            proxy_relationship: proxy.then(|| "成年後見人".to_owned()),
            purpose: "SUPPORT".to_owned(),
            valid_from: recorded,
            valid_until: Some(valid_until),
            method: [
                ConsentMethod::Written,
                ConsentMethod::Written,
                ConsentMethod::Written,
                ConsentMethod::OralWithWitness,
                ConsentMethod::Electronic,
            ][rng.random_range(0..5)]
            .as_str()
            .to_owned(),
            evidence_ref: Some(format!("同意書 S-{n:06}")),
            explanation_version: Some("v1".to_owned()),
            recorded_by: by.clone(),
            recorded_agency_id: owner.id.clone(),
            recorded_at: recorded,
            withdrawn_at: withdrawn,
            withdrawn_by: withdrawn.map(|_| by.clone()),
            withdrawal_reason: withdrawn.map(|_| "本人の申出".to_owned()),
            version: if withdrawn.is_some() { 2 } else { 1 },
        });
        cats.push(consent_category::Model {
            consent_id: cid.clone(),
            category: "IDENTITY".to_owned(),
        });
        let k = rng.random_range(1..5);
        for c in CONSENT_CATEGORIES.choose_multiple(&mut rng, k) {
            cats.push(consent_category::Model {
                consent_id: cid.clone(),
                category: (*c).to_owned(),
            });
        }
        let mut to: Vec<(String, String)> = Vec::new();
        for _ in 0..rng.random_range(1..3) {
            let r = if rng.random_bool(0.3) {
                (
                    "AGENCY_KIND".to_owned(),
                    agencies[pick_agency(&mut rng)].kind.to_owned(),
                )
            } else {
                (
                    "AGENCY".to_owned(),
                    agencies[pick_agency(&mut rng)].id.clone(),
                )
            };
            if !to.contains(&r) {
                to.push(r);
            }
        }
        for (t, v) in to {
            recips.push(consent_recipient::Model {
                consent_id: cid.clone(),
                recipient_type: t,
                recipient_value: v,
            });
        }
        ledger.write(
            &mut rng,
            &by,
            &owner.id,
            "caseworker",
            "recordConsent",
            "consent",
            &cid,
            Some(pid),
            recorded,
        );
        if consents.len() >= 20_000 || n + 1 == scale.consents {
            n_con += consents.len();
            n_cat += cats.len();
            n_rec += recips.len();
            insert::<consent::Entity>(&txn, std::mem::take(&mut consents)).await?;
            insert::<consent_category::Entity>(&txn, std::mem::take(&mut cats)).await?;
            insert::<consent_recipient::Entity>(&txn, std::mem::take(&mut recips)).await?;
            insert::<audit_event::Entity>(&txn, std::mem::take(&mut ledger.rows)).await?;
        }
    }
    progress("consent", n_con, t);
    progress("consent_category", n_cat, t);
    progress("consent_recipient", n_rec, t);

    // 支援ケース / cases (one per household at most, owned by 多機関協働) with a plan and a
    // 支援会議 whose members are the household's agency, a second agency and the owner.
    let t = Instant::now();
    let takikan: Vec<usize> = (0..agencies.len())
        .filter(|&i| agencies[i].kind == "MULTI_AGENCY")
        .collect();
    let plan_texts = PlanTexts::new(
        "住み慣れた家で家族と暮らし続けたい。",
        "世帯の生活の安定と地域とのつながりの回復",
        &[
            "関係機関の役割分担の明確化".to_owned(),
            "定期的な訪問".to_owned(),
        ],
    )
    .map_err(|e| anyhow::anyhow!("seed plan texts: {e:?}"))?;
    let (mut cases, mut plans, mut meetings, mut mm, mut mc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let step = (houses.len() / scale.cases.max(1)).max(1);
    for h in houses.iter().step_by(step).take(scale.cases) {
        let owner = &agencies[takikan[rng.random_range(0..takikan.len())]];
        let lead = owner.staff.choose(&mut rng).cloned().unwrap_or_default();
        let opened = today - Duration::days(rng.random_range(30..1800));
        let closed = rng.random_bool(0.3);
        let case_id = id(&mut rng);
        cases.push(support_case::Model {
            id: case_id.clone(),
            household_id: h.id.clone(),
            owner_agency_id: owner.id.clone(),
            lead_account_id: lead.clone(),
            status: if closed {
                CaseStatus::Closed
            } else {
                CaseStatus::Active
            }
            .as_str()
            .to_owned(),
            status_before_suspension: None,
            opened_on: opened.date_naive(),
            closed_on: closed.then(|| {
                (opened + Duration::days(rng.random_range(30..365)))
                    .date_naive()
                    .min(today.date_naive())
            }),
            version: 1,
            created_by: lead.clone(),
            created_at: opened,
            updated_at: opened,
        });
        ledger.write(
            &mut rng,
            &lead,
            &owner.id,
            "coordinator",
            "openCase",
            "support_case",
            &case_id,
            None,
            opened,
        );
        let plan_id = id(&mut rng);
        plans.push(support_plan::Model {
            id: plan_id.clone(),
            case_id: case_id.clone(),
            plan_version: 1,
            wishes: plan_texts.wishes.clone(),
            long_term_goal: plan_texts.long_term_goal.clone(),
            short_term_goals: plan_texts.short_term_goals.clone(),
            next_review_on: Some((opened + Duration::days(180)).date_naive()),
            agreed_on: Some((opened + Duration::days(14)).date_naive()),
            agreement_method: Some(AgreementMethod::Signed.as_str().to_owned()),
            created_by: lead.clone(),
            created_at: opened,
        });
        ledger.write(
            &mut rng,
            &lead,
            &owner.id,
            "coordinator",
            "createPlan",
            "support_plan",
            &plan_id,
            None,
            opened,
        );
        let meeting_id = id(&mut rng);
        let held = opened + Duration::days(7);
        meetings.push(meeting::Model {
            id: meeting_id.clone(),
            kind: store::facts::SUPPORT_MEETING_KIND.to_owned(),
            household_id: h.id.clone(),
            case_id: Some(case_id.clone()),
            owner_agency_id: owner.id.clone(),
            held_at: held,
            minutes: Some("世帯の状況を共有し、役割分担を確認した。".to_owned()),
            period_from: Some(held),
            period_until: Some(held + Duration::days(180)),
            version: 1,
            created_by: lead.clone(),
            created_at: held,
            updated_at: held,
        });
        ledger.write(
            &mut rng,
            &lead,
            &owner.id,
            "coordinator",
            "createMeeting",
            "meeting",
            &meeting_id,
            None,
            held,
        );
        let mut member_ids = vec![owner.id.clone(), agencies[h.agency].id.clone()];
        let other = agencies[pick_agency(&mut rng)].id.clone();
        if !member_ids.contains(&other) {
            member_ids.push(other);
        }
        member_ids.dedup();
        for agency_id in member_ids {
            mm.push(meeting_member::Model {
                meeting_id: meeting_id.clone(),
                agency_id,
            });
        }
        for cat in ["IDENTITY", "CONTACT", "HOUSEHOLD", "PLAN"] {
            mc.push(meeting_category::Model {
                meeting_id: meeting_id.clone(),
                category: cat.to_owned(),
            });
        }
    }
    let counts = [cases.len(), plans.len(), meetings.len(), mm.len(), mc.len()];
    insert::<support_case::Entity>(&txn, cases).await?;
    insert::<support_plan::Entity>(&txn, plans).await?;
    insert::<meeting::Entity>(&txn, meetings).await?;
    insert::<meeting_member::Entity>(&txn, mm).await?;
    insert::<meeting_category::Entity>(&txn, mc).await?;
    for (table, n) in [
        "support_case",
        "support_plan",
        "meeting",
        "meeting_member",
        "meeting_category",
    ]
    .iter()
    .zip(counts)
    {
        progress(table, n, t);
    }

    let t = Instant::now();
    let last_seq = ledger.seq;
    insert::<audit_event::Entity>(&txn, std::mem::take(&mut ledger.rows)).await?;
    progress("audit_event (total)", (last_seq - seq) as usize, t);
    let t = Instant::now();
    txn.commit().await?;
    progress("commit", 0, t);
    // Planner statistics for the new rows, so the first queries after a load get the plans
    // they will get in production (PostgreSQL's autovacuum would get there, later).
    let t = Instant::now();
    db.execute_unprepared("ANALYZE").await?;
    progress("analyze", 0, t);
    eprintln!(
        "seeded scale {} in {:.1}s",
        scale.name,
        all.elapsed().as_secs_f64()
    );
    Ok(())
}
