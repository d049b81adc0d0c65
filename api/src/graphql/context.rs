//! What every resolver gets: the request's principal and clock, the ledger recorder, a
//! per-request cache of persons and their policy facts, and the one gate through which
//! personal fields are revealed ([`reveal`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::{Context, Lookahead};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use crate::audit::{AccessRecorder, Entry};
use crate::error::{ApiError, ApiResult};
use crate::policy::{
    self, Action, Category, Decision, Item, Link, Principal, Purpose, SubjectFacts,
};
use crate::store;
use entity::person;

/// Request-scoped data, inserted by the HTTP layer after authentication.
pub struct RequestCtx {
    pub principal: Principal,
    pub now: DateTime<Utc>,
    pub purpose: Purpose,
    pub recorder: AccessRecorder,
    /// Default length of a break-glass grant, in hours.
    pub emergency_hours: u32,
    persons: Mutex<HashMap<String, Loaded>>,
    /// Held while persons are loaded, so that resolvers running at once (a household's
    /// members and its support cases) do not both miss the cache and load the same persons.
    persons_read: tokio::sync::Mutex<()>,
    /// Agencies and issue categories looked up in this request (public registry data; each
    /// is read once per request, not once per field).
    agencies: Mutex<HashMap<String, entity::agency::Model>>,
    issue_categories: Mutex<Option<Arc<Vec<entity::issue_category::Model>>>>,
    /// Held while an agency or the issue-category table is read, so that sibling resolvers
    /// running at once read it once rather than each missing the cache together.
    registry_read: tokio::sync::Mutex<()>,
    /// Consultation rows loaded ahead for a list of persons (rows only: what is shown is
    /// still decided per field).
    pub(crate) consultations: Mutex<super::consultation::Prefetched>,
    /// Rows that a list's items need, loaded for the whole page at once.
    pub(crate) rows: Rows,
}

/// Rows of one request keyed by the id they hang off (a household's members, a case's
/// plans), so that a list loads them for all its items in one query rather than one query
/// per item. Only rows: what is shown is still decided per field, exactly as without them.
pub struct Keyed<V> {
    rows: Mutex<HashMap<String, V>>,
    /// Held while rows are loaded, so that sibling resolvers running at once do not all miss
    /// and load the same keys.
    loading: tokio::sync::Mutex<()>,
}

impl<V> Default for Keyed<V> {
    fn default() -> Self {
        Keyed {
            rows: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
        }
    }
}

impl<V: Clone + Default> Keyed<V> {
    /// The values for `keys`, after loading the keys not yet here with one call of `load`
    /// (given them sorted and deduplicated). A key `load` returns nothing for gets the
    /// default (no rows), so it is not asked for again.
    pub async fn get<F, Fut>(&self, keys: &[String], load: F) -> ApiResult<HashMap<String, V>>
    where
        F: FnOnce(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = ApiResult<HashMap<String, V>>>,
    {
        let _loading = self.loading.lock().await;
        let missing: Vec<String> = {
            let rows = self.lock()?;
            let mut m: Vec<String> = keys
                .iter()
                .filter(|k| !rows.contains_key(*k))
                .cloned()
                .collect();
            m.sort();
            m.dedup();
            m
        };
        if !missing.is_empty() {
            let mut found = load(missing.clone()).await?;
            let mut rows = self.lock()?;
            for k in missing {
                let v = found.remove(&k).unwrap_or_default();
                rows.insert(k, v);
            }
        }
        let rows = self.lock()?;
        Ok(keys
            .iter()
            .filter_map(|k| rows.get(k).map(|v| (k.clone(), v.clone())))
            .collect())
    }

    /// Forget everything (after a write in this request changed these rows).
    pub fn forget(&self) -> ApiResult<()> {
        self.lock()?.clear();
        Ok(())
    }

    fn lock(&self) -> ApiResult<std::sync::MutexGuard<'_, HashMap<String, V>>> {
        self.rows
            .lock()
            .map_err(|_| ApiError::internal("cache", "poisoned"))
    }
}

/// Group rows by a key, keeping their order.
pub fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> &str) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for r in rows {
        out.entry(key(&r).to_owned()).or_default().push(r);
    }
    out
}

/// What the items of a list ask for: the selections under each item (the list field
/// itself, or a connection's `nodes` and `edges { node }`), to load rows for the page ahead.
pub struct Wants<'a>(Vec<Lookahead<'a>>);

impl<'a> Wants<'a> {
    /// Under each item of a plain list field.
    pub fn list(ctx: &'a Context<'_>) -> Self {
        Wants(vec![ctx.look_ahead()])
    }

    /// Under each node of a connection field.
    pub fn connection(ctx: &'a Context<'_>) -> Self {
        let l = ctx.look_ahead();
        Wants(vec![l.field("nodes"), l.field("edges").field("node")])
    }

    pub fn field(&self, name: &str) -> Wants<'a> {
        Wants(self.0.iter().map(|l| l.field(name)).collect())
    }

    pub fn exists(&self) -> bool {
        self.0.iter().any(Lookahead::exists)
    }
}

/// The [`Keyed`] rows of a request.
#[derive(Default)]
pub struct Rows {
    /// Household id → the household (None: no such household).
    pub households: Keyed<Option<entity::household::Model>>,
    /// Household id → its members, current and past, head first.
    pub members: Keyed<Vec<entity::household_member::Model>>,
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

impl RequestCtx {
    pub fn new(principal: Principal, now: DateTime<Utc>, emergency_hours: u32) -> Self {
        RequestCtx {
            principal,
            now,
            purpose: Purpose::Support,
            recorder: AccessRecorder::default(),
            emergency_hours,
            persons: Mutex::new(HashMap::new()),
            persons_read: tokio::sync::Mutex::new(()),
            agencies: Mutex::new(HashMap::new()),
            issue_categories: Mutex::new(None),
            registry_read: tokio::sync::Mutex::new(()),
            consultations: Mutex::new(Default::default()),
            rows: Rows::default(),
        }
    }

    /// The policy decision for one item of one subject, held in a record owned by `owner`.
    pub fn decide(&self, facts: &SubjectFacts, owner: &str, item: Item) -> Decision {
        // Benchmark builds only: measure the cost of enforcement (see bench_switches).
        #[cfg(feature = "bench-switches")]
        if crate::bench_switches::no_policy() {
            return Ok(crate::policy::Basis::Own);
        }
        policy::decide(&self.principal, facts, owner, item, self.purpose, self.now)
    }

    /// Whether an error may name this subject of a record tied to it by `link`.
    pub fn may_name(&self, facts: &SubjectFacts, link: Link<'_>) -> bool {
        policy::may_name_subject(&self.principal, facts, link, self.purpose, self.now)
    }

    /// Whether a household membership is current now (`joinedOn <= today < leftOn`).
    pub fn current(&self, m: &entity::household_member::Model) -> bool {
        policy::membership_current(m.joined_on, m.left_on, self.now)
    }

    /// Whether the caller may know this person exists (IDENTITY of the person record).
    pub fn knows_person(&self, facts: &SubjectFacts) -> bool {
        self.decide(facts, &facts.owner_agency_id, Item::of(Category::Identity))
            .is_ok()
    }

    pub fn require(&self, action: Action, what: &str) -> ApiResult<()> {
        if policy::may(&self.principal, action) {
            Ok(())
        } else {
            Err(ApiError::forbidden(what))
        }
    }

    /// Ledger a read that is not a personal field (the ledger itself, a person's consents,
    /// an access explanation), written with this request's other reads.
    pub fn note_read(&self, record_type: &str, subject: Option<&str>, detail: serde_json::Value) {
        self.recorder.note(Entry {
            account_id: Some(self.principal.account_id.clone()),
            agency_id: Some(self.principal.agency_id.clone()),
            roles: crate::auth::format_roles(&self.principal.roles),
            action: "READ",
            record_type: record_type.to_owned(),
            subject_person_id: subject.map(str::to_owned),
            bases: serde_json::json!({}),
            detail,
            ..Entry::default()
        });
    }
}

/// An agency by id, read once per request.
pub async fn agency(ctx: &Context<'_>, id: &str) -> ApiResult<Option<entity::agency::Model>> {
    let r = req(ctx)?;
    let _reading = r.registry_read.lock().await;
    if let Some(a) = r.agencies.lock().ok().and_then(|m| m.get(id).cloned()) {
        return Ok(Some(a));
    }
    let found = store::registry::agency(db(ctx)?, id).await?;
    if let (Some(a), Ok(mut m)) = (&found, r.agencies.lock()) {
        m.insert(id.to_owned(), a.clone());
    }
    Ok(found)
}

/// Agencies by id into the request's cache, in one query for those not yet there (before
/// the resolvers of a list ask for them one by one).
pub async fn load_agencies(ctx: &Context<'_>, ids: &[String]) -> ApiResult<()> {
    let r = req(ctx)?;
    let _reading = r.registry_read.lock().await;
    let mut missing: Vec<String> = {
        let cache = r
            .agencies
            .lock()
            .map_err(|_| ApiError::internal("cache", "poisoned"))?;
        ids.iter()
            .filter(|id| !cache.contains_key(*id))
            .cloned()
            .collect()
    };
    missing.sort();
    missing.dedup();
    let found = store::registry::agencies_by_ids(db(ctx)?, missing).await?;
    let mut cache = r
        .agencies
        .lock()
        .map_err(|_| ApiError::internal("cache", "poisoned"))?;
    for a in found {
        cache.insert(a.id.clone(), a);
    }
    Ok(())
}

/// The issue-category table, read once per request.
pub async fn issue_categories(
    ctx: &Context<'_>,
) -> ApiResult<Arc<Vec<entity::issue_category::Model>>> {
    let r = req(ctx)?;
    let _reading = r.registry_read.lock().await;
    if let Some(c) = r.issue_categories.lock().ok().and_then(|c| c.clone()) {
        return Ok(c);
    }
    let all = Arc::new(store::consultations::issue_categories(db(ctx)?).await?);
    if let Ok(mut c) = r.issue_categories.lock() {
        *c = Some(all.clone());
    }
    Ok(all)
}

pub fn req<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a RequestCtx> {
    ctx.data::<Arc<RequestCtx>>()
        .map(|r| r.as_ref())
        .map_err(|e| ApiError::internal("request context", e.message))
}

pub fn db<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|e| ApiError::internal("database handle", e.message))
}

/// Load persons (and their facts) by id, in one batch for those not yet cached. Returns
/// every person found, visible or not: callers decide visibility.
pub async fn load_persons(ctx: &Context<'_>, ids: &[String]) -> ApiResult<Vec<Loaded>> {
    let r = req(ctx)?;
    let _loading = r.persons_read.lock().await;
    let missing: Vec<String> = {
        let cache = r
            .persons
            .lock()
            .map_err(|_| ApiError::internal("cache", "poisoned"))?;
        let mut m: Vec<String> = ids
            .iter()
            .filter(|id| !cache.contains_key(*id))
            .cloned()
            .collect();
        m.sort();
        m.dedup();
        m
    };
    if !missing.is_empty() {
        let db = db(ctx)?;
        let models = store::persons::by_ids(db, missing).await?;
        let refs: Vec<&person::Model> = models.iter().collect();
        let mut facts = store::facts::for_persons(db, &refs).await?;
        let mut cache = r
            .persons
            .lock()
            .map_err(|_| ApiError::internal("cache", "poisoned"))?;
        for m in models {
            if let Some(f) = facts.remove(&m.id) {
                cache.insert(
                    m.id.clone(),
                    Loaded {
                        model: Arc::new(m),
                        facts: Arc::new(f.facts),
                        consents: Arc::new(f.consents),
                    },
                );
            }
        }
    }
    let cache = r
        .persons
        .lock()
        .map_err(|_| ApiError::internal("cache", "poisoned"))?;
    Ok(ids.iter().filter_map(|id| cache.get(id).cloned()).collect())
}

/// Forget cached persons (after a write in this request changed them).
pub fn forget_person(ctx: &Context<'_>, id: &str) -> ApiResult<()> {
    let r = req(ctx)?;
    r.persons
        .lock()
        .map_err(|_| ApiError::internal("cache", "poisoned"))?
        .remove(id);
    Ok(())
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

/// Which record a revealed field belongs to, for the ledger.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    pub kind: &'static str,
    pub id: &'a str,
    /// The agency that recorded it (the OWN basis).
    pub owner: &'a str,
    /// How a subject is tied to this record: an error about a withheld field names the
    /// subject only where the caller may see that tie (`policy::may_name_subject`).
    pub link: Link<'a>,
}

/// The gate: decide, ledger the decision, and hand out the value only when allowed. A denied
/// field becomes null with a CONSENT_REQUIRED error at its path.
pub fn reveal<T>(
    ctx: &Context<'_>,
    facts: &SubjectFacts,
    record: RecordRef<'_>,
    item: Item,
    value: impl FnOnce() -> T,
) -> ApiResult<T> {
    let r = req(ctx)?;
    let decision = r.decide(facts, record.owner, item);
    r.recorder.record(
        &facts.person_id,
        record.kind,
        record.id,
        item.category,
        &decision,
    );
    match decision {
        Ok(_) => Ok(value()),
        Err(denial) => Err(ApiError::ConsentRequired {
            category: item.category,
            // Never name a subject the caller may not know exists (a referral's reason
            // withheld from its receiver once the consent lapsed, say), nor one whose tie to
            // this record the data hides (a co-subject of a consultation, a household member).
            subject_id: r
                .may_name(facts, record.link)
                .then(|| facts.person_id.clone()),
            reason: denial.client_kind(),
        }),
    }
}

/// For a nullable field: a withheld value becomes `null` at its path with its
/// CONSENT_REQUIRED error beside it. (Returning the error would make async-graphql drop the
/// key altogether, which clients cannot tell from a field they did not ask for.)
pub fn nullable<T>(ctx: &Context<'_>, result: ApiResult<Option<T>>) -> ApiResult<Option<T>> {
    match result {
        Err(e @ ApiError::ConsentRequired { .. }) => {
            let err: async_graphql::Error = e.into();
            ctx.add_error(ctx.set_error_path(err.into_server_error(ctx.item.pos)));
            Ok(None)
        }
        other => other,
    }
}

/// Like [`reveal`] for every subject of a shared record (a consultation about two people):
/// allowed only if allowed for each; the first denial is the error.
pub fn reveal_all<T>(
    ctx: &Context<'_>,
    subjects: &[Arc<SubjectFacts>],
    record: RecordRef<'_>,
    item: Item,
    value: impl FnOnce() -> T,
) -> ApiResult<T> {
    let mut first_err: Option<ApiError> = None;
    for s in subjects {
        // `reveal` never names a co-subject the caller may not know, or whose tie to this
        // record it may not see. The error names a subject if any denial may.
        if let Err(e) = reveal(ctx, s, record, item, || ()) {
            let named = |e: &ApiError| {
                matches!(
                    e,
                    ApiError::ConsentRequired {
                        subject_id: Some(_),
                        ..
                    }
                )
            };
            if first_err.as_ref().is_none_or(|f| !named(f) && named(&e)) {
                first_err = Some(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        // Nobody to ask for: nothing is shown.
        None if subjects.is_empty() => Err(ApiError::ConsentRequired {
            category: item.category,
            subject_id: None,
            reason: "NO_BASIS",
        }),
        None => Ok(value()),
    }
}

/// Ledgered filter for list entries: true when the item may be shown; a withheld entry is
/// recorded as withheld and left out of the list.
pub fn admit(
    ctx: &Context<'_>,
    facts: &SubjectFacts,
    record: RecordRef<'_>,
    item: Item,
) -> ApiResult<bool> {
    match reveal(ctx, facts, record, item, || ()) {
        Ok(()) => Ok(true),
        Err(ApiError::ConsentRequired { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Facts for the current members of a household: the subjects of records about the household
/// as a whole (support cases, plans, meetings). Use with [`reveal_all`] so a field is shown
/// only if allowed for every member.
pub async fn household_subjects(
    ctx: &Context<'_>,
    household_id: &str,
) -> ApiResult<Vec<Arc<SubjectFacts>>> {
    let r = req(ctx)?;
    let members = members_of(ctx, &[household_id.to_owned()]).await?;
    let ids: Vec<String> = members
        .into_values()
        .flatten()
        .filter(|m| r.current(m))
        .map(|m| m.person_id)
        .collect();
    Ok(load_persons(ctx, &ids)
        .await?
        .into_iter()
        .map(|l| l.facts)
        .collect())
}

/// Members (current and past, head first) of these households, keyed by household; one
/// query for those this request has not read yet.
pub async fn members_of(
    ctx: &Context<'_>,
    household_ids: &[String],
) -> ApiResult<HashMap<String, Vec<entity::household_member::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .members
        .get(household_ids, |ids| async move {
            let rows = store::households::members_of(db, ids).await?;
            Ok(group(rows, |m| &m.household_id))
        })
        .await
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

/// Household rows by id (None: no such household); one query for those not read yet.
pub async fn households(
    ctx: &Context<'_>,
    ids: &[String],
) -> ApiResult<HashMap<String, Option<entity::household::Model>>> {
    let db = db(ctx)?;
    req(ctx)?
        .rows
        .households
        .get(ids, |ids| async move {
            Ok(store::households::by_ids(db, ids)
                .await?
                .into_iter()
                .map(|h| (h.id.clone(), Some(h)))
                .collect())
        })
        .await
}

/// Forget the rows read ahead in this request (after a write changed some of them), so that
/// what the write returns, and any later mutation in the request, reads them afresh.
pub fn forget_rows(ctx: &Context<'_>) -> ApiResult<()> {
    let rows = &req(ctx)?.rows;
    rows.households.forget()?;
    rows.members.forget()?;
    rows.memberships.forget()?;
    rows.cases.forget()?;
    rows.decisions.forget()?;
    rows.involvements.forget()?;
    rows.plans.forget()?;
    rows.assignments.forget()?;
    rows.meeting_decisions.forget()
}
