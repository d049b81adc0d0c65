//! The rows a request reads, each read once and in batches: persons with their policy
//! facts, agencies, the issue-category table, households, memberships, consultations, cases
//! and their parts. One mechanism, [`Keyed`]: a list loads what its items need for the whole
//! page in one query rather than one query per item. Only rows: what is shown is still
//! decided per field, by the gate ([`super::gate`]).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::Context;

use super::context::{db, req};
use crate::error::ApiResult;
use crate::policy::SubjectFacts;
use crate::store;
use entity::person;

pub use super::keyed::{group, Keyed, Wants};

/// The [`Keyed`] rows of a request.
#[derive(Default)]
pub struct Rows {
    /// Person id → the person with its policy facts (None: no such person).
    pub persons: Keyed<Option<Loaded>>,
    /// Agency id → the agency (None: no such agency). Public registry data.
    pub agencies: Keyed<Option<entity::agency::Model>>,
    /// The issue-category table, under the key [`ALL`].
    pub issue_categories: Keyed<Arc<Vec<entity::issue_category::Model>>>,
    /// Household id → the household with its members, current and past, head first (None:
    /// no such household), read together.
    pub households: Keyed<Option<Arc<HouseholdRows>>>,
    /// Person id → the person's memberships.
    pub memberships: Keyed<Vec<entity::household_member::Model>>,
    /// Case id → the case (None: no such case).
    pub cases: Keyed<Option<entity::support_case::Model>>,
    /// Case id → its decisions, in the order recorded.
    pub decisions: Keyed<Vec<entity::case_decision::Model>>,
    /// Case id → its involvements.
    pub involvements: Keyed<Vec<entity::case_involvement::Model>>,
    /// Case id → its plan versions, newest first.
    pub plans: Keyed<Vec<entity::support_plan::Model>>,
    /// Plan id → its assignments, in order.
    pub assignments: Keyed<Vec<entity::plan_assignment::Model>>,
    /// Meeting id → the case decisions taken at it, oldest first.
    pub meeting_decisions: Keyed<Vec<entity::case_decision::Model>>,
    /// Person id → ids of the consultations about them.
    pub consultations_about: Keyed<Vec<String>>,
    /// Consultation id → the consultation (None: no such consultation).
    pub consultations: Keyed<Option<entity::consultation::Model>>,
    /// Consultation id → its subjects' person ids, in person id order.
    pub consultation_subjects: Keyed<Vec<String>>,
    /// Consultation id → its issues, the main one first. Each consultation's are read once,
    /// so one reached twice in a request (a list, then through a household) does not list
    /// its issues twice.
    pub consultation_issues: Keyed<Vec<store::consultations::Issue>>,
    /// Record id → the caller's agency's external references to it, in system order
    /// (`external_ref::refs_of`; the principal is the request's, so the agency is fixed). A
    /// reference is only ever stored with a record its write creates, so no write of the
    /// request makes a record read here stale.
    pub external_refs: Keyed<Vec<entity::external_ref::Model>>,
}

/// A household row with its members (current and past, head first).
pub struct HouseholdRows {
    pub model: entity::household::Model,
    pub members: Vec<entity::household_member::Model>,
}

/// A person row with its policy facts, shared within one request.
#[derive(Clone)]
pub struct Loaded {
    pub model: Arc<person::Model>,
    pub facts: Arc<SubjectFacts>,
    /// Every consent record of the person, read with the facts (oldest recorded first). Raw
    /// rows: who may see which of them is decided in `consent::of_person`, nowhere else.
    pub consents: Arc<Vec<store::facts::ConsentRecord>>,
}

/// The one key of a table read whole.
const ALL: &str = "";

/// An agency by id, read once per request.
pub async fn agency(ctx: &Context<'_>, id: &str) -> ApiResult<Option<entity::agency::Model>> {
    Ok(load_agency_map(ctx, &[id.to_owned()])
        .await?
        .remove(id)
        .flatten())
}

/// Agencies by id into the request's cache, in one query for those not yet there (before
/// the resolvers of a list ask for them one by one).
pub async fn load_agencies(ctx: &Context<'_>, ids: &[String]) -> ApiResult<()> {
    load_agency_map(ctx, ids).await.map(|_| ())
}

async fn load_agency_map(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Option<entity::agency::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .agencies
        .get(ids, |ids| async move {
            Ok(store::registry::agencies_by_ids(db, ids)
                .await?
                .into_iter()
                .map(|a| (a.id.clone(), Some(a)))
                .collect())
        })
        .await
}

/// The issue-category table, read once per request.
pub async fn issue_categories(
    ctx: &Context<'_>,
) -> ApiResult<Arc<Vec<entity::issue_category::Model>>> {
    let db = db(ctx)?;
    let mut all = req(ctx)?
        .rows
        .issue_categories
        .get(&[ALL.to_owned()], |_| async move {
            let table = store::consultations::issue_categories(db).await?;
            Ok(HashMap::from([(ALL.to_owned(), Arc::new(table))]))
        })
        .await?;
    Ok(all.remove(ALL).unwrap_or_default())
}

/// Load persons (and their facts) by id, in one statement for those not yet read. Returns every
/// person found, visible or not, in the order asked: callers decide visibility.
pub async fn load_persons(ctx: &Context<'_>, ids: &[String]) -> ApiResult<Vec<Loaded>> {
    let db = db(ctx)?;
    let mut found = req(ctx)?
        .rows
        .persons
        .get(ids, |missing| async move {
            Ok(store::facts::persons_with_facts(db, &missing)
                .await?
                .into_iter()
                .map(|(m, f)| {
                    (
                        m.id.clone(),
                        Some(Loaded {
                            model: Arc::new(m),
                            facts: Arc::new(f.facts),
                            consents: Arc::new(f.consents),
                        }),
                    )
                })
                .collect())
        })
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(id).flatten())
        .collect())
}

/// Persons offered by a list, `candidates` as the list read them — on the read replica when
/// one is set ([`super::context::replica_db`]). Their content (names, contact fields) is
/// kept, but the columns the decision rests on (registering agency, `address_confidential`)
/// and every policy fact are read on the primary, and the model carries the primary's values
/// of those columns: nothing the gate decides on is the replica's. A candidate the primary
/// does not have is dropped; a person this request already read keeps what was read first.
/// In the order given; visible or not (callers decide).
pub async fn load_listed_persons(
    ctx: &Context<'_>,
    candidates: Vec<person::Model>,
) -> ApiResult<Vec<Loaded>> {
    let db = db(ctx)?;
    let ids: Vec<String> = candidates.iter().map(|m| m.id.clone()).collect();
    let mut content: HashMap<String, person::Model> =
        candidates.into_iter().map(|m| (m.id.clone(), m)).collect();
    let mut found = req(ctx)?
        .rows
        .persons
        .get(&ids, |missing| async move {
            let mut facts = store::facts::for_person_ids(db, missing.clone()).await?;
            Ok(missing
                .into_iter()
                .filter_map(|id| {
                    let f = facts.remove(&id)?;
                    let mut model = content.remove(&id)?;
                    // The primary's, whatever the replica's copy says.
                    model.owner_agency_id.clone_from(&f.facts.owner_agency_id);
                    model.address_confidential = f.facts.address_confidential;
                    let loaded = Loaded {
                        model: Arc::new(model),
                        facts: Arc::new(f.facts),
                        consents: Arc::new(f.consents),
                    };
                    Some((id, Some(loaded)))
                })
                .collect())
        })
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.remove(id).flatten())
        .collect())
}

/// Forget a cached person (after a write in this request changed them).
pub fn forget_person(ctx: &Context<'_>, id: &str) -> ApiResult<()> {
    req(ctx)?.rows.persons.forget_key(id)
}

/// Facts for the persons the caller may know exist, keyed by id.
pub async fn known_facts(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Arc<SubjectFacts>>> {
    let r = req(ctx)?;
    Ok(load_persons(ctx, ids)
        .await?
        .into_iter()
        .filter(|l| r.knows_person(&l.facts))
        .map(|l| (l.model.id.clone(), l.facts))
        .collect())
}

/// Facts for the current members of a household: the subjects of records about the household
/// as a whole (support cases, plans, meetings). Use with [`reveal_all`] so a field is shown
/// only if allowed for every member.
pub async fn household_subjects(
    ctx: &Context<'_>,
    household_id: &str,
) -> ApiResult<Vec<Arc<SubjectFacts>>> {
    let r = req(ctx)?;
    let members: Vec<_> = members_of(ctx, &[household_id.to_owned()])
        .await?
        .into_values()
        .flatten()
        .collect();
    // Every member is loaded (past ones too, as the household's members list does), so the
    // request reads them in one statement whichever resolver comes first.
    let all: Vec<String> = members.iter().map(|m| m.person_id.clone()).collect();
    load_persons(ctx, &all).await?;
    let ids: Vec<String> = members
        .into_iter()
        .filter(|m| r.current(m))
        .map(|m| m.person_id)
        .collect();
    Ok(load_persons(ctx, &ids)
        .await?
        .into_iter()
        .map(|l| l.facts)
        .collect())
}

/// Members (current and past, head first) of these households, keyed by household (none for
/// a household that does not exist); read with the households ([`households`]).
pub async fn members_of(
    ctx: &Context<'_>,
    household_ids: &[String],
) -> ApiResult<HashMap<String, Vec<entity::household_member::Model>>> {
    Ok(household_rows(ctx, household_ids)
        .await?
        .into_iter()
        .map(|(id, h)| (id, h.map(|h| h.members.clone()).unwrap_or_default()))
        .collect())
}

/// Memberships of these persons, keyed by person; one query for those not read yet.
pub async fn memberships_of(
    ctx: &Context<'_>,
    person_ids: &[String],
) -> ApiResult<HashMap<String, Vec<entity::household_member::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .memberships
        .get(person_ids, |ids| async move {
            let rows = store::households::memberships_of(db, ids).await?;
            Ok(group(rows, |m| &m.person_id))
        })
        .await
}

/// Household rows by id (None: no such household); read with their members, in one
/// statement for those not read yet.
pub async fn households(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Option<entity::household::Model>>> {
    Ok(household_rows(ctx, ids)
        .await?
        .into_iter()
        .map(|(id, h)| (id, h.map(|h| h.model.clone())))
        .collect())
}

/// Households with their members by id; one statement for those not read yet.
async fn household_rows(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Option<Arc<HouseholdRows>>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .households
        .get(ids, |ids| async move {
            Ok(store::households::with_members(db, &ids)
                .await?
                .into_iter()
                .map(|(model, members)| {
                    (
                        model.id.clone(),
                        Some(Arc::new(HouseholdRows { model, members })),
                    )
                })
                .collect())
        })
        .await
}

/// The values of `keys` in the request's `rows` chosen by `of`, after loading those not read
/// yet with one call of `load`.
async fn read<'a, V, Fut>(
    ctx: &'a Context<'_>,
    of: impl FnOnce(&'a Rows) -> &'a Keyed<V>,
    keys: &[String],
    load: impl FnOnce(&'a crate::store::Db, Vec<String>) -> Fut,
) -> ApiResult<HashMap<String, V>>
where
    V: Clone + Default + 'a,
    Fut: std::future::Future<Output = ApiResult<HashMap<String, V>>>,
{
    let db = db(ctx)?;
    of(&req(ctx)?.rows)
        .get(keys, |missing| load(db, missing))
        .await
}

/// Group (key, value) pairs by key, keeping their order.
fn group_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        out.entry(k).or_default().push(v);
    }
    out
}

/// Ids of the consultations about these persons, keyed by person; one query for those not
/// read yet.
pub async fn consultations_about(
    ctx: &Context<'_>,
    person_ids: &[String],
) -> ApiResult<HashMap<String, Vec<String>>> {
    read(
        ctx,
        |r| &r.consultations_about,
        person_ids,
        |db, ids| async move {
            let rows = store::consultations::about_persons(db, ids).await?;
            Ok(group_pairs(
                rows.into_iter().map(|s| (s.person_id, s.consultation_id)),
            ))
        },
    )
    .await
}

/// Consultation rows by id (None: no such consultation); one query for those not read yet.
pub async fn consultations(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Option<entity::consultation::Model>>> {
    read(
        ctx,
        |r| &r.consultations,
        ids,
        |db, ids| async move {
            let rows = store::consultations::by_ids(db, ids).await?;
            Ok(rows.into_iter().map(|c| (c.id.clone(), Some(c))).collect())
        },
    )
    .await
}

/// The subjects (person ids, in id order) of these consultations, keyed by consultation;
/// one query for those not read yet.
pub async fn consultation_subjects(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Vec<String>>> {
    read(
        ctx,
        |r| &r.consultation_subjects,
        ids,
        |db, ids| async move {
            let rows = store::consultations::subjects_of(db, ids).await?;
            Ok(group_pairs(
                rows.into_iter().map(|s| (s.consultation_id, s.person_id)),
            ))
        },
    )
    .await
}

/// The issues (main first, with their categories) of these consultations, keyed by
/// consultation; one statement for those not read yet.
pub async fn consultation_issues(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Vec<store::consultations::Issue>>> {
    read(
        ctx,
        |r| &r.consultation_issues,
        ids,
        |db, ids| async move {
            let rows = store::consultations::issues_of(db, ids).await?;
            Ok(group(rows, |i| &i.row.consultation_id))
        },
    )
    .await
}

/// The consultations about these persons (not read yet for them), with all their subjects,
/// their issues if `with_issues`, their receiving agencies and the agencies `also` names,
/// into the request's rows: one statement ([`store::consultations::about`]).
pub async fn load_about(
    ctx: &Context<'_>,
    person_ids: &[String],
    with_issues: bool,
    also: &[String],
) -> ApiResult<()> {
    let rows = &req(ctx)?.rows;
    let persons = rows.consultations_about.missing(person_ids)?;
    let also = rows.agencies.missing(also)?;
    if persons.is_empty() {
        if with_issues {
            let ids: Vec<String> = consultations_about(ctx, person_ids)
                .await?
                .into_values()
                .flatten()
                .collect();
            consultation_issues(ctx, &ids).await?;
        }
        return load_agencies(ctx, &also).await;
    }
    let found = store::consultations::about(db(ctx)?, &persons, with_issues, &also).await?;
    let ids: Vec<String> = found.consultations.iter().map(|c| c.id.clone()).collect();
    let mut agencies: Vec<String> = also;
    agencies.extend(found.agencies.iter().map(|a| a.id.clone()));
    agencies.extend(
        found
            .consultations
            .iter()
            .map(|c| c.receiving_agency_id.clone()),
    );
    rows.agencies.seed(
        &agencies,
        found
            .agencies
            .into_iter()
            .map(|a| (a.id.clone(), Some(a)))
            .collect(),
    )?;
    rows.consultations_about.seed(
        &persons,
        group_pairs(
            found
                .subjects
                .iter()
                .filter(|s| persons.binary_search(&s.person_id).is_ok())
                .map(|s| (s.person_id.clone(), s.consultation_id.clone())),
        ),
    )?;
    rows.consultation_subjects.seed(
        &ids,
        group_pairs(
            found
                .subjects
                .into_iter()
                .map(|s| (s.consultation_id, s.person_id)),
        ),
    )?;
    if let Some(issues) = found.issues {
        rows.consultation_issues
            .seed(&ids, group(issues, |i| &i.row.consultation_id))?;
    }
    rows.consultations.seed(
        &ids,
        found
            .consultations
            .into_iter()
            .map(|c| (c.id.clone(), Some(c)))
            .collect(),
    )?;
    Ok(())
}

/// Forget the consultations read in this request (after a write changed some of them).
pub fn forget_consultations(ctx: &Context<'_>) -> ApiResult<()> {
    let rows = &req(ctx)?.rows;
    rows.consultations_about.forget()?;
    rows.consultations.forget()?;
    rows.consultation_subjects.forget()?;
    rows.consultation_issues.forget()
}

/// Forget the rows read ahead in this request (after a write changed some of them), so that
/// what the write returns, and any later mutation in the request, reads them afresh.
pub fn forget_rows(ctx: &Context<'_>) -> ApiResult<()> {
    let rows = &req(ctx)?.rows;
    rows.households.forget()?;
    rows.memberships.forget()?;
    rows.cases.forget()?;
    rows.decisions.forget()?;
    rows.involvements.forget()?;
    rows.plans.forget()?;
    rows.assignments.forget()?;
    rows.meeting_decisions.forget()
}
