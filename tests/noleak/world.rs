//! A random world: agencies of every kind, accounts with random role sets, persons whose
//! every personal value is a unique canary string, consents in every state, households,
//! consultations and referrals. Persons and consents go through the real API (so OWN is
//! real: the registering agency recorded them); states the API cannot reach in one step
//! (expired, not yet valid, cross-agency households, old consultations) are written with
//! the entity crate, as the hub would hold them after a history of API calls. Some records
//! are registered by their agency's external reference (world_refs.rs).

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{json, Value};
use tsunagi_tests::Server;

use crate::rng::Rng;
use crate::world_refs::{self as ext, ExtRef, RefKind};

pub const KINDS: [&str; 10] = [
    "COMPREHENSIVE_CARE",
    "DISABILITY",
    "CHILD_FAMILY",
    "SELF_RELIANCE",
    "PARTICIPATION_SUPPORT",
    "COMMUNITY_BUILDING",
    "OUTREACH",
    "MULTI_AGENCY",
    "CITY_OFFICE",
    "THIRD_PARTY",
];
pub const ROLES: [&str; 7] = [
    "admin",
    "coordinator",
    "caseworker",
    "life_support_coordinator",
    "analyst",
    "auditor",
    "integration",
];
pub const CATEGORIES: [&str; 8] = [
    "IDENTITY",
    "CONTACT",
    "HOUSEHOLD",
    "HEALTH",
    "LIVELIHOOD",
    "CHILD_PROTECTION",
    "NARRATIVE",
    "PLAN",
];
pub const DISTRICTS: [&str; 3] = ["圏域北", "圏域南", "圏域中央"];
const SEXES: [&str; 4] = ["MALE", "FEMALE", "OTHER", "UNKNOWN"];

pub struct Agency {
    pub id: String,
    pub kind: &'static str,
}

pub struct Account {
    pub id: String,
    pub token: String,
    pub agency: usize,
    pub roles: Vec<&'static str>,
    pub login: String,
}

pub struct Person {
    pub id: String,
    pub owner: usize,
    pub family: String,
    pub given: String,
    pub family_kana: String,
    pub given_kana: String,
    pub birth: String,
    pub sex: &'static str,
    pub address: Option<String>,
    pub district: Option<&'static str>,
    pub phone: Option<String>,
    pub confidential: bool,
    pub care: Option<String>,
    pub disability: Option<String>,
    pub assistance: Option<bool>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConsentState {
    Active,
    Withdrawn,
    Expired,
    NotYetValid,
}

pub struct Consent {
    pub id: String,
    pub person: usize,
    pub categories: Vec<&'static str>,
    pub agencies: Vec<usize>,
    pub kinds: Vec<&'static str>,
    pub purpose: &'static str,
    pub state: ConsentState,
    pub proxy_name: Option<String>,
    pub evidence: String,
    pub withdrawal_reason: Option<String>,
}

pub struct Member {
    pub id: String,
    pub person: usize,
    pub relationship: String,
    /// None: since always.
    pub joined: Option<NaiveDate>,
    /// None: not left. Past, or in the future (still current until then).
    pub left: Option<NaiveDate>,
}

impl Member {
    /// Current at `today` (the city's date, JST): joinedOn <= today < leftOn.
    pub fn current(&self, today: NaiveDate) -> bool {
        self.joined.is_none_or(|j| j <= today) && self.left.is_none_or(|l| today < l)
    }
}

/// Today in the city's calendar (JST, UTC+9). Relative dates in a world are at least ten
/// days from it, so a run across midnight cannot change which memberships are current.
pub fn today_jst() -> NaiveDate {
    (Utc::now() + Duration::hours(9)).date_naive()
}

pub struct Household {
    pub id: String,
    pub owner: usize,
    pub members: Vec<Member>,
}

pub struct Consultation {
    pub id: String,
    pub receiver: usize,
    pub subjects: Vec<usize>,
    pub household: Option<usize>,
    pub summary: String,
    /// (issue code, main)
    pub issues: Vec<(String, bool)>,
    /// Newest first is the documented order; distinct per world.
    pub minutes_ago: i64,
}

pub struct Referral {
    pub id: String,
    pub from: usize,
    pub to: usize,
    pub person: usize,
    pub consultation: Option<usize>,
    pub reason: String,
    pub decline_reason: Option<String>,
}

/// A meeting about a household. Only a SUPPORT_MEETING (支援会議) in its period is a basis.
pub struct Meeting {
    pub kind: &'static str,
    pub id: String,
    pub convener: usize,
    pub minutes: String,
    pub household: usize,
    pub members: Vec<usize>,
    pub categories: Vec<&'static str>,
    pub in_period: bool,
    /// The support case it is about (a case of the same household), if any.
    pub case: Option<usize>,
}

/// A break-glass grant of one account for one person.
pub struct Grant {
    pub account: usize,
    pub person: usize,
    pub active: bool,
}

/// An activity record (outreach visit, participation, monitoring) of one agency about one
/// person; its note is NARRATIVE.
pub struct Activity {
    pub id: String,
    pub agency: usize,
    pub person: usize,
    pub note: String,
    /// Linked support case (`caseId`) and placement (`placementId`).
    pub case: Option<usize>,
    pub placement: Option<usize>,
}

/// A 多機関協働 support case of a household, held by the coordinating agency.
pub struct Case {
    pub id: String,
    pub household: usize,
    pub owner: usize,
}

/// A participation placement (参加支援): PLAN of its person, held by the recording agency.
pub struct Placement {
    pub id: String,
    pub agency: usize,
    pub person: usize,
}

/// A 支援決定 on a case: `basis` is PLAN, `note` NARRATIVE of the case's current members;
/// `meeting` the meeting that decided.
pub struct Decision {
    pub id: String,
    pub case: usize,
    pub basis: String,
    pub note: Option<String>,
    pub meeting: Option<usize>,
}

/// An agency's involvement in a case (PLAN: its very existence).
pub struct Involvement {
    pub id: String,
    pub case: usize,
    pub agency: usize,
}

/// A plan version (version 1) with one assignment; every text is PLAN.
pub struct Plan {
    pub id: String,
    pub case: usize,
    pub wishes: String,
    pub long_goal: String,
    pub short_goal: String,
    pub assignment: String,
    pub assignment_agency: usize,
    pub task: String,
    pub frequency: String,
}

pub struct World {
    pub agencies: Vec<Agency>,
    pub accounts: Vec<Account>,
    pub persons: Vec<Person>,
    pub consents: Vec<Consent>,
    pub households: Vec<Household>,
    pub consultations: Vec<Consultation>,
    pub referrals: Vec<Referral>,
    pub meetings: Vec<Meeting>,
    pub grants: Vec<Grant>,
    pub activities: Vec<Activity>,
    pub cases: Vec<Case>,
    pub placements: Vec<Placement>,
    pub decisions: Vec<Decision>,
    pub involvements: Vec<Involvement>,
    pub plans: Vec<Plan>,
    /// Today (JST) when the world was built.
    pub today: NaiveDate,
    /// issue code → policy category (public data, read from `issueCategories`).
    pub issue_categories: Vec<(String, String)>,
    /// The agencies' references to their records (world_refs.rs).
    pub refs: Vec<ExtRef>,
}

/// 0..9 as katakana, so kana canaries stay kana (the API normalises kana).
fn kana_digits(n: usize, width: usize) -> String {
    const D: [char; 10] = ['ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ'];
    let s = format!("{n:0width$}");
    s.chars()
        .map(|c| D[c.to_digit(10).unwrap_or(0) as usize])
        .collect()
}

/// The kana prefix shared by persons i with the same i / 10 (for `persons(kana:)`).
pub fn kana_prefix(group: usize) -> String {
    format!("ヌ{}", kana_digits(group, 2))
}

pub fn pick<'a, T>(rng: &mut Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.below(xs.len())]
}

pub async fn gql_ok(srv: &Server, token: &str, q: &str, v: Value) -> Value {
    let r = srv.gql(token, q, v).await;
    assert!(
        r.status == 200 && r.errors().is_empty(),
        "world building failed: {q}: {}",
        r.body
    );
    r.body["data"].clone()
}

impl World {
    pub async fn build(srv: &Server, rng: &mut Rng, size: usize) -> World {
        // Agencies: the bootstrap city office, one of every other kind, and two more of
        // random kinds, so "named agency" and "agency kind" differ.
        let mut agencies = vec![Agency {
            id: srv.city_agency.clone(),
            kind: "CITY_OFFICE",
        }];
        let mut kinds: Vec<&'static str> = KINDS
            .iter()
            .copied()
            .filter(|k| *k != "CITY_OFFICE")
            .collect();
        kinds.push(*pick(rng, &KINDS));
        kinds.push(*pick(rng, &KINDS));
        for (i, kind) in kinds.into_iter().enumerate() {
            let id = srv.agency(&format!("ag{i}"), kind).await;
            agencies.push(Agency { id, kind });
        }
        // A few "hot" agencies get most callers and most consents, so bases (and their
        // near misses: the wrong kind, a lapsed consent) meet the callers often.
        let hot: Vec<usize> = (0..4).map(|_| rng.below(agencies.len())).collect();
        let some_agency = |rng: &mut Rng| {
            if rng.chance(75) {
                hot[rng.below(hot.len())]
            } else {
                rng.below(agencies.len())
            }
        };
        // Writers: one caseworker per agency (third parties get integration).
        let mut accounts = Vec::new();
        for (i, a) in agencies.iter().enumerate() {
            let role = match a.kind {
                "THIRD_PARTY" => "integration",
                "MULTI_AGENCY" => "coordinator",
                _ => "caseworker",
            };
            let login = format!("w{i}");
            let (id, token) = srv.account(&login, &a.id, &[role]).await;
            accounts.push(Account {
                id,
                token,
                agency: i,
                roles: vec![role],
                login,
            });
        }
        // Callers with random role sets at random agencies.
        for j in 0..(4 + size / 3) {
            let agency = some_agency(rng);
            let mut roles: Vec<&'static str> = vec![*pick(rng, &ROLES)];
            if rng.chance(35) {
                let r = *pick(rng, &ROLES);
                if !roles.contains(&r) {
                    roles.push(r);
                }
            }
            let login = format!("c{j}");
            let (id, token) = srv.account(&login, &agencies[agency].id, &roles).await;
            accounts.push(Account {
                id,
                token,
                agency,
                roles,
                login,
            });
        }
        // The bootstrap admin (admin + auditor).
        accounts.push(Account {
            id: String::new(),
            token: srv.admin_token.clone(),
            agency: 0,
            roles: vec!["admin", "auditor"],
            login: "admin".to_owned(),
        });

        let writer = |agency: usize| accounts[agency].token.clone();

        // Persons, registered through the API by their owner's writer, half of them by
        // reference (upsertPerson).
        let mut refs: Vec<ExtRef> = Vec::new();
        let mut persons = Vec::new();
        for i in 0..size {
            let owner = rng.below(agencies.len());
            let confidential = rng.chance(30);
            let p = Person {
                id: String::new(),
                owner,
                family: format!("氏F{i:03}"),
                given: format!("名G{i:03}"),
                family_kana: format!("{}{}ン", kana_prefix(i / 10), kana_digits(i % 10, 1)),
                given_kana: format!("ネ{}ン", kana_digits(i, 3)),
                birth: format!("{}-{:02}-11", 1901 + i, i % 12 + 1),
                sex: SEXES[rng.below(SEXES.len())],
                address: rng.chance(85).then(|| format!("住所A{i:03}番地")),
                district: rng.chance(85).then(|| *pick(rng, &DISTRICTS)),
                phone: rng.chance(85).then(|| format!("0999-{i:04}-{i:04}")),
                confidential,
                care: rng.chance(70).then(|| format!("介護C{i:03}")),
                disability: rng.chance(50).then(|| format!("手帳H{i:03}")),
                assistance: rng.chance(85).then(|| rng.chance(50)),
            };
            let input = json!({
                "familyName": p.family, "givenName": p.given,
                "familyNameKana": p.family_kana, "givenNameKana": p.given_kana,
                "birthDate": p.birth, "sex": p.sex, "address": p.address,
                "district": p.district, "phone": p.phone,
                "addressConfidential": p.confidential, "careLevel": p.care,
                "disabilityCertificate": p.disability, "publicAssistance": p.assistance,
            });
            let id = if rng.chance(50) {
                let r = ext::new_ref(rng, &refs, owner, RefKind::Person, i);
                let vars = json!({ "r": r.input(), "i": input });
                let data = gql_ok(srv, &writer(owner), ext::UPSERT_PERSON, vars).await;
                let id = ext::created(&data, "upsertPerson", "person")["id"].clone();
                refs.push(r);
                id.as_str().expect("person id").to_owned()
            } else {
                srv.person(&writer(owner), input).await
            };
            persons.push(Person { id, ..p });
        }

        // Consents, recorded through the API by the registering agency.
        let mut consents: Vec<Consent> = Vec::new();
        for k in 0..(size * 5 / 2) {
            let person = rng.below(persons.len());
            let owner = persons[person].owner;
            let mut categories: Vec<&'static str> = CATEGORIES
                .iter()
                .copied()
                .filter(|_| rng.chance(45))
                .collect();
            if categories.is_empty() {
                categories.push(*pick(rng, &CATEGORIES));
            }
            let mut recipients: Vec<usize> = Vec::new();
            let mut rkinds: Vec<&'static str> = Vec::new();
            while recipients.is_empty() && rkinds.is_empty() {
                for _ in 0..rng.below(3) {
                    let a = some_agency(rng);
                    if a != owner && !recipients.contains(&a) {
                        recipients.push(a);
                    }
                }
                if rng.chance(45) {
                    let a = some_agency(rng);
                    rkinds.push(agencies[a].kind);
                }
            }
            let purpose = if rng.chance(85) {
                "SUPPORT"
            } else {
                "EVALUATION"
            };
            // The near miss that matters most: a person under a support measure consents
            // by agency kind to IDENTITY and CONTACT (the address must stay hidden).
            if persons[person].confidential && rng.chance(40) {
                recipients.clear();
                rkinds = vec![agencies[some_agency(rng)].kind];
                for cat in ["IDENTITY", "CONTACT"] {
                    if !categories.contains(&cat) {
                        categories.push(cat);
                    }
                }
            }
            let proxy = rng.chance(30);
            let state = match rng.below(20) {
                0..=10 => ConsentState::Active,
                11..=13 => ConsentState::Withdrawn,
                14..=16 => ConsentState::Expired,
                _ => ConsentState::NotYetValid,
            };
            let evidence = format!("証拠E{k:03}");
            let proxy_name = proxy.then(|| format!("代理人X{k:03}"));
            let input = json!({
                "personId": persons[person].id,
                "givenBy": if proxy { "PROXY" } else { "SELF" },
                "proxyName": proxy_name, "proxyRelationship": proxy.then_some("親権者"),
                "categories": categories,
                "recipientAgencyIds": recipients.iter().map(|a| agencies[*a].id.clone()).collect::<Vec<_>>(),
                "recipientAgencyKinds": rkinds,
                "purpose": purpose,
                "validFrom": (Utc::now() - Duration::hours(2)).to_rfc3339(),
                "validUntil": rng.chance(40).then(|| (Utc::now() + Duration::days(30)).to_rfc3339()),
                "method": "WRITTEN", "evidenceRef": evidence, "explanationVersion": "v1",
            });
            // Some by reference (upsertConsent).
            let (id, version) = if rng.chance(40) {
                let r = ext::new_ref(rng, &refs, owner, RefKind::Consent, consents.len());
                let vars = json!({ "r": r.input(), "i": input });
                let data = gql_ok(srv, &writer(owner), ext::UPSERT_CONSENT, vars).await;
                let c = ext::created(&data, "upsertConsent", "consent").clone();
                refs.push(r);
                let id = c["id"].as_str().expect("consent id").to_owned();
                (id, c["version"].as_i64().expect("version"))
            } else {
                srv.consent(&writer(owner), input).await
            };
            let mut withdrawal_reason = None;
            match state {
                ConsentState::Active => {}
                ConsentState::Withdrawn => {
                    let reason = format!("撤回W{k:03}");
                    gql_ok(
                        srv,
                        &writer(owner),
                        "mutation($id: ID!, $v: Int!, $r: String) { withdrawConsent(id: $id, version: $v, reason: $r) { id } }",
                        json!({ "id": id, "v": version, "r": reason }),
                    )
                    .await;
                    withdrawal_reason = Some(reason);
                }
                ConsentState::Expired | ConsentState::NotYetValid => {
                    let (from, until) = if state == ConsentState::Expired {
                        (
                            Utc::now() - Duration::days(400),
                            Utc::now() - Duration::days(35),
                        )
                    } else {
                        (
                            Utc::now() + Duration::days(3),
                            Utc::now() + Duration::days(300),
                        )
                    };
                    let mut m: entity::consent::ActiveModel =
                        entity::consent::Entity::find_by_id(id.clone())
                            .one(&srv.db)
                            .await
                            .expect("consent row")
                            .expect("consent exists")
                            .into();
                    m.valid_from = Set(from);
                    m.valid_until = Set(Some(until));
                    m.update(&srv.db).await.expect("age consent");
                }
            }
            consents.push(Consent {
                id,
                person,
                categories,
                agencies: recipients,
                kinds: rkinds,
                purpose,
                state,
                proxy_name,
                evidence,
                withdrawal_reason,
            });
        }

        let now = tsunagi_api::audit::now_micros();
        let today = today_jst();
        // Households: any agency may hold one with any persons (a membership it recorded
        // while it had consent, say).
        let mut households = Vec::new();
        let mut member_no = 0;
        for _ in 0..(size / 3).max(1) {
            let owner = rng.below(agencies.len());
            let id = tsunagi_api::store::new_id();
            entity::household::ActiveModel {
                id: Set(id.clone()),
                owner_agency_id: Set(agencies[owner].id.clone()),
                version: Set(1),
                created_by: Set(accounts[owner].id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&srv.db)
            .await
            .expect("household");
            let mut members: Vec<Member> = Vec::new();
            for m in 0..(1 + rng.below(4)) {
                let person = rng.below(persons.len());
                if members.iter().any(|x| x.person == person) {
                    continue;
                }
                let day = |n: i64| today + Duration::days(n);
                let long_ago = NaiveDate::from_ymd_opt(2021, 4, 1);
                // The head is always current (since always, or leaving in the future), so
                // every household has a current member; others take every shape.
                let (joined, left) = match (m, rng.below(20)) {
                    (0, 0..=2) => (long_ago, Some(day(40))),
                    (0, 3..=6) => (None, None),
                    (0, _) => (long_ago, None),
                    (_, 0..=7) => (long_ago, None),
                    (_, 8) => (None, None),
                    // ended long ago, and recently (leftOn <= today)
                    (_, 9..=10) => (long_ago, NaiveDate::from_ymd_opt(2024, 3, 31)),
                    (_, 11..=12) => (long_ago, Some(day(-20))),
                    // joining in the future: not yet current
                    (_, 13..=16) => (Some(day(30)), None),
                    // leaving in the future: still current
                    _ => (long_ago, Some(day(45))),
                };
                let mid = tsunagi_api::store::new_id();
                let relationship = format!("続柄R{member_no:03}");
                member_no += 1;
                entity::household_member::ActiveModel {
                    id: Set(mid.clone()),
                    household_id: Set(id.clone()),
                    person_id: Set(persons[person].id.clone()),
                    relationship: Set(relationship.clone()),
                    is_head: Set(m == 0),
                    joined_on: Set(joined),
                    left_on: Set(left),
                    created_at: Set(now),
                }
                .insert(&srv.db)
                .await
                .expect("member");
                members.push(Member {
                    id: mid,
                    person,
                    relationship,
                    joined,
                    left,
                });
            }
            // Now and then with the reference its registering agency's upsert stores.
            if rng.chance(50) {
                let r = ext::new_ref(rng, &refs, owner, RefKind::Household, households.len());
                r.insert(srv, &agencies[owner].id, &accounts[owner].id, &id)
                    .await;
                refs.push(r);
            }
            households.push(Household { id, owner, members });
        }
        // A household or two by reference (upsertHousehold): an agency's own persons.
        for _ in 0..(1 + rng.below(2)) {
            let first = rng.below(persons.len());
            let owner = persons[first].owner;
            let mut people = vec![first];
            let others: Vec<usize> = (0..persons.len())
                .filter(|p| *p != first && persons[*p].owner == owner)
                .collect();
            if !others.is_empty() && rng.chance(60) {
                people.push(others[rng.below(others.len())]);
            }
            let joined = NaiveDate::from_ymd_opt(2021, 4, 1);
            let relationship = |m: usize| format!("続柄R{:03}", member_no + m);
            let input: Vec<Value> = people
                .iter()
                .enumerate()
                .map(|(m, p)| {
                    json!({ "personId": persons[*p].id, "relationship": relationship(m),
                            "isHead": m == 0, "joinedOn": joined.map(|d| d.to_string()) })
                })
                .collect();
            let r = ext::new_ref(rng, &refs, owner, RefKind::Household, households.len());
            let vars = json!({ "r": r.input(), "m": input });
            let data = gql_ok(srv, &writer(owner), ext::UPSERT_HOUSEHOLD, vars).await;
            let h = ext::created(&data, "upsertHousehold", "household");
            let member_id = |p: usize| {
                h["members"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["person"]["id"] == json!(persons[p].id)))
                    .and_then(|x| x["id"].as_str())
                    .expect("member id")
                    .to_owned()
            };
            let members = people
                .iter()
                .enumerate()
                .map(|(m, p)| Member {
                    id: member_id(*p),
                    person: *p,
                    relationship: relationship(m),
                    joined,
                    left: None,
                })
                .collect();
            member_no += people.len();
            let id = h["id"].as_str().expect("household id").to_owned();
            refs.push(r);
            households.push(Household { id, owner, members });
        }

        let cats = gql_ok(
            srv,
            &accounts[0].token,
            "{ issueCategories { code policyCategory } }",
            json!({}),
        )
        .await;
        let issue_categories: Vec<(String, String)> = cats["issueCategories"]
            .as_array()
            .expect("issue categories")
            .iter()
            .map(|c| {
                (
                    c["code"].as_str().unwrap_or_default().to_owned(),
                    c["policyCategory"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();

        // Consultations at any agency about one or two persons.
        let mut consultations = Vec::new();
        for c in 0..size {
            let mut receiver = rng.below(agencies.len());
            let mut subjects = vec![rng.below(persons.len())];
            if rng.chance(35) {
                let s = rng.below(persons.len());
                if !subjects.contains(&s) {
                    subjects.push(s);
                }
            }
            let mut household =
                (rng.chance(40) && !households.is_empty()).then(|| rng.below(households.len()));
            // A fifth by reference (upsertConsultation), received by the agency that holds
            // the subjects and the household, which it may name.
            let synced = rng.chance(20);
            if synced {
                receiver = persons[subjects[0]].owner;
                subjects.retain(|p| persons[*p].owner == receiver);
                household = household.filter(|h| households[*h].owner == receiver);
            }
            let mut issues: Vec<(String, bool)> = Vec::new();
            for _ in 0..(1 + rng.below(3)) {
                let code = pick(rng, &issue_categories).0.clone();
                if !issues.iter().any(|(c, _)| *c == code) {
                    let main = issues.is_empty();
                    issues.push((code, main));
                }
            }
            let minutes_ago = 10 + (c as i64) * 7 + rng.below(5) as i64;
            let received_at = now - Duration::minutes(minutes_ago);
            let id = if synced {
                let ids: Vec<&String> = subjects.iter().map(|p| &persons[*p].id).collect();
                let codes: Vec<Value> = issues
                    .iter()
                    .map(|(code, main)| json!({ "code": code, "main": main }))
                    .collect();
                let input = json!({
                    "receivedAt": received_at.to_rfc3339(), "channel": "VISIT",
                    "subjectPersonIds": ids, "issues": codes,
                    "householdId": household.map(|h| &households[h].id),
                    "summary": format!("要約S{c:03}"), "urgency": "NORMAL",
                });
                let r = ext::new_ref(rng, &refs, receiver, RefKind::Consultation, c);
                let vars = json!({ "r": r.input(), "i": input });
                let data = gql_ok(srv, &writer(receiver), ext::UPSERT_CONSULTATION, vars).await;
                let id = ext::created(&data, "upsertConsultation", "consultation")["id"].clone();
                refs.push(r);
                id.as_str().expect("consultation id").to_owned()
            } else {
                let id = tsunagi_api::store::new_id();
                entity::consultation::ActiveModel {
                    id: Set(id.clone()),
                    receiving_agency_id: Set(agencies[receiver].id.clone()),
                    received_at: Set(received_at),
                    channel: Set("VISIT".to_owned()),
                    household_id: Set(household.map(|h| households[h].id.clone())),
                    summary: Set(format!("要約S{c:03}")),
                    urgency: Set("NORMAL".to_owned()),
                    status: Set("OPEN".to_owned()),
                    version: Set(1),
                    created_by: Set(accounts[receiver].id.clone()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&srv.db)
                .await
                .expect("consultation");
                for s in &subjects {
                    entity::consultation_subject::ActiveModel {
                        consultation_id: Set(id.clone()),
                        person_id: Set(persons[*s].id.clone()),
                    }
                    .insert(&srv.db)
                    .await
                    .expect("subject");
                }
                for (code, main) in &issues {
                    entity::consultation_issue::ActiveModel {
                        consultation_id: Set(id.clone()),
                        issue_code: Set(code.clone()),
                        is_main: Set(*main),
                    }
                    .insert(&srv.db)
                    .await
                    .expect("issue");
                }
                // Now and then with the reference the receiving agency's upsert stores.
                if rng.chance(40) {
                    let r = ext::new_ref(rng, &refs, receiver, RefKind::Consultation, c);
                    r.insert(srv, &agencies[receiver].id, &accounts[receiver].id, &id)
                        .await;
                    refs.push(r);
                }
                id
            };
            consultations.push(Consultation {
                id,
                receiver,
                subjects,
                household,
                summary: format!("要約S{c:03}"),
                issues,
                minutes_ago,
            });
        }

        // Referrals between any two agencies.
        let mut referrals = Vec::new();
        for r in 0..(size / 2) {
            let from = rng.below(agencies.len());
            let mut to = rng.below(agencies.len());
            if to == from {
                to = (to + 1) % agencies.len();
            }
            let person = rng.below(persons.len());
            let consultation = (rng.chance(50) && !consultations.is_empty())
                .then(|| rng.below(consultations.len()));
            let declined = rng.chance(30);
            let id = tsunagi_api::store::new_id();
            let reason = format!("理由Q{r:03}");
            let decline_reason = declined.then(|| format!("辞退K{r:03}"));
            entity::referral::ActiveModel {
                id: Set(id.clone()),
                from_agency_id: Set(agencies[from].id.clone()),
                to_agency_id: Set(agencies[to].id.clone()),
                person_id: Set(persons[person].id.clone()),
                consultation_id: Set(consultation.map(|c| consultations[c].id.clone())),
                reason: Set(reason.clone()),
                status: Set(if declined { "DECLINED" } else { "PROPOSED" }.to_owned()),
                decline_reason: Set(decline_reason.clone()),
                version: Set(1),
                created_by: Set(accounts[from].id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
                decided_at: Set(declined.then_some(now)),
                completed_at: Set(None),
            }
            .insert(&srv.db)
            .await
            .expect("referral");
            // The sender's reference, as its proposeReferral(ref:) would have stored it; now
            // and then the receiver's own too.
            for (holder, percent) in [(from, 50), (to, 25)] {
                if rng.chance(percent) {
                    let x = ext::new_ref(rng, &refs, holder, RefKind::Referral, r);
                    x.insert(srv, &agencies[holder].id, &accounts[holder].id, &id)
                        .await;
                    refs.push(x);
                }
            }
            referrals.push(Referral {
                id,
                from,
                to,
                person,
                consultation,
                reason,
                decline_reason,
            });
        }

        ext::add_blind_holders(srv, &agencies, &mut accounts, &refs).await;
        let mut world = World {
            agencies,
            accounts,
            persons,
            consents,
            households,
            consultations,
            referrals,
            meetings: Vec::new(),
            grants: Vec::new(),
            activities: Vec::new(),
            cases: Vec::new(),
            placements: Vec::new(),
            decisions: Vec::new(),
            involvements: Vec::new(),
            plans: Vec::new(),
            today,
            issue_categories,
            refs,
        };
        world.add_support(srv, rng, &hot, size).await;
        world
    }

    pub fn issue_category(&self, code: &str) -> &str {
        self.issue_categories
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, p)| p.as_str())
            .unwrap_or("UNKNOWN")
    }
}
