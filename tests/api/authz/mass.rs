//! Mass assignment. No input type may carry a field the server controls (ids, versions,
//! owners, stamps, states): a denylist is checked against every input type of the schema,
//! with an allowlist of the legitimate exceptions and why. And every mutation of the table,
//! called as its owner with each denylisted field added to each input object it sends
//! (nested ones included), is refused as BAD_USER_INPUT with nothing written; the table's
//! mutations between them send every input type of the schema.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use tsunagi_tests::Server;

use super::world::World;
use super::{field_of, is_mutation, variables, Out, Row};

/// Fields the server sets itself: who owns or recorded a record, when, in which state and
/// version. Transitions are separate mutations with their own checks, never a field.
const DENY: &[&str] = &[
    "id",
    "version",
    "agencyId",
    "ownerAgencyId",
    "receivingAgencyId",
    "fromAgencyId",
    "conveningAgencyId",
    "recordedBy",
    "recordedByAccountId",
    "createdBy",
    "createdAt",
    "updatedAt",
    "recordedAt",
    "decidedAt",
    "completedAt",
    "withdrawnAt",
    "withdrawnBy",
    "closedAt",
    "closedOn",
    "grantedAt",
    "expiresAt",
    "status",
    "state",
    "active",
    "roles",
    "planVersion",
    "agreedOn",
    "leadAgencyId",
    "clientSecret",
    "secretHash",
    "revokedAt",
    "secretRotatedAt",
];

/// (input type, field, why it is legitimate there).
const ALLOW: &[(&str, &str, &str)] = &[
    (
        "CreateAccountInput",
        "agencyId",
        "admins (ManageRegistry) place an account in an agency",
    ),
    (
        "CreateAccountInput",
        "roles",
        "admins assign roles; the mutation is admin-only",
    ),
    (
        "UpdateAccountInput",
        "agencyId",
        "admins move an account between agencies",
    ),
    (
        "UpdateAgencyInput",
        "active",
        "admins deactivate an agency; admin-only",
    ),
    (
        "AssignmentInput",
        "agencyId",
        "a plan names the agency each task is assigned to",
    ),
    (
        "InvolvementInput",
        "agencyId",
        "the involved agency is what an involvement records",
    ),
];

pub(super) type Inputs = BTreeMap<String, BTreeMap<String, String>>;

pub(super) fn named(t: &Value) -> String {
    let mut t = t;
    while t["name"].is_null() {
        t = &t["ofType"];
    }
    t["name"].as_str().unwrap().to_owned()
}

/// Input object type → field → the field's named type.
pub(super) async fn input_types(srv: &Server) -> Inputs {
    let r = srv
        .gql(
            &srv.admin_token,
            "{ __schema { types { kind name inputFields { name type { name ofType { name ofType { name ofType { name } } } } } } } }",
            json!({}),
        )
        .await;
    r.ok()["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "INPUT_OBJECT")
        .map(|t| {
            let fields = t["inputFields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| (f["name"].as_str().unwrap().to_owned(), named(&f["type"])))
                .collect();
            (t["name"].as_str().unwrap().to_owned(), fields)
        })
        .collect()
}

/// `$i: PlanInput!` → ("i", "PlanInput"), from an operation's header.
fn declared(op: &str) -> Vec<(String, String)> {
    let Some(open) = op.find('(').filter(|&i| i < op.find('{').unwrap_or(0)) else {
        return vec![];
    };
    let close = open + op[open..].find(')').unwrap();
    op[open + 1..close]
        .split(',')
        .map(|d| {
            let (name, ty) = d.split_once(':').unwrap();
            let ty: String = ty.chars().filter(|c| c.is_alphanumeric()).collect();
            (name.trim().trim_start_matches('$').to_owned(), ty)
        })
        .collect()
}

/// Every input object in `value` (of type `ty`) with its JSON pointer and type.
fn objects(value: &Value, ty: &str, at: String, inputs: &Inputs, out: &mut Vec<(String, String)>) {
    let Some(fields) = inputs.get(ty) else {
        return;
    };
    match value {
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                objects(v, ty, format!("{at}/{i}"), inputs, out);
            }
        }
        Value::Object(map) => {
            out.push((at.clone(), ty.to_owned()));
            for (k, v) in map {
                if let Some(t) = fields.get(k) {
                    objects(v, t, format!("{at}/{k}"), inputs, out);
                }
            }
        }
        _ => {}
    }
}

pub async fn server_controlled_fields_are_refused(srv: &Server, w: &World, rows: &[&Row]) {
    let inputs = input_types(srv).await;
    // No input type exposes a server-controlled field, but for the documented exceptions.
    let mut exposed = Vec::new();
    for (ty, fields) in &inputs {
        for f in fields.keys() {
            if DENY.contains(&f.as_str()) && !ALLOW.iter().any(|(t, a, _)| t == ty && a == f) {
                exposed.push(format!("{ty}.{f}"));
            }
        }
    }
    assert_eq!(
        exposed,
        Vec::<String>::new(),
        "input fields the server should set"
    );
    for (ty, f, _) in ALLOW {
        assert!(
            inputs.get(*ty).is_some_and(|fs| fs.contains_key(*f)),
            "stale allowlist entry {ty}.{f}"
        );
    }

    let mut reached = BTreeSet::new();
    for row in rows.iter().filter(|r| is_mutation(r)) {
        let Some(cell) = row.cells.iter().find(|c| c.2 == Out::Ok) else {
            panic!("{}: no allowed caller", field_of(row.op));
        };
        let token = w.token(cell.1);
        let vars = variables(srv, w, row).await;
        let mut positions = Vec::new();
        for (name, ty) in declared(row.op) {
            objects(
                &vars[&name],
                &ty,
                format!("/{name}"),
                &inputs,
                &mut positions,
            );
        }
        let before = srv.snapshot().await;
        for (at, ty) in &positions {
            reached.insert(ty.clone());
            for f in DENY.iter().filter(|f| !inputs[ty].contains_key(**f)) {
                let mut v = vars.clone();
                v.pointer_mut(at).unwrap()[*f] = json!("01890000-0000-7000-8000-000000000000");
                let r = srv.gql(token, row.op, v).await;
                let e = r.only_error("BAD_USER_INPUT");
                assert_eq!(r.data(), &Value::Null, "{}", r.body);
                assert!(
                    e["message"].as_str().unwrap_or("").contains(f),
                    "{} with {ty}.{f}: the message names the field: {}",
                    field_of(row.op),
                    r.body
                );
            }
        }
        let context = format!("{}: a mass-assignment attempt", field_of(row.op));
        srv.assert_unchanged(&before, context).await;
    }
    // Inputs only a query takes write nothing, so nothing can be mass-assigned through them
    // (an unknown field is refused by validation like any other).
    const QUERY_ONLY: &[&str] = &["StatisticsCondition"];
    let all: BTreeSet<String> = inputs
        .keys()
        .filter(|k| !QUERY_ONLY.contains(&k.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        reached, all,
        "the table's mutations send every input type of the schema"
    );
}
