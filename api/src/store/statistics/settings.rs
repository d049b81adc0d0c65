//! The city's settings: the groups of measures switched off, and the 実施目標.

use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::sql::Dialect;

/// The groups of measures the city has switched off.
pub async fn disabled_groups<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    let d = Dialect(db.get_database_backend());
    let rows = db
        .query_all_raw(Statement::from_string(
            d.0,
            format!(
                "SELECT measure_group FROM statistics_setting WHERE enabled = {} \
                 ORDER BY measure_group",
                if d.pg() { "FALSE" } else { "0" }
            ),
        ))
        .await?;
    rows.into_iter()
        .map(|r| r.try_get("", "measure_group"))
        .collect()
}

/// Who changed a setting, and when.
pub struct Stamp<'a> {
    pub by: &'a str,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Store the target of `indicator` (the permit's record) in fiscal year `year`, with its
/// ledger row: a new target at version 1, a changed one at the next version.
pub async fn set_target(
    db: &impl crate::store::Handle,
    permit: crate::policy::Permit<crate::policy::write::statistics::SetTarget>,
    year: i32,
    (value, note): (f64, Option<String>),
    stamp: Stamp<'_>,
    entry: crate::audit::Entry,
) -> crate::error::ApiResult<i32> {
    let indicator = permit.id().to_owned();
    let (set_by, at) = (stamp.by.to_owned(), stamp.at);
    crate::store::write(db, vec![entry], move |txn| {
        Box::pin(async move {
            let d = Dialect(txn.get_database_backend());
            let m: Vec<String> = (1..=6).map(|i| d.placeholder(i)).collect();
            let sql = format!(
                "INSERT INTO evaluation_target (fiscal_year, indicator, value, note, set_by, set_at, version) \
                 VALUES ({}, {}, {}, {}, {}, {}, 1) \
                 ON CONFLICT (fiscal_year, indicator) DO UPDATE SET value = excluded.value, \
                 note = excluded.note, set_by = excluded.set_by, set_at = excluded.set_at, \
                 version = evaluation_target.version + 1 RETURNING version",
                m[0], m[1], m[2], m[3], m[4], m[5]
            );
            let row = txn
                .query_one_raw(Statement::from_sql_and_values(
                    d.0,
                    sql,
                    [
                        year.into(),
                        indicator.into(),
                        value.into(),
                        note.into(),
                        set_by.into(),
                        at.into(),
                    ],
                ))
                .await?
                .ok_or_else(|| DbErr::Custom("set_target returned no row".into()))?;
            Ok(row.try_get::<i32>("", "version")?)
        })
    })
    .await
}

/// Switch the measures of a group (the permit's record) on or off, with its ledger row.
pub async fn set_group_enabled(
    db: &impl crate::store::Handle,
    permit: crate::policy::Permit<crate::policy::write::statistics::SwitchMeasures>,
    enabled: bool,
    stamp: Stamp<'_>,
    entry: crate::audit::Entry,
) -> crate::error::ApiResult<()> {
    let group = permit.id().to_owned();
    let (changed_by, at) = (stamp.by.to_owned(), stamp.at);
    crate::store::write(db, vec![entry], move |txn| {
        Box::pin(async move {
            let d = Dialect(txn.get_database_backend());
            let m: Vec<String> = (1..=4).map(|i| d.placeholder(i)).collect();
            let sql = format!(
                "INSERT INTO statistics_setting (measure_group, enabled, changed_by, changed_at) \
                 VALUES ({}, {}, {}, {}) ON CONFLICT (measure_group) DO UPDATE SET \
                 enabled = excluded.enabled, changed_by = excluded.changed_by, \
                 changed_at = excluded.changed_at",
                m[0], m[1], m[2], m[3]
            );
            txn.execute_raw(Statement::from_sql_and_values(
                d.0,
                sql,
                [group.into(), enabled.into(), changed_by.into(), at.into()],
            ))
            .await?;
            Ok(())
        })
    })
    .await
}
