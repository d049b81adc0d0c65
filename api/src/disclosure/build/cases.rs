//! A household's cases as the person's report holds them: only the cases of the person's
//! time in the household, and within a case only the decisions and plans made, and the
//! involvements that ran, while the person belonged (the rest is the other members' record).

use async_graphql::ID;
use chrono::NaiveDate;
use entity::household_member;

use super::{Builder, MASK_STAFF};
use crate::disclosure::report::*;
use crate::policy::city_date;

impl Builder<'_> {
    /// The person's memberships of a household.
    fn spans(&self, household_id: &str) -> impl Iterator<Item = &household_member::Model> {
        let id = household_id.to_owned();
        self.h
            .memberships
            .iter()
            .filter(move |m| m.household_id == id)
    }

    /// Whether the person belonged to the household at some day of `from..=until`.
    pub(super) fn belonged(
        &self,
        household_id: &str,
        from: NaiveDate,
        until: Option<NaiveDate>,
    ) -> bool {
        self.spans(household_id).any(|m| {
            let joined_before_end = match (m.joined_on, until) {
                (Some(j), Some(u)) => j <= u,
                _ => true,
            };
            let left_after_start = m.left_on.is_none_or(|l| from < l);
            joined_before_end && left_after_start
        })
    }

    /// Whether the person belonged to the household on `day`.
    fn member_on(&self, household_id: &str, day: NaiveDate) -> bool {
        self.belonged(household_id, day, Some(day))
    }

    /// Whether other persons belonged to the household at some day of `from..=until`.
    fn shared(&self, household_id: &str, from: NaiveDate, until: Option<NaiveDate>) -> bool {
        self.h.co_members.iter().any(|m| {
            m.household_id == household_id
                && until.is_none_or(|u| m.joined_on.is_none_or(|j| j <= u))
                && m.left_on.is_none_or(|l| from < l)
        })
    }

    pub(super) fn cases(&self) -> Vec<DisclosureCase> {
        let h = self.h;
        h.cases
            .iter()
            .filter(|c| self.belonged(&c.household_id, c.opened_on, c.closed_on))
            .map(|c| DisclosureCase {
                id: ID(c.id.clone()),
                household_id: ID(c.household_id.clone()),
                owner_agency: self.agency(&c.owner_agency_id),
                status: c.status.clone(),
                opened_on: c.opened_on.into(),
                closed_on: c.closed_on.map(Into::into),
                decisions: h
                    .decisions
                    .iter()
                    .filter(|d| d.case_id == c.id)
                    .filter(|d| self.member_on(&c.household_id, d.decided_on))
                    .map(|d| DisclosureDecision {
                        kind: d.kind.clone(),
                        decided_on: d.decided_on.into(),
                        decider: MASK_STAFF.to_owned(),
                        basis: self.opt_text(&d.basis),
                        reason: self.opt_text(&d.reason),
                        note: self.opt_text(&d.note),
                    })
                    .collect(),
                involvements: h
                    .involvements
                    .iter()
                    .filter(|i| i.case_id == c.id)
                    .filter(|i| self.belonged(&c.household_id, i.started_on, i.ended_on))
                    .map(|i| DisclosureInvolvement {
                        agency: self.agency(&i.agency_id),
                        role: i.role.clone(),
                        started_on: i.started_on.into(),
                        ended_on: i.ended_on.map(Into::into),
                    })
                    .collect(),
                plans: h
                    .plans
                    .iter()
                    .filter(|p| p.case_id == c.id)
                    .filter(|p| self.member_on(&c.household_id, city_date(p.created_at)))
                    .map(|p| DisclosurePlan {
                        plan_version: p.plan_version,
                        wishes: self.text(&p.wishes),
                        long_term_goal: self.text(&p.long_term_goal),
                        short_term_goals: self.text(&p.short_term_goals),
                        next_review_on: p.next_review_on.map(Into::into),
                        agreed_on: p.agreed_on.map(Into::into),
                        agreement_method: p.agreement_method.clone(),
                        assignments: h
                            .assignments
                            .iter()
                            .filter(|a| a.plan_id == p.id)
                            .map(|a| DisclosureAssignment {
                                agency: self.agency(&a.agency_id),
                                role: a.role.clone(),
                                task: self.text(&a.task),
                                contact_frequency: a.contact_frequency.clone(),
                                due_on: a.due_on.map(Into::into),
                            })
                            .collect(),
                    })
                    .collect(),
                shared_with_others: self.shared(&c.household_id, c.opened_on, c.closed_on),
            })
            .collect()
    }
}
