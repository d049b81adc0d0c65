//! What a run exercised, per backend, and the check that it exercised all it claims to:
//! every basis of the policy allowed by the oracle in some case and shown by the server on
//! it (the ledger's READ rows name the basis of every category shown), and every query field
//! of `QUERY_COVERED` asked, and answered with data, in some case (so each lookup by
//! reference found a record); and each of [`REFS`] judged in some case: an `externalRefs`
//! list with the caller's agency's references, one of a record only another agency holds
//! references to, and the lookups' near misses. A run that exercised less fails naming what
//! it missed, so a generator that stops reaching a basis or a query cannot pass quietly. The
//! table is printed whatever the outcome.

use std::collections::BTreeMap;

use serde_json::Value;
use tsunagi_tests::Server;

use crate::oracle::{Oracle, BASES};
use crate::world::{World, CATEGORIES};

/// What one case did.
pub enum Did {
    /// A read of the root field `root`: whether it answered with data, the rows the oracle
    /// expected in the lists it checked, and the bases the oracle allowed something on.
    Read {
        root: &'static str,
        answered: bool,
        rows: usize,
        bases: Vec<&'static str>,
        /// What it judged of external references, by [`REFS`] index.
        refs: [usize; 4],
    },
    /// An id-taking write on a hidden record.
    Write(&'static str),
}

/// Whether a root field's value holds data: not null, not an empty list or connection.
pub fn answered(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => o.get("nodes").is_none_or(answered),
        _ => true,
    }
}

#[derive(Default)]
pub struct Coverage {
    /// (caller, person, category) of the worlds built, by the oracle's first basis: what
    /// the cases could reach.
    world: BTreeMap<&'static str, usize>,
    /// Cases in which the oracle allowed something on each basis.
    cases: BTreeMap<&'static str, usize>,
    /// READ rows ledgered while the cases ran that name each basis.
    ledger: BTreeMap<String, usize>,
    /// Per query field: cases, cases answered with data, rows the oracle expected in lists.
    queries: BTreeMap<&'static str, [usize; 3]>,
    /// Per write: cases.
    writes: BTreeMap<&'static str, usize>,
    /// What the cases judged of external references, by [`REFS`] index.
    refs: [usize; 4],
}

/// What a run must have judged of external references: lists with the caller's agency's
/// references, lists of records only another agency holds references to, and the lookups'
/// near misses (each answered NOT_FOUND like a reference nobody holds).
pub const REFS: [&str; 4] = [
    "externalRefs list with the caller's agency's references",
    "externalRefs list of a record only another agency holds references to",
    "lookup by the caller's agency's reference to a record it may not know",
    "lookup by another agency's reference to a record the caller may know",
];

impl Coverage {
    /// Counts what the oracle says of every (caller, person, category) of a world.
    pub fn world(&mut self, w: &World, oracles: &[Oracle]) {
        for o in oracles {
            for p in 0..w.persons.len() {
                for cat in CATEGORIES {
                    let b = o
                        .basis(p, cat, Some(w.persons[p].owner))
                        .unwrap_or("denied");
                    *self.world.entry(b).or_default() += 1;
                }
            }
        }
    }

    pub fn case(&mut self, did: Did) {
        match did {
            Did::Read {
                root,
                answered,
                rows,
                bases,
                refs,
            } => {
                for (total, n) in self.refs.iter_mut().zip(refs) {
                    *total += n;
                }
                let q = self.queries.entry(root).or_default();
                q[0] += 1;
                q[1] += usize::from(answered);
                q[2] += rows;
                for b in bases {
                    *self.cases.entry(b).or_default() += 1;
                }
            }
            Did::Write(name) => *self.writes.entry(name).or_default() += 1,
        }
    }

    /// The last ledger row now (call it once the world is built, before its cases).
    pub async fn last_seq(srv: &Server) -> i64 {
        srv.ledger().await.last().map_or(0, |r| r.seq)
    }

    /// Counts the bases named by the READ rows ledgered after `since`.
    pub async fn ledger(&mut self, srv: &Server, since: i64) {
        for row in srv.ledger().await.into_iter().filter(|r| r.seq > since) {
            if row.action != "READ" {
                continue;
            }
            let bases: Value = serde_json::from_str(&row.bases).unwrap_or(Value::Null);
            let mut kinds: Vec<String> = bases
                .as_object()
                .into_iter()
                .flat_map(|by_category| by_category.values())
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(Value::as_str)
                .map(|text| text.split(':').next().unwrap_or(text).to_owned())
                .collect();
            kinds.sort();
            kinds.dedup();
            for k in kinds {
                *self.ledger.entry(k).or_default() += 1;
            }
        }
    }

    /// What the run should have exercised and did not: a basis no case allowed something
    /// on or no ledger row names, a query field of `covered` no case asked or none answered
    /// with data.
    pub fn missing(&self, covered: &[&str]) -> Vec<String> {
        let mut out = Vec::new();
        for b in BASES {
            if self.cases.get(b).copied().unwrap_or(0) == 0 {
                out.push(format!("no case was allowed anything on basis {b}"));
            }
            if self.ledger.get(b).copied().unwrap_or(0) == 0 {
                out.push(format!("no ledger row shows anything on basis {b}"));
            }
        }
        for (what, n) in REFS.iter().zip(self.refs) {
            if n == 0 {
                out.push(format!("no case judged an {what}"));
            }
        }
        for q in covered {
            match self.queries.get(q) {
                None => out.push(format!("no case asked Query.{q}")),
                Some([_, 0, _]) => out.push(format!("no case got data from Query.{q}")),
                Some(_) => {}
            }
        }
        out
    }

    /// The coverage table of one backend.
    pub fn print(&self, backend: &str) {
        let n = |m: &BTreeMap<&'static str, usize>, k: &str| m.get(k).copied().unwrap_or(0);
        println!("{backend}::noleak coverage (a 0 in cases, ledger or answered fails the run):");
        println!(
            "  {:<16} {:>8} {:>8} {:>8}",
            "basis", "world", "cases", "ledger"
        );
        for b in BASES {
            println!(
                "  {b:<16} {:>8} {:>8} {:>8}",
                n(&self.world, b),
                n(&self.cases, b),
                self.ledger.get(b).copied().unwrap_or(0)
            );
        }
        println!("  {:<16} {:>8}", "denied", n(&self.world, "denied"));
        println!(
            "  {:<16} {:>8} {:>8} {:>8}",
            "query", "cases", "answered", "rows"
        );
        for (q, [cases, answered, rows]) in &self.queries {
            println!("  {q:<16} {cases:>8} {answered:>8} {rows:>8}");
        }
        println!("  {:<72} {:>8}", "external references judged", "cases");
        for (what, n) in REFS.iter().zip(self.refs) {
            println!("  {what:<72} {n:>8}");
        }
        println!("  {:<28} {:>8}", "write on a hidden record", "cases");
        for (w, cases) in &self.writes {
            println!("  {w:<28} {cases:>8}");
        }
    }
}
