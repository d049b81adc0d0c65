//! A fine value and its coarse value across requests: a month and its fiscal year, an
//! agency and its kind, an issue and its group, a 5-year age band and its 10-year band.
//!
//! The differencing rules of [`super::table`] compare a cell with what the same request can
//! also give. An analyst can also ask for the coarse version of a dimension in one request
//! and the fine version in another: "65-69" against "60-69", June against the fiscal year,
//! one agency against its kind. The two differ by the fine value's siblings, a slice the
//! first request never looked at; where it is empty, the two values are identical (the same
//! records, the same noise) and say so for certain.
//!
//! So a cell restricted to fine values (grouped by one, or a condition listing them) is
//! published only when what their coarse values add to it (the same cell with the coarse
//! values in place of the fine ones, less the cell) is publishable. The coarse cells
//! themselves (a year, a kind, a group, a 10-year band: what the 事業評価 reports) are never
//! held back by this rule. Siblings that are empty by what the whole city's table shows (a
//! month outside the span of the measure's records, an agency that has recorded none, an
//! issue never given) are no secret and need no guard. One more statement per fine
//! dimension of the request.

use std::collections::{HashMap, HashSet};

use sea_orm::ConnectionTrait;

use super::counts;
use crate::error::ApiResult;
use crate::policy::statistics::publish;
use crate::store::statistics::{
    self as raw, months_of, Condition, Dimension, Measure, Member, RawCell, UNKNOWN,
};

/// The coarse dimension a fine one belongs to.
pub fn coarse(fine: Dimension) -> Option<Dimension> {
    match fine {
        Dimension::Month => Some(Dimension::FiscalYear),
        Dimension::Agency => Some(Dimension::AgencyKind),
        Dimension::Issue => Some(Dimension::IssueGroup),
        Dimension::AgeBand5 => Some(Dimension::AgeBand10),
        _ => None,
    }
}

/// `YYYY-MM` as months since year 0.
fn month_index(value: &str) -> Option<i64> {
    months_of(Dimension::Month, value).map(|(m, _)| m)
}

/// What the coarse values of fine ones are, and which fine values are empty everywhere:
/// the directory's agencies and issues, and the span of the measure's records.
pub struct Hierarchy {
    agencies: Vec<Member>,
    issues: Vec<Member>,
    /// The first and last month of the measure's records in the whole city, as months since
    /// year 0. Months outside them are empty in every cell, which the span itself tells.
    span: Option<(i64, i64)>,
}

impl Hierarchy {
    /// What a table of `measure` using `dimensions` needs to know.
    pub async fn load<C: ConnectionTrait>(
        db: &C,
        measure: Measure,
        dimensions: &[Dimension],
    ) -> ApiResult<Self> {
        let (agencies, issues) = raw::hierarchy(
            db,
            measure,
            dimensions.contains(&Dimension::Agency),
            dimensions.contains(&Dimension::Issue),
        )
        .await?;
        let span = raw::span(db, measure)
            .await?
            .and_then(|(a, b)| month_index(&a).zip(month_index(&b)));
        Ok(Hierarchy {
            agencies,
            issues,
            span,
        })
    }

    /// Whether periods of `dimension` (fiscal years or months) hold every month of the
    /// measure's records: then nothing outside them is counted anywhere, and a slice outside
    /// them is empty by the span, not by a secret.
    pub fn covers(&self, dimension: Dimension, values: &[String]) -> bool {
        let Some((first, last)) = self.span else {
            return true;
        };
        let periods: Vec<(i64, i64)> = values
            .iter()
            .filter_map(|v| months_of(dimension, v))
            .collect();
        !periods.is_empty()
            && (first..=last).all(|m| periods.iter().any(|(a, b)| (*a..*b).contains(&m)))
    }

    /// Whether a fiscal year or a month lies wholly outside the measure's records.
    pub fn outside(&self, dimension: Dimension, value: &str) -> bool {
        match (months_of(dimension, value), self.span) {
            (Some((a, b)), Some((first, last))) => b <= first || a > last,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// The coarse value of a fine one, if it has one.
    fn parent(&self, fine: Dimension, value: &str) -> Option<String> {
        if value == UNKNOWN {
            return Some(UNKNOWN.to_owned());
        }
        match fine {
            Dimension::Month => {
                let m = month_index(value)?;
                Some(format!("{:04}", (m - 3).div_euclid(12)))
            }
            Dimension::Agency => self.member(&self.agencies, value).map(|m| m.parent.clone()),
            Dimension::Issue => Some(
                self.member(&self.issues, value)
                    .map_or_else(|| value.to_owned(), |m| m.parent.clone()),
            ),
            Dimension::AgeBand5 => match value.split_once('-') {
                Some((low, _)) => {
                    let l: i64 = low.parse().ok()?;
                    Some(format!("{}-{}", l / 10 * 10, l / 10 * 10 + 9))
                }
                None => Some(value.to_owned()),
            },
            _ => None,
        }
    }

    fn member<'a>(&self, members: &'a [Member], value: &str) -> Option<&'a Member> {
        members.iter().find(|m| m.value == value)
    }

    /// The siblings of fine values (the other fine values of their coarse values) that may
    /// hold records: not outside the span of the records, not unused anywhere in the city.
    fn siblings(&self, fine: Dimension, values: &[String]) -> Vec<String> {
        let parents: HashSet<String> = values.iter().filter_map(|v| self.parent(fine, v)).collect();
        let mut out: Vec<String> = match fine {
            Dimension::Month => parents
                .iter()
                .filter_map(|p| months_of(Dimension::FiscalYear, p))
                .flat_map(|(a, b)| a..b)
                .map(|m| format!("{:04}-{:02}", m / 12, m % 12 + 1))
                .filter(|m| !self.outside(Dimension::Month, m))
                .collect(),
            Dimension::Agency | Dimension::Issue => {
                let members = if fine == Dimension::Agency {
                    &self.agencies
                } else {
                    &self.issues
                };
                members
                    .iter()
                    .filter(|m| m.used && parents.contains(&m.parent))
                    .map(|m| m.value.clone())
                    .collect()
            }
            Dimension::AgeBand5 => parents
                .iter()
                .filter_map(|p| p.split_once('-'))
                .filter_map(|(low, _)| low.parse::<i64>().ok())
                .flat_map(|l| [format!("{l}-{}", l + 4), format!("{}-{}", l + 5, l + 9)])
                .collect(),
            _ => Vec::new(),
        };
        out.retain(|v| !values.contains(v));
        out
    }
}

/// The cells of `found` (a table of `measure` by `group_by` under `conditions`) restricted to
/// fine values whose coarse values add too little to them to publish.
pub async fn blocked<C: ConnectionTrait>(
    db: &C,
    hierarchy: &Hierarchy,
    measure: Measure,
    group_by: &[Dimension],
    conditions: &[Condition],
    found: &[RawCell],
    threshold: i64,
) -> ApiResult<HashSet<Vec<Option<String>>>> {
    let mut blocked = HashSet::new();
    // Grouped by a fine dimension without its coarse one (with it, the margin rule of
    // `protect` compares the cell with its coarse value already).
    for (q, fine) in group_by.iter().enumerate() {
        let Some(up) = coarse(*fine) else { continue };
        if group_by.contains(&up) {
            continue;
        }
        let exposed: Vec<&RawCell> = found
            .iter()
            .filter(|c| {
                c.values[q].as_ref().is_some_and(|v| {
                    !hierarchy
                        .siblings(*fine, std::slice::from_ref(v))
                        .is_empty()
                })
            })
            .collect();
        if exposed.is_empty() {
            continue;
        }
        // The same table by the coarse dimension, with no condition on the fine one (the
        // cell's own value decides it).
        let mut wider = group_by.to_vec();
        wider[q] = up;
        let others: Vec<Condition> = conditions
            .iter()
            .filter(|c| c.dimension != *fine)
            .cloned()
            .collect();
        let index = counts(raw::table(db, measure, &wider, &others).await?);
        for cell in exposed {
            let mut key = cell.values.clone();
            key[q] = cell.values[q]
                .as_ref()
                .and_then(|v| hierarchy.parent(*fine, v));
            if !adds_enough(&index, &key, cell, threshold) {
                blocked.insert(cell.values.clone());
            }
        }
    }
    // A condition listing fine values: against the same table with their coarse values.
    for (j, condition) in conditions.iter().enumerate() {
        let Some(up) = coarse(condition.dimension) else {
            continue;
        };
        if condition.exclude
            || hierarchy
                .siblings(condition.dimension, &condition.values)
                .is_empty()
        {
            // An exclusion leaves out values each publishable on its own (the slice rule),
            // and values whose siblings hold nothing add nothing to compare.
            continue;
        }
        let parents: Vec<String> = {
            let mut p: Vec<String> = condition
                .values
                .iter()
                .filter_map(|v| hierarchy.parent(condition.dimension, v))
                .collect();
            p.sort();
            p.dedup();
            p
        };
        let mut wider_conditions = conditions.to_vec();
        wider_conditions[j] = Condition {
            dimension: up,
            values: parents,
            exclude: false,
        };
        let index = counts(raw::table(db, measure, group_by, &wider_conditions).await?);
        for cell in found {
            let fixed = group_by
                .iter()
                .zip(&cell.values)
                .any(|(g, v)| v.is_some() && *g == condition.dimension);
            if !fixed && !adds_enough(&index, &cell.values, cell, threshold) {
                blocked.insert(cell.values.clone());
            }
        }
    }
    Ok(blocked)
}

/// Whether the cell at `key` of the coarse table, less `cell`, is publishable.
fn adds_enough(
    index: &HashMap<Vec<Option<String>>, (i64, i64)>,
    key: &[Option<String>],
    cell: &RawCell,
    threshold: i64,
) -> bool {
    let (n, keys) = index.get(key).copied().unwrap_or((0, 0));
    publish(n - cell.count, keys - cell.key_sum, threshold).is_some()
}
