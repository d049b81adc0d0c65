//! Ledger WRITE rows as change events for one caller, decided on the facts of now.
//!
//! [`runs`] reads what the rules need for a batch of rows — persons with their facts and
//! consent records, households with their members, consultations with their subjects, the
//! parties of referrals, the recording agency of activities — through the request's loaders
//! (on the primary), and groups the rows into runs: consecutive rows of one write about one
//! record (a consultation's WRITE row per subject, a household's row and its members' rows
//! from `createHousehold`) are one event. [`judge`] then applies, per run, the rule that
//! decides whether the caller may know the record by id (docs/design.md §3.4) and
//! `RequestCtx::decide` per changed category and subject; what it decides for a returned
//! event is ledgered with the request's other reads.

use std::collections::{BTreeSet, HashMap};

use async_graphql::{Context, ID};
use chrono::{DateTime, Utc};

use super::{cursor_of, ChangeEvent};
use crate::error::ApiResult;
use crate::graphql::context::{db, req};
use crate::graphql::loaders::{
    consultation_subjects, consultations, households, load_persons, members_of, memberships_of,
    Loaded,
};
use crate::policy::changes::{self as rules, ChangeType, Changed, Holder};
use crate::policy::write::consultation::knows_consultation;
use crate::policy::write::household::knows_household;
use crate::policy::{self, Category, Item, Recipient, SubjectFacts};
use crate::store::{self, changes::WriteRow};
use entity::{consultation, household, household_member};

const HOUSEHOLD: Item = Item::of(Category::Household);
const NARRATIVE: Item = Item::of(Category::Narrative);

/// One WRITE row, its names read from its detail.
pub(super) struct Row {
    seq: i64,
    at: DateTime<Utc>,
    agency: Option<String>,
    operation: String,
    record_type: String,
    kind: Option<ChangeType>,
    record_id: Option<String>,
    subject: Option<String>,
    fields: Vec<String>,
    categories: Vec<String>,
    created: Option<bool>,
    /// The record the event is about: the row's record, a membership's household; None when
    /// it cannot be told (such a row is examined and never shown).
    target: Option<String>,
}

impl Row {
    fn of(w: WriteRow) -> Row {
        let detail: serde_json::Value = serde_json::from_str(&w.detail).unwrap_or_default();
        let names = |key: &str| -> Vec<String> {
            detail[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        Row {
            seq: w.seq,
            at: w.at,
            kind: ChangeType::of_record_type(&w.record_type),
            fields: names("fields"),
            categories: names("categories"),
            created: detail["created"].as_bool(),
            target: None,
            agency: w.agency_id,
            operation: w.operation,
            record_type: w.record_type,
            record_id: w.record_id,
            subject: w.subject_person_id,
        }
    }

    fn is_membership(&self) -> bool {
        self.record_type == "household_member"
    }
}

/// Consecutive rows of one write about one record: one event.
pub(super) struct Run(Vec<Row>);

impl Run {
    pub(super) fn last_seq(&self) -> i64 {
        self.0.last().map_or(0, |r| r.seq)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether `row` belongs to this run: the same write (time, operation) about the same
    /// record. A row whose record cannot be told is a run of its own.
    fn takes(&self, row: &Row) -> bool {
        self.0.last().is_some_and(|last| {
            row.target.is_some()
                && (last.at, &last.operation, last.kind, &last.target)
                    == (row.at, &row.operation, row.kind, &row.target)
        })
    }
}

/// What the rules need about the records of a batch.
#[derive(Default)]
pub(super) struct Facts {
    persons: HashMap<String, Loaded>,
    households: HashMap<String, household::Model>,
    members: HashMap<String, Vec<household_member::Model>>,
    consultations: HashMap<String, consultation::Model>,
    subjects: HashMap<String, Vec<String>>,
    /// Referral id → (sender, receiver, person).
    referrals: HashMap<String, (String, String, String)>,
    /// Activity id → (recording agency, person).
    activities: HashMap<String, (String, String)>,
}

impl Facts {
    fn person(&self, id: &str) -> Option<&SubjectFacts> {
        self.persons.get(id).map(|l| &*l.facts)
    }
}

/// The ids of the rows of `kind`.
fn targets(rows: &[Row], kind: ChangeType) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .filter(|r| r.kind == Some(kind))
        .filter_map(|r| r.target.clone())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A batch of WRITE rows as runs, with the facts to judge them.
pub(super) async fn runs(ctx: &Context<'_>, rows: Vec<WriteRow>) -> ApiResult<(Vec<Run>, Facts)> {
    let mut rows: Vec<Row> = rows.into_iter().map(Row::of).collect();
    // A membership row is about its household: found through the member's memberships.
    let members: Vec<String> = rows
        .iter()
        .filter(|r| r.is_membership())
        .filter_map(|r| r.subject.clone())
        .collect();
    let memberships = memberships_of(ctx, &members).await?;
    for r in &mut rows {
        r.target = if r.is_membership() {
            let of_person = r.subject.as_ref().and_then(|s| memberships.get(s));
            of_person
                .into_iter()
                .flatten()
                .find(|m| Some(&m.id) == r.record_id.as_ref())
                .map(|m| m.household_id.clone())
        } else {
            r.record_id.clone()
        };
    }
    let mut facts = Facts::default();
    let mut persons: Vec<String> = rows.iter().filter_map(|r| r.subject.clone()).collect();
    persons.extend(targets(&rows, ChangeType::Person));

    let ids = targets(&rows, ChangeType::Household);
    for (id, h) in households(ctx, &ids).await? {
        if let Some(h) = h {
            facts.households.insert(id, h);
        }
    }
    facts.members = members_of(ctx, &ids).await?;
    persons.extend(
        facts
            .members
            .values()
            .flatten()
            .map(|m| m.person_id.clone()),
    );

    let ids = targets(&rows, ChangeType::Consultation);
    for (id, c) in consultations(ctx, &ids).await? {
        if let Some(c) = c {
            facts.consultations.insert(id, c);
        }
    }
    facts.subjects = consultation_subjects(ctx, &ids).await?;
    persons.extend(facts.subjects.values().flatten().cloned());

    let ids = targets(&rows, ChangeType::Referral);
    for (id, from, to, person) in store::changes::referral_parties(db(ctx)?, ids).await? {
        persons.push(person.clone());
        facts.referrals.insert(id, (from, to, person));
    }
    let ids = targets(&rows, ChangeType::Activity);
    for (id, agency, person) in store::changes::activity_holders(db(ctx)?, ids).await? {
        persons.push(person.clone());
        facts.activities.insert(id, (agency, person));
    }

    persons.sort();
    persons.dedup();
    facts.persons = load_persons(ctx, &persons)
        .await?
        .into_iter()
        .map(|l| (l.model.id.clone(), l))
        .collect();

    let mut runs: Vec<Run> = Vec::new();
    for row in rows {
        match runs.last_mut() {
            Some(run) if run.takes(&row) => run.0.push(row),
            _ => runs.push(Run(vec![row])),
        }
    }
    Ok((runs, facts))
}

/// Whom and what an event's categories are decided about.
struct Decided<'a> {
    /// The subjects whose categories the event names.
    subjects: Vec<&'a SubjectFacts>,
    /// The holder of the record (the OWN basis), and a referral's sender and receiver.
    holder: &'a str,
    sender: &'a str,
    receiver: &'a str,
    /// Agencies the record shows to whoever may know it.
    shown: Vec<&'a str>,
}

/// The event of `run` for the caller, or None when it may not know the record now.
pub(super) fn judge(ctx: &Context<'_>, facts: &Facts, run: &Run) -> ApiResult<Option<ChangeEvent>> {
    let r = req(ctx)?;
    let p = &r.principal;
    let Some(first) = run.0.first() else {
        return Ok(None);
    };
    let (Some(kind), Some(target)) = (first.kind, first.target.as_deref()) else {
        return Ok(None);
    };
    // The subjects the run's rows name (those the hub still has).
    let named: Vec<&SubjectFacts> = run
        .0
        .iter()
        .filter_map(|x| x.subject.as_deref().and_then(|s| facts.person(s)))
        .collect();
    let d = match kind {
        ChangeType::Person => {
            let Some(f) = facts.person(target).filter(|f| r.knows_person(f)) else {
                return Ok(None);
            };
            Decided::of(vec![f], &f.owner_agency_id, vec![])
        }
        ChangeType::Household => {
            let Some(h) = facts.households.get(target) else {
                return Ok(None);
            };
            let owner = &h.owner_agency_id;
            let memberships = facts.members.get(target).into_iter().flatten();
            let members = memberships
                .clone()
                .filter_map(|m| facts.person(&m.person_id));
            if !knows_household(p, owner, members, r.purpose, r.now) {
                return Ok(None);
            }
            // A membership's change alone shows only where the membership does (as in
            // `Household.members`): the member's HOUSEHOLD, held by the household's agency.
            let of_members: Vec<&SubjectFacts> = run
                .0
                .iter()
                .filter(|x| x.is_membership())
                .filter_map(|x| x.subject.as_deref().and_then(|s| facts.person(s)))
                .collect();
            let whole = run.0.iter().any(|x| !x.is_membership());
            if !whole
                && !of_members
                    .iter()
                    .any(|s| r.decide(s, owner, HOUSEHOLD).is_ok())
            {
                return Ok(None);
            }
            // What is about the household as a whole is about its current members (as a
            // household's case or minutes are: `loaders::household_subjects`).
            let current = memberships
                .filter(|m| r.current(m))
                .filter_map(|m| facts.person(&m.person_id))
                .collect();
            Decided::of(current, owner, vec![])
        }
        ChangeType::Consultation => {
            let Some(c) = facts.consultations.get(target) else {
                return Ok(None);
            };
            let all = facts.subjects.get(target).into_iter().flatten();
            let all = all.filter_map(|s| facts.person(s));
            if !knows_consultation(p, &c.receiving_agency_id, all, r.purpose, r.now) {
                return Ok(None);
            }
            let holder = &c.receiving_agency_id;
            Decided::of(named, holder, vec![holder])
        }
        ChangeType::Referral => {
            let Some((from, to, person)) = facts.referrals.get(target) else {
                return Ok(None);
            };
            if !policy::is_party(p, [from.as_str(), to.as_str()]) {
                return Ok(None);
            }
            let subjects = facts.person(person).into_iter().collect();
            Decided {
                sender: from,
                receiver: to,
                ..Decided::of(subjects, from, vec![from, to])
            }
        }
        ChangeType::Consent => {
            // As `consents(personId:)`: the person known, or (overseers) existing.
            let oversees = policy::may(p, policy::Action::Oversee);
            let loaded = first.subject.as_deref().and_then(|s| facts.persons.get(s));
            let Some(l) = loaded.filter(|l| oversees || r.knows_person(&l.facts)) else {
                return Ok(None);
            };
            let Some(c) = l.consents.iter().find(|c| c.model.id == target) else {
                return Ok(None);
            };
            let names = policy::consent_names(
                c.recipients
                    .iter()
                    .filter_map(|x| Recipient::parse(&x.recipient_type, &x.recipient_value)),
                &p.agency_id,
                p.agency_kind,
            );
            let owner = &l.facts.owner_agency_id;
            let recorder = &c.model.recorded_agency_id;
            if !policy::may_know_consent(p, owner, names, recorder) {
                return Ok(None);
            }
            Decided::of(vec![&l.facts], owner, vec![recorder])
        }
        ChangeType::Activity => {
            let Some((agency, person)) = facts.activities.get(target) else {
                return Ok(None);
            };
            let Some(f) = facts.person(person).filter(|f| r.knows_person(f)) else {
                return Ok(None);
            };
            if r.decide(f, agency, NARRATIVE).is_err() {
                return Ok(None);
            }
            Decided::of(vec![f], agency, vec![agency])
        }
    };
    let record_kind = kind.record_kind();
    // The changed categories it may see now, each decision ledgered.
    let mut items: Vec<Changed> = Vec::new();
    for x in &run.0 {
        let fields = x.fields.iter().map(String::as_str);
        let categories = x.categories.iter().map(String::as_str);
        for c in rules::changed_items(&x.record_type, fields, categories) {
            if !items.contains(&c) {
                items.push(c);
            }
        }
    }
    let mut shown: BTreeSet<Category> = BTreeSet::new();
    for c in items {
        let holder = match c.holder {
            Holder::Record => d.holder,
            Holder::Sender => d.sender,
            Holder::Receiver => d.receiver,
        };
        for s in &d.subjects {
            let decision = r.decide(s, holder, c.item);
            r.recorder.record(
                &s.person_id,
                record_kind,
                target,
                c.item.category,
                &decision,
            );
            if decision.is_ok() {
                shown.insert(c.item.category);
            }
        }
    }
    // The writing agency: shown where the record shows it, else as NARRATIVE of every
    // subject (a shared record's field needs them all, as `gate::reveal_all`).
    let agency = first.agency.as_deref().filter(|w| {
        rules::writer_shown(p, w, d.shown.iter().copied())
            || (!d.subjects.is_empty()
                && d.subjects.iter().all(|s| {
                    let decision = r.decide(s, w, NARRATIVE);
                    r.recorder.record(
                        &s.person_id,
                        record_kind,
                        target,
                        Category::Narrative,
                        &decision,
                    );
                    decision.is_ok()
                }))
    });
    Ok(Some(ChangeEvent {
        cursor: cursor_of(run.last_seq()),
        record_type: kind.into(),
        record_id: ID(target.to_owned()),
        operation: rules::change_operation(&first.operation, first.created).into(),
        categories: shown.into_iter().map(Into::into).collect(),
        agency_id: agency.map(|a| ID(a.to_owned())),
        committed_at: first.at.into(),
    }))
}

impl<'a> Decided<'a> {
    fn of(subjects: Vec<&'a SubjectFacts>, holder: &'a str, shown: Vec<&'a str>) -> Self {
        Decided {
            subjects,
            holder,
            sender: holder,
            receiver: holder,
            shown,
        }
    }
}
