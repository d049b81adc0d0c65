//! Object- and property-level authorization, table-driven. [`table::entries`] is the single
//! source of truth: one row per Query and Mutation field that takes an id or acts on a
//! record, and for every other field the reason it is not applicable. The test asserts
//! the table covers exactly the schema's Query, Mutation and Subscription fields
//! (introspection), so a new operation fails until it is classified.
//!
//! Each row is called against one fixture world ([`world`]) as the owner (A's staff with
//! the right role), a non-owner (B's staff with the same role and no basis), other roles at
//! the owner's agency, and anonymously; every mutation additionally as an analyst and an
//! auditor, who may write nothing. Every refusal is checked against a snapshot of the whole
//! database: nothing written, not even a ledger row. A NOT_FOUND is byte-identical to the
//! answer about a random id. Allowed writes must write (so the refusals can fail).
//! [`mass`] tries every server-controlled field on every mutation input type.
//! [`hidden`] asks every id-taking mutation, as a caller who knows the person or the household
//! around a record but may not know the record, and compares with a random id.

mod hidden;
mod mass;
mod table;
mod world;

use serde_json::{json, Value};
use tsunagi_tests::snapshot::{changes, writes};
use tsunagi_tests::{tests, Gql, Server};

use world::{Who, World};

use hidden::every_id_taking_mutation_hides_what_a_caller_with_context_may_not_know;

tests!(
    every_operation_by_owner_non_owner_other_role_and_anonymous,
    every_id_taking_mutation_hides_what_a_caller_with_context_may_not_know
);

/// What a cell expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Out {
    /// No error. A read names the row's target; a write changes the database and ledgers
    /// itself.
    Ok,
    /// No error; a read whose answer need not name the target (a view of due work).
    Answers,
    /// No error, and the target is nowhere in the answer (a list scoped to the caller).
    Hidden,
    /// The record is shown with the fields of this category null, each with a
    /// CONSENT_REQUIRED error; nothing else fails.
    Withheld(&'static str),
    /// The only error has this code, data is null, nothing is written, not even the ledger.
    Refused(&'static str),
    /// NOT_FOUND naming this field, byte-identical to the answer when the probed variable is
    /// a random id; nothing written.
    Unknown(&'static str),
    /// Not run: why this column does not apply to the row.
    Na(&'static str),
}

/// The columns of the matrix (anonymous is run for every row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Col {
    Owner,
    NonOwner,
    OtherRole,
}

#[derive(Clone, Copy, Debug)]
pub struct Cell(pub Col, pub Who, pub Out);

pub struct Row {
    pub op: &'static str,
    pub vars: fn(&World) -> Value,
    /// The record the row is about ("" for none): named in an allowed read, absent from a
    /// hidden or refused one.
    pub target: fn(&World) -> String,
    /// JSON pointer into the variables of the id that [`Out::Unknown`] replaces.
    pub probe: &'static str,
    /// The table of `target`, whose current version is passed as `$v`.
    pub versioned: Option<&'static str>,
    pub cells: Vec<Cell>,
}

pub enum Entry {
    Row(Row),
    /// A field with no record to authorize (public directory, the caller's own data).
    Na {
        field: &'static str,
        why: &'static str,
    },
}

/// `Query.person`, `Mutation.updatePerson`: the root field an operation calls.
fn field_of(op: &str) -> String {
    let root = if op.trim_start().starts_with("mutation") {
        "Mutation"
    } else {
        "Query"
    };
    let body = &op[op.find('{').expect("a selection") + 1..];
    let name: String = body
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect();
    format!("{root}.{name}")
}

fn is_mutation(row: &Row) -> bool {
    row.op.trim_start().starts_with("mutation")
}

/// The ledger's last sequence number (0 when empty).
async fn last_seq(srv: &Server) -> i64 {
    use sea_orm::{EntityTrait, QueryOrder};
    entity::audit_event::Entity::find()
        .order_by_desc(entity::audit_event::Column::Seq)
        .one(&srv.db)
        .await
        .unwrap()
        .map_or(0, |e| e.seq)
}

/// Ledger rows appended after `seq`, oldest first.
async fn ledger_after(srv: &Server, seq: i64) -> Vec<entity::audit_event::Model> {
    use entity::audit_event::{Column, Entity};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    Entity::find()
        .filter(Column::Seq.gt(seq))
        .order_by_asc(Column::Seq)
        .all(&srv.db)
        .await
        .unwrap()
}

/// The cells to run: the row's own, anonymous aside, plus analyst and auditor for every
/// mutation (DESIGN: analysts see aggregates only; auditors oversee, they change nothing).
fn cells(row: &Row) -> Vec<Cell> {
    let mut out = row.cells.clone();
    if is_mutation(row) {
        for who in [Who::AAnalyst, Who::AAuditor] {
            if !out.iter().any(|c| c.1 == who) {
                out.push(Cell(Col::OtherRole, who, Out::Refused("FORBIDDEN")));
            }
        }
    }
    out
}

/// The row's variables with `$v` set to the target's current version.
async fn variables(srv: &Server, w: &World, row: &Row) -> Value {
    let mut vars = (row.vars)(w);
    if let Some(table) = row.versioned {
        vars["v"] = json!(current_version(srv, table, &(row.target)(w)).await);
    }
    vars
}

/// The current version of row `id` of `table`.
async fn current_version(srv: &Server, table: &str, id: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let sql = format!("SELECT CAST(version AS BIGINT) AS v FROM \"{table}\" WHERE id = '{id}'");
    let got = srv
        .db
        .query_one_raw(Statement::from_string(srv.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{table} {id}"));
    got.try_get::<i64>("", "v").unwrap()
}

fn with_probe(vars: &Value, pointer: &str, id: &str) -> Value {
    let mut v = vars.clone();
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in {vars}")) = json!(id);
    v
}

/// Run one cell and check it, including what it wrote.
async fn check(srv: &Server, w: &World, row: &Row, cell: Cell) {
    let Cell(col, who, out) = cell;
    let field = field_of(row.op);
    let at = format!("{field} as {who:?} ({col:?}) expecting {out:?}");
    if let Out::Na(_) = out {
        return;
    }
    let token = w.token(who);
    let vars = variables(srv, w, row).await;
    let target = (row.target)(w);
    let before = srv.snapshot().await;
    let last = last_seq(srv).await;
    let r = srv.gql(token, row.op, vars.clone()).await;
    let after = srv.snapshot().await;
    let diff = changes(&before, &after);
    let written = writes(&before, &after);
    let body = r.body.to_string();
    let new_rows = ledger_after(srv, last).await;
    let caller = w.account_id(who);
    match out {
        Out::Ok | Out::Answers => {
            assert_eq!(r.status, 200, "{at}: {body}");
            assert!(r.errors().is_empty(), "{at}: {body}");
            assert_ne!(r.data(), &Value::Null, "{at}: {body}");
            if is_mutation(row) {
                assert!(
                    diff.iter().any(|t| !t.starts_with("audit_event")),
                    "{at}: an allowed write wrote nothing: {body}"
                );
                let op = field.trim_start_matches("Mutation.");
                assert!(
                    new_rows.iter().any(|e| e.action == "WRITE"
                        && e.operation == op
                        && e.account_id.as_deref() == Some(caller)),
                    "{at}: the write is not ledgered: {new_rows:?}"
                );
            } else {
                assert!(written.is_empty(), "{at}: a read wrote: {written:?}");
                if out == Out::Ok && !target.is_empty() {
                    assert!(body.contains(&target), "{at}: {target} not shown: {body}");
                }
            }
        }
        Out::Hidden | Out::Withheld(_) => {
            assert!(written.is_empty(), "{at}: a read wrote: {written:?}");
            // Reads are ledgered, what was withheld with them; nothing of A's shown.
            for e in &new_rows {
                assert_eq!(e.action, "READ", "{at}: {e:?}");
                assert_eq!(e.account_id.as_deref(), Some(caller), "{at}");
            }
            if let Out::Withheld(category) = out {
                assert_ne!(r.data(), &Value::Null, "{at}: {body}");
                assert!(!r.errors().is_empty(), "{at}: nothing withheld: {body}");
                for e in r.errors() {
                    assert_eq!(e["extensions"]["code"], "CONSENT_REQUIRED", "{at}: {body}");
                    assert_eq!(e["extensions"]["category"], category, "{at}: {body}");
                }
                assert!(
                    new_rows
                        .iter()
                        .any(|e| e.withheld.contains(category) && !e.shown.contains(category)),
                    "{at}: the withheld {category} is not ledgered: {new_rows:?}"
                );
            } else {
                assert_eq!(r.status, 200, "{at}: {body}");
                assert!(r.errors().is_empty(), "{at}: {body}");
                assert!(!target.is_empty(), "{at}: a hidden row needs a target");
                assert!(!body.contains(&target), "{at}: {target} shown: {body}");
                assert!(
                    new_rows.iter().all(|e| e.shown == "[]"
                        || !e.subject_person_id.as_deref().is_some_and(|p| {
                            [&w.p1, &w.p2, &w.p3].iter().any(|q| q.as_str() == p)
                        })),
                    "{at}: shown to a non-owner: {new_rows:?}"
                );
            }
        }
        Out::Refused(code) | Out::Unknown(code) => {
            let code = if matches!(out, Out::Unknown(_)) {
                "NOT_FOUND"
            } else {
                code
            };
            let e = r.only_error(code);
            assert_eq!(r.data(), &Value::Null, "{at}: {body}");
            assert!(diff.is_empty(), "{at}: a refusal wrote: {diff:?}");
            if !target.is_empty() {
                assert!(!body.contains(&target), "{at}: the refusal names {target}");
            }
            if let Out::Unknown(named) = out {
                assert_eq!(e["extensions"]["field"], named, "{at}: {body}");
                let hidden = vars
                    .pointer(row.probe)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{at}: probe {}", row.probe))
                    .to_owned();
                crate::bola::assert_indistinguishable(
                    srv,
                    token,
                    row.op,
                    |id| with_probe(&vars, row.probe, id),
                    &hidden,
                    "NOT_FOUND",
                )
                .await;
                srv.assert_unchanged(&before, format!("{at}: probing"))
                    .await;
            }
        }
        Out::Na(_) => {}
    }
}

/// Anonymous: 401 UNAUTHENTICATED before anything runs, nothing written.
async fn anonymous(srv: &Server, w: &World, row: &Row) {
    let before = srv.snapshot().await;
    let vars = variables(srv, w, row).await;
    let r: Gql = srv
        .raw(None, json!({ "query": row.op, "variables": vars }))
        .await;
    assert_eq!(r.status, 401, "{}: {}", field_of(row.op), r.body);
    r.only_error("UNAUTHENTICATED");
    srv.assert_unchanged(&before, format!("{}: anonymous", field_of(row.op)))
        .await;
}

async fn every_operation_by_owner_non_owner_other_role_and_anonymous(srv: &Server) {
    // Unthrottled: the table sends each account more requests than a minute's allowance
    // (600), and a 429 would hide what the policy answers. The limiter is tested in limits.rs.
    let srv = &Server::start_with(&srv.backend, |c| c.limits.rate_per_minute = 0).await;
    let entries = table::entries();
    // The table covers exactly the schema's Query, Mutation and Subscription fields.
    let mut listed: Vec<String> = entries
        .iter()
        .map(|e| match e {
            Entry::Row(r) => field_of(r.op),
            Entry::Na { field, why } => {
                assert!(why.len() > 20, "{field}: say why it is not applicable");
                (*field).to_owned()
            }
        })
        .collect();
    listed.sort();
    listed.dedup();
    let mut in_schema = Vec::new();
    for root in ["Query", "Mutation", "Subscription"] {
        let r = srv
            .gql(
                &srv.admin_token,
                "query($t: String!) { __type(name: $t) { fields { name } } }",
                json!({ "t": root }),
            )
            .await;
        for f in r.ok()["__type"]["fields"].as_array().unwrap() {
            in_schema.push(format!("{root}.{}", f["name"].as_str().unwrap()));
        }
    }
    in_schema.sort();
    assert_eq!(
        listed, in_schema,
        "every Query, Mutation and Subscription field is classified in the table"
    );
    let rows: Vec<&Row> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Row(r) => Some(r),
            Entry::Na { .. } => None,
        })
        .collect();
    for row in &rows {
        let cols: Vec<Col> = row.cells.iter().map(|c| c.0).collect();
        for col in [Col::Owner, Col::NonOwner, Col::OtherRole] {
            assert!(
                cols.contains(&col) || (col == Col::OtherRole && is_mutation(row)),
                "{}: no {col:?} cell",
                field_of(row.op)
            );
        }
    }

    let w = world::build(srv).await;
    // First every refusal, on the untouched world; then what is allowed, in table order
    // (the mutations are ordered so that each finds its record in the state it needs).
    // Every failing cell is reported, not only the first.
    let allowed = |c: &Cell| c.2 == Out::Ok || c.2 == Out::Answers;
    let mut failures = Vec::new();
    for row in &rows {
        failures.extend(caught(anonymous(srv, &w, row)).await);
        for cell in cells(row).into_iter().filter(|c| !allowed(c)) {
            failures.extend(caught(check(srv, &w, row, cell)).await);
        }
    }
    failures.extend(caught(mass::server_controlled_fields_are_refused(srv, &w, &rows)).await);
    for row in &rows {
        for cell in cells(row).into_iter().filter(allowed) {
            failures.extend(caught(check(srv, &w, row, cell)).await);
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cells:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The panic message of a failed check, if it failed.
async fn caught(check: impl std::future::Future<Output = ()>) -> Option<String> {
    use futures::FutureExt;
    let p = std::panic::AssertUnwindSafe(check)
        .catch_unwind()
        .await
        .err()?;
    Some(
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "panic".to_owned()),
    )
}
