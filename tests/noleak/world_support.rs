//! The 多機関協働 side of a world: meetings (支援会議 in and out of their period, and the
//! kinds that are no basis), break-glass grants, activities, support cases (often with the
//! members' consents for the coordinating agency) and participation placements.

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;
use tsunagi_tests::Server;

use crate::rng::Rng;
use crate::world::{
    pick, Activity, Case, Consent, ConsentState, Grant, Meeting, Placement, World, CATEGORIES,
};
use crate::world_refs::{self as ext, RefKind};

impl World {
    /// Adds the support records; `hot` are the agencies most callers sit at.
    pub async fn add_support(&mut self, srv: &Server, rng: &mut Rng, hot: &[usize], size: usize) {
        let now = tsunagi_api::audit::now_micros();
        let today = self.today;
        let n_agencies = self.agencies.len();
        let some_agency = |rng: &mut Rng| {
            if rng.chance(75) {
                hot[rng.below(hot.len())]
            } else {
                rng.below(n_agencies)
            }
        };
        // Support cases: at most one per household, held by a random agency.
        let mut cases = Vec::new();
        for (h, hh) in self.households.iter().enumerate() {
            if !rng.chance(60) {
                continue;
            }
            let owner = some_agency(rng);
            let id = tsunagi_api::store::new_id();
            entity::support_case::ActiveModel {
                id: Set(id.clone()),
                household_id: Set(hh.id.clone()),
                owner_agency_id: Set(self.agencies[owner].id.clone()),
                lead_account_id: Set(self.accounts[owner].id.clone()),
                status: Set("ASSESSMENT".to_owned()),
                status_before_suspension: Set(None),
                opened_on: Set(NaiveDate::from_ymd_opt(2026, 4, 1).expect("date")),
                closed_on: Set(None),
                version: Set(1),
                created_by: Set(self.accounts[owner].id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&srv.db)
            .await
            .expect("support case");
            // Usually the coordinating agency holds self.consents of the members it works with.
            if rng.chance(60) {
                // Current members, and now and then one who has not joined yet (whose consent
                // must not open the case to anyone: the oracle ignores non-current members).
                for m in hh
                    .members
                    .iter()
                    .filter(|m| m.current(today) || (m.left.is_none() && rng.chance(50)))
                {
                    let p = &self.persons[m.person];
                    if p.owner == owner {
                        continue;
                    }
                    let categories = vec!["IDENTITY", "HOUSEHOLD", "PLAN"];
                    let input = json!({
                        "personId": p.id, "givenBy": "SELF", "categories": categories,
                        "recipientAgencyIds": [self.agencies[owner].id], "purpose": "SUPPORT",
                        "validFrom": (Utc::now() - Duration::hours(2)).to_rfc3339(),
                        "method": "WRITTEN", "evidenceRef": format!("証拠E{:03}", self.consents.len()),
                    });
                    let (cid, _) = srv.consent(&self.accounts[p.owner].token, input).await;
                    self.consents.push(Consent {
                        id: cid,
                        person: m.person,
                        categories,
                        agencies: vec![owner],
                        kinds: vec![],
                        purpose: "SUPPORT",
                        state: ConsentState::Active,
                        proxy_name: None,
                        evidence: format!("証拠E{:03}", self.consents.len()),
                        withdrawal_reason: None,
                    });
                }
            }
            cases.push(Case {
                id,
                household: h,
                owner,
            });
        }

        // Meetings: 支援会議 in, before and after their period, and the kinds that are no
        // basis at all (重層的支援会議, case conference).
        let mut meetings = Vec::new();
        for n in 0..self.households.len() {
            let household = rng.below(self.households.len());
            // 多機関協働 usually convenes; the first meeting is always its 重層的支援会議, so
            // every world has one whose consentGaps its coordinators may ask, and the second
            // a 支援会議 in its period, so every world has a SUPPORT_MEETING basis.
            let (first, second) = (n == 0, n == 1);
            let convener = match self.agencies.iter().position(|a| a.kind == "MULTI_AGENCY") {
                Some(m) if first || rng.chance(40) => m,
                _ => some_agency(rng),
            };
            let mut members = vec![convener];
            for _ in 0..(1 + rng.below(3)) {
                let a = some_agency(rng);
                if !members.contains(&a) && self.agencies[a].kind != "THIRD_PARTY" {
                    members.push(a);
                }
            }
            let kind = if second {
                "SUPPORT_MEETING"
            } else if self.agencies[convener].kind == "MULTI_AGENCY" && (first || rng.chance(30)) {
                "MULTI_AGENCY_MEETING"
            } else {
                *pick(
                    rng,
                    &[
                        "SUPPORT_MEETING",
                        "SUPPORT_MEETING",
                        "SUPPORT_MEETING",
                        "MULTI_AGENCY_MEETING",
                        "CASE_CONFERENCE",
                    ],
                )
            };
            let mut categories: Vec<&'static str> = CATEGORIES
                .iter()
                .copied()
                .filter(|_| rng.chance(45))
                .collect();
            if categories.is_empty() {
                categories.push("IDENTITY");
            }
            let phase = if second { 0 } else { rng.below(5) }; // 0..=2 in period, 3 over, 4 not yet
            let (from, until) = match phase {
                3 => (now - Duration::days(100), now - Duration::days(1)),
                4 => (now + Duration::days(1), now + Duration::days(100)),
                _ => (now - Duration::days(10), now + Duration::days(80)),
            };
            // Often about the household's support case, if it has one.
            let case = cases
                .iter()
                .position(|c: &Case| c.household == household)
                .filter(|_| rng.chance(60));
            let id = tsunagi_api::store::new_id();
            entity::meeting::ActiveModel {
                id: Set(id.clone()),
                kind: Set(kind.to_owned()),
                household_id: Set(self.households[household].id.clone()),
                case_id: Set(case.map(|k| cases[k].id.clone())),
                owner_agency_id: Set(self.agencies[convener].id.clone()),
                held_at: Set(now - Duration::days(5)),
                minutes: Set(Some(format!("議事録M{n:03}"))),
                period_from: Set((kind == "SUPPORT_MEETING").then_some(from)),
                period_until: Set((kind == "SUPPORT_MEETING").then_some(until)),
                version: Set(1),
                created_by: Set(self.accounts[convener].id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&srv.db)
            .await
            .expect("meeting");
            for a in &members {
                entity::meeting_member::ActiveModel {
                    meeting_id: Set(id.clone()),
                    agency_id: Set(self.agencies[*a].id.clone()),
                }
                .insert(&srv.db)
                .await
                .expect("meeting member");
            }
            for c in &categories {
                entity::meeting_category::ActiveModel {
                    meeting_id: Set(id.clone()),
                    category: Set(c.to_string()),
                }
                .insert(&srv.db)
                .await
                .expect("meeting category");
            }
            meetings.push(Meeting {
                kind,
                id,
                convener,
                minutes: format!("議事録M{n:03}"),
                household,
                members,
                categories,
                in_period: kind == "SUPPORT_MEETING" && phase <= 2,
                case,
            });
        }

        // Emergency grants: open, expired and closed, of any account but the bootstrap admin.
        // The first is open, held by an account whose roles see something, for a person its
        // agency did not register, so every world has an EMERGENCY basis for its cases.
        let mut grants = Vec::new();
        let may_see: Vec<usize> = (0..self.accounts.len() - 1)
            .filter(|a| !crate::oracle::ceiling(&self.accounts[*a].roles).is_empty())
            .collect();
        for g in 0..(size / 4) {
            let account = if g == 0 {
                *pick(rng, &may_see)
            } else {
                rng.below(self.accounts.len() - 1)
            };
            let others: Vec<usize> = (0..self.persons.len())
                .filter(|p| g > 0 || self.persons[*p].owner != self.accounts[account].agency)
                .collect();
            let person = if others.is_empty() {
                rng.below(self.persons.len())
            } else {
                *pick(rng, &others)
            };
            let state = if g == 0 { 0 } else { rng.below(4) }; // 0..=1 open, 2 expired, 3 closed
            let (granted, expires) = if state == 2 {
                (now - Duration::hours(8), now - Duration::hours(4))
            } else {
                (now - Duration::hours(1), now + Duration::hours(3))
            };
            entity::emergency_grant::ActiveModel {
                id: Set(tsunagi_api::store::new_id()),
                account_id: Set(self.accounts[account].id.clone()),
                agency_id: Set(self.agencies[self.accounts[account].agency].id.clone()),
                person_id: Set(self.persons[person].id.clone()),
                reason: Set("生命・身体の保護のため緊急に確認".to_owned()),
                granted_at: Set(granted),
                expires_at: Set(expires),
                closed_at: Set((state == 3).then_some(now - Duration::minutes(5))),
                closed_by: Set((state == 3).then(|| "admin".to_owned())),
                review_note: Set((state == 3).then(|| "確認済み".to_owned())),
            }
            .insert(&srv.db)
            .await
            .expect("grant");
            grants.push(Grant {
                account,
                person,
                active: state <= 1,
            });
        }

        // Activities of any agency about any person.
        let mut activities = Vec::new();
        for n in 0..size {
            let person = rng.below(self.persons.len());
            // Usually the agency that registered the person, else anyone.
            let agency = if rng.chance(50) {
                self.persons[person].owner
            } else {
                some_agency(rng)
            };
            let id = tsunagi_api::store::new_id();
            let note = format!("記録N{n:03}");
            entity::activity::ActiveModel {
                id: Set(id.clone()),
                kind: Set("MONITORING".to_owned()),
                person_id: Set(self.persons[person].id.clone()),
                case_id: Set(None),
                placement_id: Set(None),
                agency_id: Set(self.agencies[agency].id.clone()),
                account_id: Set(self.accounts[agency].id.clone()),
                occurred_on: Set(NaiveDate::from_ymd_opt(2026, 1, 1)
                    .expect("date")
                    .checked_add_days(chrono::Days::new(n as u64))
                    .expect("date")),
                result: Set(None),
                stage: Set(None),
                next_planned_on: Set(None),
                note: Set(note.clone()),
                created_at: Set(now),
            }
            .insert(&srv.db)
            .await
            .expect("activity");
            // The recording agency's reference, as its recordActivity(ref:) would have stored.
            if rng.chance(50) {
                let x = ext::new_ref(rng, &self.refs, agency, RefKind::Activity, n);
                x.insert(
                    srv,
                    &self.agencies[agency].id,
                    &self.accounts[agency].id,
                    &id,
                )
                .await;
                self.refs.push(x);
            }
            activities.push(Activity {
                id,
                agency,
                person,
                note,
                case: None,
                placement: None,
            });
        }

        // One community resource (public data) and placements of self.persons at it.
        let resource = tsunagi_api::store::new_id();
        entity::community_resource::ActiveModel {
            id: Set(resource.clone()),
            kind: Set("GATHERING_PLACE".to_owned()),
            name: Set("居場所".to_owned()),
            district: Set(None),
            schedule: Set(None),
            target_groups: Set(None),
            capacity: Set(None),
            contact: Set(None),
            agency_id: Set(self.agencies[0].id.clone()),
            active: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&srv.db)
        .await
        .expect("resource");
        let mut placements = Vec::new();
        for _ in 0..size {
            let person = rng.below(self.persons.len());
            let agency = if rng.chance(50) {
                self.persons[person].owner
            } else {
                some_agency(rng)
            };
            let id = tsunagi_api::store::new_id();
            entity::participation_placement::ActiveModel {
                id: Set(id.clone()),
                person_id: Set(self.persons[person].id.clone()),
                resource_id: Set(resource.clone()),
                agency_id: Set(self.agencies[agency].id.clone()),
                started_on: Set(NaiveDate::from_ymd_opt(2026, 5, 1).expect("date")),
                ended_on: Set(None),
                status: Set("ACTIVE".to_owned()),
                version: Set(1),
                created_by: Set(self.accounts[agency].id.clone()),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&srv.db)
            .await
            .expect("placement");
            placements.push(Placement { id, agency, person });
        }
        self.meetings = meetings;
        self.grants = grants;
        self.activities = activities;
        self.cases = cases;
        self.placements = placements;
        self.add_case_content(srv, rng, hot).await;
        self.add_near_misses(srv, rng, hot).await;
    }
}
