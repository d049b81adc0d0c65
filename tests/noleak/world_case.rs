//! The contents of support cases (支援決定 with their meetings, involvements, plan versions
//! with an assignment), activities linked to a case or a placement, and near-miss consents:
//! a caller that knows one subject's identity but not that subject's link to a shared
//! record (a consultation, a household, a meeting, a case), and callers with NARRATIVE but
//! not PLAN for activities that point at a case or a placement.

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::json;
use tsunagi_tests::Server;

use crate::rng::Rng;
use crate::world::{Activity, Consent, ConsentState, Decision, Involvement, Plan, World};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

impl World {
    /// A hot agency (most callers sit there) other than `not`, if one can be found.
    fn other_hot(&self, rng: &mut Rng, hot: &[usize], not: &[usize]) -> Option<usize> {
        (0..8)
            .map(|_| {
                if rng.chance(80) {
                    hot[rng.below(hot.len())]
                } else {
                    rng.below(self.agencies.len())
                }
            })
            .find(|a| !not.contains(a))
    }

    /// Records (through the API, by the registering agency) an active SUPPORT consent of
    /// `person` for `cats`, naming `agency`.
    async fn give(&mut self, srv: &Server, person: usize, cats: &[&'static str], agency: usize) {
        let owner = self.persons[person].owner;
        if owner == agency {
            return;
        }
        let evidence = format!("証拠E{:03}", self.consents.len());
        let input = json!({
            "personId": self.persons[person].id, "givenBy": "SELF", "categories": cats,
            "recipientAgencyIds": [self.agencies[agency].id], "purpose": "SUPPORT",
            "validFrom": (Utc::now() - Duration::hours(2)).to_rfc3339(),
            "method": "WRITTEN", "evidenceRef": evidence,
        });
        let (id, _) = srv.consent(&self.accounts[owner].token, input).await;
        self.consents.push(Consent {
            id,
            person,
            categories: cats.to_vec(),
            agencies: vec![agency],
            kinds: vec![],
            purpose: "SUPPORT",
            state: ConsentState::Active,
            proxy_name: None,
            evidence,
            withdrawal_reason: None,
        });
    }

    async fn insert_activity(
        &mut self,
        srv: &Server,
        agency: usize,
        person: usize,
        case: Option<usize>,
        placement: Option<usize>,
    ) {
        let n = self.activities.len();
        let id = tsunagi_api::store::new_id();
        let note = format!("記録N{n:03}");
        entity::activity::ActiveModel {
            id: Set(id.clone()),
            kind: Set("MONITORING".to_owned()),
            person_id: Set(self.persons[person].id.clone()),
            case_id: Set(case.map(|k| self.cases[k].id.clone())),
            placement_id: Set(placement.map(|x| self.placements[x].id.clone())),
            agency_id: Set(self.agencies[agency].id.clone()),
            account_id: Set(self.accounts[agency].id.clone()),
            occurred_on: Set(date(2026, 1, 1)
                .checked_add_days(chrono::Days::new(n as u64))
                .expect("date")),
            result: Set(None),
            stage: Set(None),
            next_planned_on: Set(None),
            note: Set(note.clone()),
            created_at: Set(tsunagi_api::audit::now_micros()),
        }
        .insert(&srv.db)
        .await
        .expect("activity");
        self.activities.push(Activity {
            id,
            agency,
            person,
            note,
            case,
            placement,
        });
    }

    /// Decisions, involvements and plans of the cases; activities linked to them.
    pub async fn add_case_content(&mut self, srv: &Server, rng: &mut Rng, hot: &[usize]) {
        let now = tsunagi_api::audit::now_micros();
        for k in 0..self.cases.len() {
            let (owner, h) = (self.cases[k].owner, self.cases[k].household);
            let case_id = self.cases[k].id.clone();
            if rng.chance(65) {
                let here: Vec<usize> = (0..self.meetings.len())
                    .filter(|m| self.meetings[*m].household == h)
                    .collect();
                let meeting =
                    (!here.is_empty() && rng.chance(75)).then(|| here[rng.below(here.len())]);
                let id = tsunagi_api::store::new_id();
                let basis = format!("根拠B{k:03}");
                let note = rng.chance(80).then(|| format!("備考D{k:03}"));
                entity::case_decision::ActiveModel {
                    id: Set(id.clone()),
                    case_id: Set(case_id.clone()),
                    kind: Set("SUPPORT_DECISION".to_owned()),
                    decided_on: Set(date(2026, 4, 10)),
                    decider: Set("福祉課長".to_owned()),
                    basis: Set(Some(basis.clone())),
                    reason: Set(None),
                    note: Set(note.clone()),
                    meeting_id: Set(meeting.map(|m| self.meetings[m].id.clone())),
                    plan_id: Set(None),
                    recorded_by: Set(self.accounts[owner].id.clone()),
                    created_at: Set(now),
                }
                .insert(&srv.db)
                .await
                .expect("decision");
                self.decisions.push(Decision {
                    id,
                    case: k,
                    basis,
                    note,
                    meeting,
                });
            }
            if rng.chance(60) {
                let agency = self.other_hot(rng, hot, &[]).unwrap_or(owner);
                let id = tsunagi_api::store::new_id();
                entity::case_involvement::ActiveModel {
                    id: Set(id.clone()),
                    case_id: Set(case_id.clone()),
                    agency_id: Set(self.agencies[agency].id.clone()),
                    role: Set("SUPPORTING".to_owned()),
                    started_on: Set(date(2026, 4, 15)),
                    ended_on: Set(None),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&srv.db)
                .await
                .expect("involvement");
                self.involvements.push(Involvement {
                    id,
                    case: k,
                    agency,
                });
            }
            if rng.chance(60) {
                let id = tsunagi_api::store::new_id();
                let plan = Plan {
                    id: id.clone(),
                    case: k,
                    wishes: format!("思いW{k:03}"),
                    long_goal: format!("長期L{k:03}"),
                    short_goal: format!("短期S{k:03}"),
                    assignment: tsunagi_api::store::new_id(),
                    assignment_agency: self.other_hot(rng, hot, &[]).unwrap_or(owner),
                    task: format!("役割T{k:03}"),
                    frequency: format!("頻度F{k:03}"),
                };
                entity::support_plan::ActiveModel {
                    id: Set(id.clone()),
                    case_id: Set(case_id.clone()),
                    plan_version: Set(1),
                    wishes: Set(plan.wishes.clone()),
                    long_term_goal: Set(plan.long_goal.clone()),
                    short_term_goals: Set(json!([plan.short_goal]).to_string()),
                    next_review_on: Set(Some(self.today + Duration::days(60))),
                    agreed_on: Set(None),
                    agreement_method: Set(None),
                    created_by: Set(self.accounts[owner].id.clone()),
                    created_at: Set(now),
                }
                .insert(&srv.db)
                .await
                .expect("plan");
                entity::plan_assignment::ActiveModel {
                    id: Set(plan.assignment.clone()),
                    plan_id: Set(id),
                    agency_id: Set(self.agencies[plan.assignment_agency].id.clone()),
                    role: Set("SUPPORTING".to_owned()),
                    task: Set(plan.task.clone()),
                    contact_frequency: Set(Some(plan.frequency.clone())),
                    due_on: Set(None),
                    placement_id: Set(None),
                    sort_order: Set(0),
                }
                .insert(&srv.db)
                .await
                .expect("assignment");
                self.plans.push(plan);
            }
        }
        // Activities about a member of a case's household, linked to the case (recorded by
        // the case's agency, the person's registering agency, or another).
        for k in 0..self.cases.len() {
            if !rng.chance(75) {
                continue;
            }
            let hh = &self.households[self.cases[k].household];
            let person = hh.members[rng.below(hh.members.len())].person;
            let agency = match rng.below(3) {
                0 => self.cases[k].owner,
                1 => self.persons[person].owner,
                _ => self.other_hot(rng, hot, &[]).unwrap_or(0),
            };
            self.insert_activity(srv, agency, person, Some(k), None)
                .await;
        }
        // Activities about a placement's person, linked to the placement.
        for x in 0..self.placements.len() {
            if !rng.chance(65) {
                continue;
            }
            let person = self.placements[x].person;
            let agency = if rng.chance(50) {
                self.placements[x].agency
            } else {
                self.other_hot(rng, hot, &[]).unwrap_or(0)
            };
            self.insert_activity(srv, agency, person, None, Some(x))
                .await;
        }
    }

    /// Consents that put a caller right at the edge of what it may know.
    pub async fn add_near_misses(&mut self, srv: &Server, rng: &mut Rng, hot: &[usize]) {
        let today = self.today;
        // A consultation about two persons: the caller knows X (IDENTITY) but not X's link
        // (no NARRATIVE), and sees Y's link.
        for c in 0..self.consultations.len() {
            let subjects = self.consultations[c].subjects.clone();
            if subjects.len() < 2 || !rng.chance(60) {
                continue;
            }
            let Some(a) = self.other_hot(rng, hot, &[self.consultations[c].receiver]) else {
                continue;
            };
            let (x, y) = if rng.chance(50) {
                (subjects[0], subjects[1])
            } else {
                (subjects[1], subjects[0])
            };
            self.give(srv, x, &["IDENTITY"], a).await;
            self.give(srv, y, &["IDENTITY", "NARRATIVE"], a).await;
        }
        // A household the caller knows through Y's membership, with X known (IDENTITY) but
        // X's membership hidden (no HOUSEHOLD).
        for h in 0..self.households.len() {
            let members: Vec<usize> = self.households[h]
                .members
                .iter()
                .map(|m| m.person)
                .collect();
            if members.len() < 2 || !rng.chance(60) {
                continue;
            }
            let Some(a) = self.other_hot(rng, hot, &[self.households[h].owner]) else {
                continue;
            };
            let i = rng.below(members.len());
            let (x, y) = (members[i], members[(i + 1) % members.len()]);
            let xcats: &[&'static str] = if rng.chance(30) {
                &["IDENTITY", "NARRATIVE"]
            } else {
                &["IDENTITY"]
            };
            self.give(srv, x, xcats, a).await;
            self.give(srv, y, &["IDENTITY", "HOUSEHOLD"], a).await;
        }
        // A meeting participant knows a current member's identity, not the membership.
        for m in 0..self.meetings.len() {
            let mm = &self.meetings[m];
            let others: Vec<usize> = mm
                .members
                .iter()
                .copied()
                .filter(|a| *a != mm.convener)
                .collect();
            let current: Vec<usize> = self.households[mm.household]
                .members
                .iter()
                .filter(|x| x.current(today))
                .map(|x| x.person)
                .collect();
            if others.is_empty() || current.is_empty() || !rng.chance(50) {
                continue;
            }
            let a = others[rng.below(others.len())];
            let x = current[rng.below(current.len())];
            self.give(srv, x, &["IDENTITY"], a).await;
        }
        for k in 0..self.cases.len() {
            let (owner, h) = (self.cases[k].owner, self.cases[k].household);
            let current: Vec<usize> = self.households[h]
                .members
                .iter()
                .filter(|x| x.current(today))
                .map(|x| x.person)
                .collect();
            let future: Vec<usize> = self.households[h]
                .members
                .iter()
                .filter(|x| x.joined.is_some_and(|j| j > today))
                .map(|x| x.person)
                .collect();
            // A non-owner knows the case through Y's PLAN; X (another member) only by name.
            if rng.chance(60) {
                if let Some(a) = self.other_hot(rng, hot, &[owner]) {
                    let y = current[rng.below(current.len())];
                    self.give(srv, y, &["IDENTITY", "PLAN", "NARRATIVE"], a)
                        .await;
                    let all: Vec<usize> = self.households[h]
                        .members
                        .iter()
                        .map(|m| m.person)
                        .filter(|p| *p != y)
                        .collect();
                    if !all.is_empty() {
                        let x = all[rng.below(all.len())];
                        self.give(srv, x, &["IDENTITY"], a).await;
                    }
                }
            }
            // Only a member who has not joined yet consents to PLAN: no case through them.
            if !future.is_empty() && rng.chance(70) {
                if let Some(a) = self.other_hot(rng, hot, &[owner]) {
                    let f = future[rng.below(future.len())];
                    self.give(srv, f, &["IDENTITY", "PLAN", "HOUSEHOLD", "NARRATIVE"], a)
                        .await;
                }
            }
            // Every current member consents to PLAN and NARRATIVE (a future member does
            // not): plan text, notes and involvements are open.
            if rng.chance(35) {
                if let Some(a) = self.other_hot(rng, hot, &[owner]) {
                    for p in current.clone() {
                        self.give(srv, p, &["IDENTITY", "PLAN", "NARRATIVE"], a)
                            .await;
                    }
                }
            }
        }
        // Linked activities: someone with NARRATIVE (so the activity is listed) but no PLAN.
        for x in 0..self.activities.len() {
            let act = &self.activities[x];
            if (act.case.is_none() && act.placement.is_none()) || !rng.chance(60) {
                continue;
            }
            let mut not = vec![act.agency];
            if let Some(k) = act.case {
                not.push(self.cases[k].owner);
            }
            if let Some(p) = act.placement {
                not.push(self.placements[p].agency);
            }
            let person = act.person;
            if let Some(a) = self.other_hot(rng, hot, &not) {
                self.give(srv, person, &["IDENTITY", "NARRATIVE"], a).await;
            }
        }
    }
}
