//! Consultations (相談受付) with their subjects and issues.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::batch::{self, Part, Union};
use super::visibility::{self, Own};
use super::{write, Page};
use crate::audit::Entry;
use crate::error::ApiResult;
use crate::policy::write::consultation::{ChangeConsultation, RecordConsultation};
use crate::policy::{ListScope, Permit};
use entity::{consultation, consultation_issue, consultation_subject, issue_category};

#[derive(Clone, Debug, Default)]
pub struct ConsultationFilter {
    pub status: Option<String>,
    pub receiving_agency_id: Option<String>,
    pub issue_code: Option<String>,
    /// The caller's scope for the issue's policy category (None: its roles may not see it).
    pub issue_scope: Option<ListScope>,
    pub person_id: Option<String>,
    /// With a person filter: false when only the caller's own consultations may match.
    pub person_open: bool,
    pub received_from: Option<DateTime<Utc>>,
    pub received_until: Option<DateTime<Utc>>,
}

/// Cursor key: received_at and id, newest first.
pub fn cursor_key(c: &consultation::Model) -> String {
    format!("{}|{}", c.received_at.timestamp_micros(), c.id)
}

fn parse_key(key: &str) -> Option<(DateTime<Utc>, String)> {
    let (micros, id) = key.split_once('|')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id.to_owned(),
    ))
}

/// Consultations the scope may know exist: received by its agency, or about a subject whose
/// consent covers NARRATIVE for the scope.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    scope: &ListScope,
    filter: &ConsultationFilter,
    page: &Page,
) -> Result<Option<Vec<consultation::Model>>, DbErr> {
    let consenting = Query::select()
        .column(consultation_subject::Column::ConsultationId)
        .from(consultation_subject::Entity)
        .and_where(
            consultation_subject::Column::PersonId
                .in_subquery(visibility::subjects(scope, Own::Exclude)),
        )
        .to_owned();
    let mut q = consultation::Entity::find().filter(
        Condition::any()
            .add(consultation::Column::ReceivingAgencyId.eq(scope.agency_id.as_str()))
            .add(consultation::Column::Id.in_subquery(consenting)),
    );
    if let Some(s) = &filter.status {
        q = q.filter(consultation::Column::Status.eq(s.as_str()));
    }
    if let Some(a) = &filter.receiving_agency_id {
        q = q.filter(consultation::Column::ReceivingAgencyId.eq(a.as_str()));
    }
    if let Some(code) = &filter.issue_code {
        let with_issue = Query::select()
            .column(consultation_issue::Column::ConsultationId)
            .from(consultation_issue::Entity)
            .and_where(consultation_issue::Column::IssueCode.eq(code.as_str()))
            .to_owned();
        q = q.filter(consultation::Column::Id.in_subquery(with_issue));
        // Filtering on an issue must not reveal an issue the caller may not see: its category
        // must be allowed for every subject (own agency's, or consent for each subject).
        let Some(issue_scope) = &filter.issue_scope else {
            return Ok(Some(Vec::new()));
        };
        let uncovered = Query::select()
            .expr(Expr::val(1))
            .from(consultation_subject::Entity)
            .and_where(
                Expr::col((
                    consultation_subject::Entity,
                    consultation_subject::Column::ConsultationId,
                ))
                .equals((consultation::Entity, consultation::Column::Id)),
            )
            .and_where(
                consultation_subject::Column::PersonId
                    .not_in_subquery(visibility::subjects(issue_scope, Own::Exclude)),
            )
            .to_owned();
        q = q.filter(
            Condition::any()
                .add(consultation::Column::ReceivingAgencyId.eq(scope.agency_id.as_str()))
                .add(Expr::exists(uncovered).not()),
        );
    }
    if let Some(p) = &filter.person_id {
        let about = Query::select()
            .column(consultation_subject::Column::ConsultationId)
            .from(consultation_subject::Entity)
            .and_where(consultation_subject::Column::PersonId.eq(p.as_str()))
            .to_owned();
        q = q.filter(consultation::Column::Id.in_subquery(about));
        if !filter.person_open {
            q = q.filter(consultation::Column::ReceivingAgencyId.eq(scope.agency_id.as_str()));
        }
    }
    if let Some(from) = filter.received_from {
        q = q.filter(consultation::Column::ReceivedAt.gte(from));
    }
    if let Some(until) = filter.received_until {
        q = q.filter(consultation::Column::ReceivedAt.lt(until));
    }
    if let Some(after) = &page.after {
        let Some((at, id)) = parse_key(after) else {
            return Ok(None);
        };
        q = q.filter(
            Condition::any()
                .add(consultation::Column::ReceivedAt.lt(at))
                .add(
                    Condition::all()
                        .add(consultation::Column::ReceivedAt.eq(at))
                        .add(consultation::Column::Id.lt(id)),
                ),
        );
    }
    q.order_by_desc(consultation::Column::ReceivedAt)
        .order_by_desc(consultation::Column::Id)
        .limit(page.first + 1)
        .all(db)
        .await
        .map(Some)
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    id: &str,
) -> Result<Option<consultation::Model>, DbErr> {
    consultation::Entity::find_by_id(id.to_owned())
        .one(db)
        .await
}

pub async fn subjects_of<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<consultation_subject::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    consultation_subject::Entity::find()
        .filter(consultation_subject::Column::ConsultationId.is_in(ids))
        .order_by_asc(consultation_subject::Column::PersonId)
        .all(db)
        .await
}

/// An issue of a consultation with its category (None: a code the table no longer has).
#[derive(Clone, Debug)]
pub struct Issue {
    pub row: consultation_issue::Model,
    pub category: Option<issue_category::Model>,
}

/// The issues of these consultations with their categories, the main one first: one
/// statement.
pub async fn issues_of<C: ConnectionTrait>(db: &C, ids: Vec<String>) -> Result<Vec<Issue>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let (issue, category) = issue_parts()?;
    let mut u = Union::new(db.get_database_backend(), &[&issue, &category]);
    let l = u.list(&ids);
    issues_branch(&mut u, (&issue, &category), &l);
    let mut out = Vec::new();
    for row in u.all(db).await? {
        out.push(Issue {
            row: issue.decode(&row)?,
            category: category.decode_joined(&row)?,
        });
    }
    sort_issues(&mut out);
    Ok(out)
}

fn issue_parts() -> Result<(Part, Part), DbErr> {
    Ok((
        Part::of::<consultation_issue::Entity>("r_")?,
        Part::of::<issue_category::Entity>("ic_")?,
    ))
}

/// The branch of the issues (with their categories) of the consultations `ids` selects.
fn issues_branch(u: &mut Union, (issue, category): (&Part, &Part), ids: &str) {
    u.branch(
        "i",
        &[(issue, "t"), (category, "ic")],
        &format!(
            "FROM \"consultation_issue\" t LEFT JOIN \"issue_category\" ic \
             ON ic.\"code\" = t.\"issue_code\" WHERE t.\"consultation_id\" IN {ids}"
        ),
    );
}

/// The main issue first, then by code.
fn sort_issues(issues: &mut [Issue]) {
    issues.sort_by(|a, b| {
        (!a.row.is_main, &a.row.consultation_id, &a.row.issue_code).cmp(&(
            !b.row.is_main,
            &b.row.consultation_id,
            &b.row.issue_code,
        ))
    });
}

/// What the consultations about some persons bring with them, read together.
#[derive(Default)]
pub struct About {
    /// Every consultation with one of the persons among its subjects.
    pub consultations: Vec<consultation::Model>,
    /// Every subject of those consultations (the persons asked about and their co-subjects),
    /// in person id order.
    pub subjects: Vec<consultation_subject::Model>,
    /// Their issues with their categories (if asked for), the main one first.
    pub issues: Option<Vec<Issue>>,
    /// Their receiving agencies, and the `also` agencies.
    pub agencies: Vec<entity::agency::Model>,
}

/// The consultations about these persons, all their subjects, their issues (if
/// `with_issues`) and receiving agencies, and the agencies `also` names: one statement.
pub async fn about<C: ConnectionTrait>(
    db: &C,
    person_ids: &[String],
    with_issues: bool,
    also: &[String],
) -> Result<About, DbErr> {
    let mut out = About::default();
    if person_ids.is_empty() && also.is_empty() {
        return Ok(out);
    }
    // One table per branch (the issues' categories are joined under their own prefix), so
    // the tables share the slots of one prefix.
    let c = Part::of::<consultation::Entity>("r_")?;
    let s = Part::of::<consultation_subject::Entity>("r_")?;
    let (issue, category) = issue_parts()?;
    let a = Part::of::<entity::agency::Entity>("r_")?;
    let mut u = Union::new(db.get_database_backend(), &[&c, &s, &issue, &category, &a]);
    let about = |u: &mut Union| {
        let l = u.list(person_ids);
        format!(
            "(SELECT \"consultation_id\" FROM \"consultation_subject\" WHERE \"person_id\" IN {l})"
        )
    };
    if !person_ids.is_empty() {
        let ids = about(&mut u);
        u.branch(
            "c",
            &[(&c, "t")],
            &format!("FROM \"consultation\" t WHERE t.\"id\" IN {ids}"),
        );
        let ids = about(&mut u);
        u.branch(
            "s",
            &[(&s, "t")],
            &format!("FROM \"consultation_subject\" t WHERE t.\"consultation_id\" IN {ids}"),
        );
        if with_issues {
            let ids = about(&mut u);
            issues_branch(&mut u, (&issue, &category), &ids);
        }
    }
    let named = u.list(also);
    let receiving = if person_ids.is_empty() {
        String::new()
    } else {
        let ids = about(&mut u);
        format!(
            " OR t.\"id\" IN (SELECT \"receiving_agency_id\" FROM \"consultation\" WHERE \"id\" IN {ids})"
        )
    };
    u.branch(
        "a",
        &[(&a, "t")],
        &format!("FROM \"agency\" t WHERE t.\"id\" IN {named}{receiving}"),
    );
    let mut issues = Vec::new();
    for row in u.all(db).await? {
        match batch::kind(&row)?.as_str() {
            "c" => out.consultations.push(c.decode(&row)?),
            "s" => out.subjects.push(s.decode(&row)?),
            "i" => issues.push(Issue {
                row: issue.decode(&row)?,
                category: category.decode_joined(&row)?,
            }),
            "a" => out.agencies.push(a.decode(&row)?),
            other => {
                return Err(DbErr::Custom(format!(
                    "consultations: unexpected row kind {other:?}"
                )))
            }
        }
    }
    out.consultations.sort_by(newest_first);
    out.subjects.sort_by(|x, y| {
        (&x.consultation_id, &x.person_id).cmp(&(&y.consultation_id, &y.person_id))
    });
    if with_issues {
        sort_issues(&mut issues);
        out.issues = Some(issues);
    }
    Ok(out)
}

/// Consultation ids about the given person.
pub async fn ids_about<C: ConnectionTrait>(db: &C, person_id: &str) -> Result<Vec<String>, DbErr> {
    Ok(consultation_subject::Entity::find()
        .filter(consultation_subject::Column::PersonId.eq(person_id))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.consultation_id)
        .collect())
}

/// (consultation, person) pairs for the consultations about any of the given persons: one
/// query, whatever their number.
pub async fn about_persons<C: ConnectionTrait>(
    db: &C,
    person_ids: Vec<String>,
) -> Result<Vec<consultation_subject::Model>, DbErr> {
    if person_ids.is_empty() {
        return Ok(Vec::new());
    }
    consultation_subject::Entity::find()
        .filter(consultation_subject::Column::PersonId.is_in(person_ids))
        .all(db)
        .await
}

/// Newest first (the order of [`by_ids`]).
pub fn newest_first(a: &consultation::Model, b: &consultation::Model) -> std::cmp::Ordering {
    (b.received_at, &b.id).cmp(&(a.received_at, &a.id))
}

pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    ids: Vec<String>,
) -> Result<Vec<consultation::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    consultation::Entity::find()
        .filter(consultation::Column::Id.is_in(ids))
        .order_by_desc(consultation::Column::ReceivedAt)
        .order_by_desc(consultation::Column::Id)
        .all(db)
        .await
}

pub async fn issue_categories<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<issue_category::Model>, DbErr> {
    issue_category::Entity::find()
        .order_by_asc(issue_category::Column::SortOrder)
        .all(db)
        .await
}

/// Record a consultation with its subjects and issues (code, whether main), with the ledger
/// entries.
pub async fn record(
    db: &impl super::Handle,
    permit: Permit<RecordConsultation>,
    model: consultation::Model,
    subjects: Vec<String>,
    issues: Vec<(String, bool)>,
    entries: Vec<Entry>,
) -> ApiResult<()> {
    debug_assert_eq!(permit.id(), model.id);
    let id = &model.id;
    let subjects: Vec<consultation_subject::Model> = subjects
        .into_iter()
        .map(|person_id| consultation_subject::Model {
            consultation_id: id.clone(),
            person_id,
        })
        .collect();
    let issues: Vec<consultation_issue::Model> = issues
        .into_iter()
        .map(|(issue_code, is_main)| consultation_issue::Model {
            consultation_id: id.clone(),
            issue_code,
            is_main,
        })
        .collect();
    write(db, entries, move |txn| {
        Box::pin(async move {
            write::insert(txn, model).await?;
            for s in subjects {
                write::insert(txn, s).await?;
            }
            for i in issues {
                write::insert(txn, i).await?;
            }
            Ok(())
        })
    })
    .await
}

/// Set the status of the consultation `read` (optimistic: CONFLICT unless the client's
/// version is the one read and the row is still at it), with the ledger entries.
pub async fn set_status(
    db: &impl super::Handle,
    permit: Permit<ChangeConsultation>,
    read: &consultation::Model,
    client_version: i32,
    status: &str,
    at: DateTime<Utc>,
    entries: Vec<Entry>,
) -> ApiResult<consultation::Model> {
    debug_assert_eq!(permit.id(), read.id);
    let read = read.clone();
    let changed = consultation::Model {
        status: status.to_owned(),
        updated_at: at,
        ..read.clone()
    };
    write(db, entries, move |txn| {
        Box::pin(async move { write::update(txn, &read, client_version, changed).await })
    })
    .await
}
