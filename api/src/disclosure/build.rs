//! From the rows to the report (pure: no I/O, no clock). What is shown and what is masked is
//! decided here and nowhere else:
//!
//! - **本人の記録 / the person's own record**: every field, as stored.
//! - **世帯 / households**: the person's memberships in full; another member appears only as
//!   its relationship, head flag and whether it is current — no name, id, date of birth,
//!   membership dates or any field (第78条第1項第2号, 第79条第2項: the rest can be disclosed
//!   once what identifies the third party is removed).
//! - **相談 / consultations** the person is a subject of: in full, but co-subjects appear only
//!   as a count, and the consultation's household only when it is one of the person's.
//! - **自由記述 / free text** (summaries, reasons, notes, plans, minutes): the names the hub
//!   knows of the co-subjects, the other household members and the proxies who gave consent
//!   are replaced by ［第三者］ ([`Redactor`]); the person's own name is kept. Text may still
//!   mention others in ways no machine can find, so the report says `reviewRequired` and the
//!   officer reviews it under 第78条 before it is handed over.
//! - **支援会議の議事録 / a 支援会議's minutes**: withheld (the meeting itself, its agencies,
//!   categories and period are shown). Its members are bound to confidentiality (社会福祉法
//!   第106条の6) and it serves cases (abuse, DV) where disclosure could endanger someone or
//!   the support itself: 第78条第1項第2号・第7号. Other meetings' minutes are shown, masked.
//! - **ケースと会議 / cases and meetings** of the person's households: only those of the
//!   person's time in the household (a case open, a meeting held, while the membership ran);
//!   later or earlier ones are other members' records.
//!   Within a case, the same holds for its parts: a decision is shown only when made on a
//!   day the person belonged to the household, a plan only when made then, an agency's
//!   involvement only when it overlapped the person's membership.
//! - **同じ人の記録 / linked records**: the other records confirmed (名寄せ, CONFIRMED) to be
//!   the person, by id and registering agency, so that the officer produces their reports
//!   too; a proposed or revoked link is not shown (its other record may be someone else).
//! - **職員 / staff**: agencies and roles, never account ids or staff names (the ledger shows
//!   who by agency, as マイナポータル's 情報提供等記録 does; a decision's decider is
//!   ［担当者］).

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::ID;
use chrono::{DateTime, Utc};
use entity::{agency, audit_event};

use super::report::*;
use crate::policy::{city_date, membership_current, POLICY_VERSION};
use crate::store::disclosure::{Holdings, ThirdPartyNames, LEDGER_ROWS};
use crate::store::facts::SUPPORT_MEETING_KIND;

mod cases;
mod notes;
mod redact;
use notes::{categories, has_free_text, masking_notes};
pub use redact::{Redactor, MASK};

/// What a staff member's name (a decision's decider) is replaced by: the report names
/// agencies and roles, never staff (as マイナポータル's 情報提供等記録 does).
pub const MASK_STAFF: &str = "［担当者］";

/// The legal basis named in the report and in its ledger row.
pub const LEGAL_BASIS: &str =
    "個人情報の保護に関する法律 第76条 (開示請求) / Act on the Protection of Personal Information, Art. 76";

/// The report of `h` as produced at `now`.
pub fn report(h: &Holdings, now: DateTime<Utc>) -> DisclosureReport {
    let b = Builder::new(h, now);
    let households = b.households();
    let consultations = b.consultations();
    let cases = b.cases();
    let meetings = b.meetings();
    let mut report = DisclosureReport {
        produced_at: now.into(),
        legal_basis: LEGAL_BASIS.to_owned(),
        policy_version: POLICY_VERSION,
        categories: Vec::new(),
        person: b.person(),
        linked_records: b.linked_records(),
        households,
        consultations,
        referrals: b.referrals(),
        consents: b.consents(),
        cases,
        meetings,
        activities: b.activities(),
        placements: b.placements(),
        emergency_accesses: b.emergency(),
        access_summary: b.summary(),
        access_log: h.ledger.iter().map(|r| b.access(r)).collect(),
        access_log_total: h.ledger_summary.iter().map(|s| s.rows).sum(),
        access_log_truncated: false,
        masking: masking_notes(),
        review_required: false,
    };
    report.access_log_truncated = report.access_log_total > report.access_log.len() as i64
        || h.ledger.len() as u64 > LEDGER_ROWS;
    report.review_required = has_free_text(&report);
    report.categories = categories(h, &report);
    report
}

struct Builder<'a> {
    h: &'a Holdings,
    now: DateTime<Utc>,
    redactor: Redactor,
    households: BTreeSet<&'a str>,
}

impl<'a> Builder<'a> {
    fn new(h: &'a Holdings, now: DateTime<Utc>) -> Self {
        let mut others: Vec<ThirdPartyNames> = h.third_parties.clone();
        for c in &h.consents {
            if let Some(name) = &c.proxy_name {
                others.push(ThirdPartyNames {
                    family_name: name.clone(),
                    ..ThirdPartyNames::default()
                });
            }
        }
        Builder {
            h,
            now,
            redactor: Redactor::new(&h.person, &others),
            households: h
                .memberships
                .iter()
                .map(|m| m.household_id.as_str())
                .collect(),
        }
    }

    fn text(&self, s: &str) -> String {
        self.redactor.apply(s)
    }

    fn opt_text(&self, s: &Option<String>) -> Option<String> {
        s.as_deref().map(|t| self.text(t))
    }

    fn agency(&self, id: &str) -> Option<DisclosureAgency> {
        self.h.agencies.iter().find(|a| a.id == id).map(agency_of)
    }

    fn person(&self) -> DisclosurePerson {
        let p = &self.h.person;
        DisclosurePerson {
            id: ID(p.id.clone()),
            family_name: p.family_name.clone(),
            given_name: p.given_name.clone(),
            family_name_kana: p.family_name_kana.clone(),
            given_name_kana: p.given_name_kana.clone(),
            birth_date: p.birth_date.map(Into::into),
            sex: p.sex.clone(),
            address: p.address.clone(),
            phone: p.phone.clone(),
            district: p.district.clone(),
            address_confidential: p.address_confidential,
            care_level: p.care_level.clone(),
            disability_certificate: p.disability_certificate.clone(),
            public_assistance: p.public_assistance,
            owner_agency: self.agency(&p.owner_agency_id),
            created_at: p.created_at.into(),
            updated_at: p.updated_at.into(),
        }
    }

    /// Records confirmed to be the person (a proposal or a revoked link may be someone else:
    /// not shown).
    fn linked_records(&self) -> Vec<DisclosureLinkedRecord> {
        self.h
            .linked_records
            .iter()
            .map(|l| DisclosureLinkedRecord {
                person_id: ID(l.person_id.clone()),
                owner_agency: l.owner_agency_id.as_deref().and_then(|a| self.agency(a)),
                confirmed_at: l.confirmed_at.map(Into::into),
            })
            .collect()
    }

    fn households(&self) -> Vec<DisclosureHousehold> {
        self.h
            .memberships
            .iter()
            .map(|m| {
                let others = self
                    .h
                    .co_members
                    .iter()
                    .filter(|o| o.household_id == m.household_id)
                    .map(|o| DisclosureOtherMember {
                        relationship: o.relationship.clone(),
                        is_head: o.is_head,
                        current: membership_current(o.joined_on, o.left_on, self.now),
                    })
                    .collect();
                DisclosureHousehold {
                    id: ID(m.household_id.clone()),
                    owner_agency: self.household_owner(&m.household_id),
                    relationship: m.relationship.clone(),
                    is_head: m.is_head,
                    joined_on: m.joined_on.map(Into::into),
                    left_on: m.left_on.map(Into::into),
                    current: membership_current(m.joined_on, m.left_on, self.now),
                    other_members: others,
                }
            })
            .collect()
    }

    /// A household's registering agency.
    fn household_owner(&self, household_id: &str) -> Option<DisclosureAgency> {
        self.h
            .households
            .iter()
            .find(|x| x.id == household_id)
            .and_then(|x| self.agency(&x.owner_agency_id))
    }

    fn consultations(&self) -> Vec<DisclosureConsultation> {
        let me = &self.h.person.id;
        let about = &self.h.consultations;
        let mut out: Vec<DisclosureConsultation> = about
            .consultations
            .iter()
            .map(|c| {
                let subjects: Vec<&str> = about
                    .subjects
                    .iter()
                    .filter(|s| s.consultation_id == c.id)
                    .map(|s| s.person_id.as_str())
                    .collect();
                let issues = about
                    .issues
                    .iter()
                    .flatten()
                    .filter(|i| i.row.consultation_id == c.id)
                    .map(|i| DisclosureIssue {
                        code: i.row.issue_code.clone(),
                        name: i
                            .category
                            .as_ref()
                            .map_or_else(|| i.row.issue_code.clone(), |k| k.name_ja.clone()),
                        main: i.row.is_main,
                    })
                    .collect();
                DisclosureConsultation {
                    id: ID(c.id.clone()),
                    receiving_agency: self.agency(&c.receiving_agency_id),
                    received_at: c.received_at.into(),
                    channel: c.channel.clone(),
                    urgency: c.urgency.clone(),
                    status: c.status.clone(),
                    summary: self.text(&c.summary),
                    issues,
                    other_subjects: subjects.iter().filter(|s| **s != me.as_str()).count() as i32,
                    household_id: c
                        .household_id
                        .as_deref()
                        .filter(|h| self.households.contains(h))
                        .map(|h| ID(h.to_owned())),
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (a.received_at.as_str(), &a.id.0).cmp(&(b.received_at.as_str(), &b.id.0))
        });
        out
    }

    fn referrals(&self) -> Vec<DisclosureReferral> {
        let consultations: BTreeSet<&str> = self
            .h
            .consultations
            .consultations
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        self.h
            .referrals
            .iter()
            .map(|r| DisclosureReferral {
                id: ID(r.id.clone()),
                from_agency: self.agency(&r.from_agency_id),
                to_agency: self.agency(&r.to_agency_id),
                status: r.status.clone(),
                reason: self.text(&r.reason),
                decline_reason: self.opt_text(&r.decline_reason),
                consultation_id: r
                    .consultation_id
                    .as_deref()
                    .filter(|c| consultations.contains(c))
                    .map(|c| ID(c.to_owned())),
                created_at: r.created_at.into(),
                decided_at: r.decided_at.map(Into::into),
                completed_at: r.completed_at.map(Into::into),
            })
            .collect()
    }

    fn consents(&self) -> Vec<DisclosureConsent> {
        self.h
            .consents
            .iter()
            .map(|c| {
                let (cats, recs) = self
                    .h
                    .consent_details
                    .get(&c.id)
                    .map(|(a, b)| (a.as_slice(), b.as_slice()))
                    .unwrap_or_default();
                let of_type = |t: &'static str| recs.iter().filter(move |r| r.recipient_type == t);
                let state = if c.withdrawn_at.is_some() {
                    "WITHDRAWN"
                } else if c.valid_from > self.now {
                    "NOT_YET_VALID"
                } else if c.valid_until.is_some_and(|u| u <= self.now) {
                    "EXPIRED"
                } else {
                    "ACTIVE"
                };
                DisclosureConsent {
                    id: ID(c.id.clone()),
                    given_by: c.given_by.clone(),
                    proxy_relationship: c.proxy_relationship.clone(),
                    categories: cats.iter().map(|k| k.category.clone()).collect(),
                    recipient_agencies: of_type("AGENCY")
                        .filter_map(|r| self.agency(&r.recipient_value))
                        .collect(),
                    recipient_agency_kinds: of_type("AGENCY_KIND")
                        .map(|r| r.recipient_value.clone())
                        .collect(),
                    purpose: c.purpose.clone(),
                    valid_from: c.valid_from.into(),
                    valid_until: c.valid_until.map(Into::into),
                    method: c.method.clone(),
                    evidence_ref: self.opt_text(&c.evidence_ref),
                    explanation_version: c.explanation_version.clone(),
                    recorded_agency: self.agency(&c.recorded_agency_id),
                    recorded_at: c.recorded_at.into(),
                    withdrawn_at: c.withdrawn_at.map(Into::into),
                    withdrawal_reason: self.opt_text(&c.withdrawal_reason),
                    state: state.to_owned(),
                }
            })
            .collect()
    }

    fn meetings(&self) -> Vec<DisclosureMeeting> {
        self.h
            .meetings
            .iter()
            .filter(|m| {
                let day = city_date(m.model.held_at);
                self.belonged(&m.model.household_id, day, Some(day))
            })
            .map(|m| {
                let support_meeting = m.model.kind == SUPPORT_MEETING_KIND;
                let (minutes, withheld) = match (&m.model.minutes, support_meeting) {
                    (Some(_), true) => (None, Some("支援会議の議事録は開示しません (第78条第1項第2号・第7号、社会福祉法第106条の6) / a 支援会議's minutes are withheld".to_owned())),
                    (text, _) => (self.opt_text(text), None),
                };
                DisclosureMeeting {
                    id: ID(m.model.id.clone()),
                    kind: m.model.kind.clone(),
                    household_id: ID(m.model.household_id.clone()),
                    held_at: m.model.held_at.into(),
                    convener: self.agency(&m.model.owner_agency_id),
                    participants: m.members.iter().filter_map(|a| self.agency(a)).collect(),
                    categories: m.categories.clone(),
                    period_from: m.model.period_from.map(Into::into),
                    period_until: m.model.period_until.map(Into::into),
                    minutes,
                    minutes_withheld: withheld,
                }
            })
            .collect()
    }

    fn activities(&self) -> Vec<DisclosureActivity> {
        let cases: BTreeSet<&str> = self
            .h
            .cases
            .iter()
            .filter(|c| self.belonged(&c.household_id, c.opened_on, c.closed_on))
            .map(|c| c.id.as_str())
            .collect();
        self.h
            .activities
            .iter()
            .map(|a| DisclosureActivity {
                id: ID(a.id.clone()),
                kind: a.kind.clone(),
                agency: self.agency(&a.agency_id),
                occurred_on: a.occurred_on.into(),
                result: a.result.clone(),
                stage: a.stage.clone(),
                next_planned_on: a.next_planned_on.map(Into::into),
                note: self.text(&a.note),
                case_id: a
                    .case_id
                    .as_deref()
                    .filter(|c| cases.contains(c))
                    .map(|c| ID(c.to_owned())),
            })
            .collect()
    }

    fn placements(&self) -> Vec<DisclosurePlacement> {
        self.h
            .placements
            .iter()
            .map(|p| {
                let resource = self.h.resources.iter().find(|r| r.id == p.resource_id);
                DisclosurePlacement {
                    id: ID(p.id.clone()),
                    resource_name: resource.map(|r| r.name.clone()),
                    resource_kind: resource.map(|r| r.kind.clone()),
                    agency: self.agency(&p.agency_id),
                    started_on: p.started_on.into(),
                    ended_on: p.ended_on.map(Into::into),
                    status: p.status.clone(),
                }
            })
            .collect()
    }

    fn emergency(&self) -> Vec<DisclosureEmergencyAccess> {
        self.h
            .emergency_grants
            .iter()
            .map(|g| DisclosureEmergencyAccess {
                agency: self.agency(&g.agency_id),
                reason: self.text(&g.reason),
                granted_at: g.granted_at.into(),
                expires_at: g.expires_at.into(),
                closed_at: g.closed_at.map(Into::into),
                review_note: self.opt_text(&g.review_note),
            })
            .collect()
    }

    fn summary(&self) -> Vec<DisclosureAccessSummary> {
        self.h
            .ledger_summary
            .iter()
            .map(|s| DisclosureAccessSummary {
                agency: s.agency_id.as_deref().and_then(|a| self.agency(a)),
                action: s.action.clone(),
                rows: s.rows,
                first_at: s.first_at.into(),
                last_at: s.last_at.into(),
            })
            .collect()
    }

    fn access(&self, r: &audit_event::Model) -> DisclosureAccessEntry {
        let bases: BTreeMap<String, Vec<String>> =
            serde_json::from_str(&r.bases).unwrap_or_default();
        let bases: BTreeSet<DisclosureBasis> = bases
            .values()
            .flatten()
            .map(|b| match b.split_once(':') {
                Some((kind, reference)) => DisclosureBasis {
                    kind: kind.to_owned(),
                    reference: Some(reference.to_owned()),
                },
                None => DisclosureBasis {
                    kind: b.clone(),
                    reference: None,
                },
            })
            .collect();
        let roles: Vec<String> = r
            .roles
            .split(',')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect();
        DisclosureAccessEntry {
            seq: r.seq,
            at: r.at.into(),
            action: r.action.clone(),
            operation: r.operation.clone(),
            agency: r.agency_id.as_deref().and_then(|a| self.agency(a)),
            purpose: purpose_of(r, &roles).to_owned(),
            roles,
            shown: serde_json::from_str(&r.shown).unwrap_or_default(),
            withheld: serde_json::from_str(&r.withheld).unwrap_or_default(),
            bases: bases.into_iter().collect(),
        }
    }
}

/// The purpose of a ledger row: a disclosure, oversight (admins and auditors reading the
/// ledger or consents, who see no person data), or support (every other request: the only
/// purpose requests carry, `RequestCtx::new`).
fn purpose_of(r: &audit_event::Model, roles: &[String]) -> &'static str {
    if r.operation == super::OPERATION {
        "DISCLOSURE"
    } else if !roles.is_empty() && roles.iter().all(|x| x == "admin" || x == "auditor") {
        "OVERSIGHT"
    } else {
        "SUPPORT"
    }
}

fn agency_of(a: &agency::Model) -> DisclosureAgency {
    DisclosureAgency {
        id: ID(a.id.clone()),
        code: a.code.clone(),
        name: a.name.clone(),
        kind: a.kind.clone(),
    }
}
