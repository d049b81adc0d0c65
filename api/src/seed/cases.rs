//! 支援ケース / cases (one per household at most, owned by 多機関協働) with a plan and a
//! 支援会議 whose members are the household's agency, a second agency and the owner.

use std::time::Instant;

use chrono::Duration;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::people::House;
use super::{id, Actor, Op, Pending, Run, Table};
use crate::graphql::case::CaseStatus;
use crate::graphql::plan::{AgreementMethod, PlanTexts};
use crate::store;
use entity::{meeting, meeting_category, meeting_member, support_case, support_plan};

const OPEN_CASE: Op = Op::new("openCase", "support_case");
const CREATE_PLAN: Op = Op::new("createPlan", "support_plan");
const CREATE_MEETING: Op = Op::new("createMeeting", "meeting");

/// Cases for an evenly spread selection of `households`, each with its plan and 支援会議.
pub(super) async fn cases(run: &mut Run<'_>, households: &[House]) -> anyhow::Result<()> {
    let (rng, out, city, scale, today) = run.parts();
    let t = Instant::now();
    let takikan: Vec<usize> = (0..city.agencies.len())
        .filter(|&i| city.agencies[i].kind == "MULTI_AGENCY")
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
    let mut cases = Table::<support_case::Entity>::new("support_case");
    let mut plans = Table::<support_plan::Entity>::new("support_plan");
    let mut meetings = Table::<meeting::Entity>::new("meeting");
    let mut members = Table::<meeting_member::Entity>::new("meeting_member");
    let mut categories = Table::<meeting_category::Entity>::new("meeting_category");
    let step = (households.len() / scale.cases.max(1)).max(1);
    for h in households.iter().step_by(step).take(scale.cases) {
        let owner = &city.agencies[takikan[rng.random_range(0..takikan.len())]];
        let lead = owner.staff.choose(rng).cloned().unwrap_or_default();
        let actor = Actor::new(&lead, &owner.id, "coordinator");
        let opened = today - Duration::days(rng.random_range(30..1800));
        let closed = rng.random_bool(0.3);
        let case_id = id(rng);
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
        out.ledger
            .write(rng, actor, OPEN_CASE, &case_id, None, opened);
        let plan_id = id(rng);
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
        out.ledger
            .write(rng, actor, CREATE_PLAN, &plan_id, None, opened);
        let meeting_id = id(rng);
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
        out.ledger
            .write(rng, actor, CREATE_MEETING, &meeting_id, None, held);
        let mut member_ids = vec![owner.id.clone(), city.agencies[h.agency].id.clone()];
        let other = city.agencies[city.pick(rng)].id.clone();
        if !member_ids.contains(&other) {
            member_ids.push(other);
        }
        member_ids.dedup();
        for agency_id in member_ids {
            members.push(meeting_member::Model {
                meeting_id: meeting_id.clone(),
                agency_id,
            });
        }
        for cat in ["IDENTITY", "CONTACT", "HOUSEHOLD", "PLAN"] {
            categories.push(meeting_category::Model {
                meeting_id: meeting_id.clone(),
                category: cat.to_owned(),
            });
        }
    }
    let mut tables: [&mut dyn Pending; 5] = [
        &mut cases,
        &mut plans,
        &mut meetings,
        &mut members,
        &mut categories,
    ];
    for table in &mut tables {
        table.flush(out.txn).await?;
    }
    for table in &tables {
        table.report(t);
    }
    Ok(())
}
