//! Aggregate tables for analysts and the yearly 事業評価 (issue 17).
//!
//! A table is read by `store::statistics` as true counts with their record-key sums, and
//! every cell, margin and total goes through `policy::statistics::publish` before anything
//! leaves: a cell is published perturbed (cell-key method) or not listed at all. Nothing
//! here reads or returns a person, an id, a date finer than a month or an age finer than
//! its band.

pub mod cli;
pub mod coarse;
pub mod evaluation;

use std::collections::HashMap;

use sea_orm::ConnectionTrait;

use crate::error::{ApiError, ApiResult};
use crate::policy::statistics::publish;
use crate::store::statistics::{self as raw, Condition, Dimension, Measure};
use coarse::Hierarchy;

/// Most dimensions a table may group by.
pub const MAX_DIMENSIONS: usize = 3;
/// Most conditions, values in one condition, and characters in one value.
pub const MAX_CONDITIONS: usize = 13;
pub const MAX_VALUES: usize = 200;
pub const MAX_VALUE_LEN: usize = 100;

/// One published cell: the values of its grouped dimensions (`None` where it is a margin
/// over that dimension; all `None` is the total) and its published value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Cell {
    pub values: Vec<Option<String>>,
    pub value: i64,
}

/// A protected table: only published cells, margins and the total.
#[derive(Clone, Debug)]
pub struct Table {
    pub measure: Measure,
    pub group_by: Vec<Dimension>,
    pub cells: Vec<Cell>,
    pub threshold: i64,
}

impl Table {
    /// The published total, if it is published.
    pub fn total(&self) -> Option<i64> {
        self.cells
            .iter()
            .find(|c| c.values.iter().all(Option::is_none))
            .map(|c| c.value)
    }

    /// The published value of the cell with these values (`None`: a margin), if published.
    pub fn get(&self, values: &[Option<&str>]) -> Option<i64> {
        self.cells
            .iter()
            .find(|c| {
                c.values.len() == values.len()
                    && c.values.iter().zip(values).all(|(a, b)| a.as_deref() == *b)
            })
            .map(|c| c.value)
    }
}

/// Check a table's request: at most [`MAX_DIMENSIONS`], none twice, each one the measure
/// has; conditions on dimensions the measure has, within the limits. Errors name the field.
pub fn check(measure: Measure, group_by: &[Dimension], conditions: &[Condition]) -> ApiResult<()> {
    if group_by.len() > MAX_DIMENSIONS {
        return Err(ApiError::bad_input(
            "groupBy",
            format!("集計軸は {MAX_DIMENSIONS} つまでです / at most {MAX_DIMENSIONS} dimensions"),
        ));
    }
    for (i, d) in group_by.iter().enumerate() {
        if group_by[..i].contains(d) {
            return Err(ApiError::bad_input(
                "groupBy",
                format!("集計軸 {d:?} が重複しています / dimension {d:?} is given twice"),
            ));
        }
        if !measure.has(*d) {
            return Err(ApiError::bad_input(
                "groupBy",
                format!("{measure:?} には集計軸 {d:?} がありません / {measure:?} has no dimension {d:?}"),
            ));
        }
    }
    if conditions.len() > MAX_CONDITIONS {
        return Err(ApiError::bad_input(
            "filter",
            format!("条件は {MAX_CONDITIONS} 個までです / at most {MAX_CONDITIONS} conditions"),
        ));
    }
    for c in conditions {
        if !measure.has(c.dimension) {
            return Err(ApiError::bad_input(
                "filter",
                format!(
                    "{measure:?} には集計軸 {:?} がありません / {measure:?} has no dimension {:?}",
                    c.dimension, c.dimension
                ),
            ));
        }
        if c.values.len() > MAX_VALUES || c.values.iter().any(|v| v.chars().count() > MAX_VALUE_LEN)
        {
            return Err(ApiError::bad_input(
                "filter",
                format!("値は {MAX_VALUES} 個、各 {MAX_VALUE_LEN} 文字までです / at most {MAX_VALUES} values of {MAX_VALUE_LEN} characters"),
            ));
        }
    }
    Ok(())
}

/// A protected table of `measure` by `group_by` under `conditions`, unless the city has
/// switched the measure's group off (FORBIDDEN, naming it).
///
/// Besides each cell's own threshold, two rules stop differencing (README §6.2): a cell is
/// not published when what separates it from a set the analyst can also ask for is itself
/// too small to publish (perturbed below k, empty included) —
/// - along a grouped dimension, the rest of its margin ([`protect`]);
/// - for each condition, what the condition removes from the cell (the same cell with the
///   condition left out, minus the cell), and, for a condition listing several values or
///   excluding values, each value's own slice of the cell.
///
/// Without them, a table "with" and a table "without one district" would be identical
/// (the same records, so the same noise) exactly when the district holds nobody, and
/// differ otherwise: a certain answer on a cell of one.
pub async fn table<C: ConnectionTrait>(
    db: &C,
    measure: Measure,
    group_by: &[Dimension],
    conditions: &[Condition],
    threshold: i64,
) -> ApiResult<Table> {
    check(measure, group_by, conditions)?;
    let disabled = raw::disabled_groups(db).await?;
    if disabled.iter().any(|g| g == measure.group().as_str()) {
        return Err(ApiError::forbidden(format!(
            "市が {} の集計を停止しています / the city has switched off the {} measures",
            measure.group().as_str(),
            measure.group().as_str()
        )));
    }
    let found = raw::table(db, measure, group_by, conditions).await?;
    let used: Vec<Dimension> = group_by
        .iter()
        .copied()
        .chain(conditions.iter().map(|c| c.dimension))
        .collect();
    let hierarchy = Hierarchy::load(db, measure, &used).await?;
    let mut blocked = coarse::blocked(
        db, &hierarchy, measure, group_by, conditions, &found, threshold,
    )
    .await?;
    for (j, condition) in conditions.iter().enumerate() {
        if !condition.exclude && hierarchy.covers(condition.dimension, &condition.values) {
            // Periods that hold every record of the measure: the condition removes nothing
            // anywhere, which the span of the records tells.
            continue;
        }
        let others: Vec<Condition> = conditions
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != j)
            .map(|(_, c)| c.clone())
            .collect();
        let fixed = |cell: &raw::RawCell| {
            group_by.iter().zip(&cell.values).any(|(g, v)| {
                v.is_some() && (*g == condition.dimension || g.implies(condition.dimension))
            })
        };
        // A cell with its own value of the dimension, or of one that fixes it (a month its
        // fiscal year), is the same set whatever the condition says of other values: the
        // condition keeps all of it or none, and which one is no secret.
        let open: Vec<&raw::RawCell> = found.iter().filter(|c| !fixed(c)).collect();
        if open.is_empty() {
            continue;
        }
        // The same table without the condition, grouped by its dimension too. A dimension
        // that fixes the condition's is left out: the cells compared have none of its values.
        let kept: Vec<usize> = (0..group_by.len())
            .filter(|p| !group_by[*p].implies(condition.dimension))
            .collect();
        let mut wider: Vec<Dimension> = kept.iter().map(|p| group_by[*p]).collect();
        let grouped = wider.iter().position(|g| *g == condition.dimension);
        if grouped.is_none() {
            wider.push(condition.dimension);
        }
        let index = counts(raw::table(db, measure, &wider, &others).await?);
        for cell in open {
            let at = |v: Option<&String>| {
                let mut key: Vec<Option<String>> =
                    kept.iter().map(|p| cell.values[*p].clone()).collect();
                match grouped {
                    Some(p) => key[p] = v.cloned(),
                    None => key.push(v.cloned()),
                }
                index.get(&key).copied().unwrap_or((0, 0))
            };
            let (n, keys) = at(None);
            let mut ok = publish(n - cell.count, keys - cell.key_sum, threshold).is_some();
            if condition.exclude || condition.values.len() > 1 {
                ok &= condition
                    .values
                    .iter()
                    .filter(|v| !hierarchy.outside(condition.dimension, v))
                    .all(|v| {
                        let (n, keys) = at(Some(v));
                        publish(n, keys, threshold).is_some()
                    });
            }
            if !ok {
                blocked.insert(cell.values.clone());
            }
        }
    }
    let mut table = protect(measure, group_by, found, threshold, &hierarchy);
    table.cells.retain(|c| !blocked.contains(&c.values));
    Ok(table)
}

fn counts(cells: Vec<raw::RawCell>) -> HashMap<Vec<Option<String>>, (i64, i64)> {
    cells
        .into_iter()
        .map(|c| (c.values, (c.count, c.key_sum)))
        .collect()
}

/// Publish what may be published of raw cells, in a stable order (margins after their
/// cells, the total last). A cell is published when its perturbed count reaches the
/// threshold and, along each dimension it has a value of, the rest of its margin does too
/// (unless the value is a period that holds every record of the measure: the rest is then
/// empty by the span of the records).
fn protect(
    measure: Measure,
    group_by: &[Dimension],
    found: Vec<raw::RawCell>,
    threshold: i64,
    hierarchy: &Hierarchy,
) -> Table {
    let index = counts(found.clone());
    let mut cells: Vec<Cell> = found
        .into_iter()
        .filter(|c| {
            (0..c.values.len())
                .filter(|i| {
                    c.values[*i]
                        .as_ref()
                        .is_some_and(|v| !hierarchy.covers(group_by[*i], std::slice::from_ref(v)))
                })
                .all(|i| {
                    let mut margin = c.values.clone();
                    margin[i] = None;
                    let (n, keys) = index.get(&margin).copied().unwrap_or((0, 0));
                    publish(n - c.count, keys - c.key_sum, threshold).is_some()
                })
        })
        .filter_map(|c| {
            publish(c.count, c.key_sum, threshold).map(|value| Cell {
                values: c.values,
                value,
            })
        })
        .collect();
    cells.sort_by_key(|c| order(&c.values));
    Table {
        measure,
        group_by: group_by.to_vec(),
        cells,
        threshold,
    }
}

/// Sort key of a cell: margins (None) after values, age bands by their lower bound.
fn order(values: &[Option<String>]) -> Vec<(bool, i64, String)> {
    values
        .iter()
        .map(|v| match v {
            None => (true, 0, String::new()),
            Some(s) => {
                let lead: String = s.chars().take_while(char::is_ascii_digit).collect();
                (false, lead.parse().unwrap_or(i64::MAX), s.clone())
            }
        })
        .collect()
}
