//! The table: every Query and Mutation field, with who may call it on A's records and what
//! everybody else gets. Mutations are in the order their allowed calls run (each finds its
//! record in the state it needs: the referral accepted before it is completed, the plan
//! agreed before the next version, the case closed last).

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input};

use super::world::{plan_input, World};
use super::Col::{NonOwner, OtherRole, Owner};
use super::Out::{Answers, Hidden, Na, Ok, Refused, Unknown, Withheld};
use super::Who::*;
use super::{Cell, Entry, Row};

const FORBIDDEN: super::Out = Refused("FORBIDDEN");
const CITY_WIDE: super::Out = Na("admins and auditors are city-wide: the registry and the ledger have no owning agency (DESIGN: admins manage accounts and roles; ManageRegistry and Oversee carry no agency scope)");
const OWN_ONLY: super::Out = Na("creates a record of the caller's own agency from ids it already knows: no record of another agency is reached except through ids, which the NonOwner rows of those ids cover");

fn row(
    op: &'static str,
    vars: fn(&World) -> Value,
    target: fn(&World) -> String,
    probe: &'static str,
    versioned: Option<&'static str>,
    cells: Vec<Cell>,
) -> Entry {
    Entry::Row(Row {
        op,
        vars,
        target,
        probe,
        versioned,
        cells,
    })
}

/// A's coordinators write (多機関協働); B's cannot find the record (`field` names the id);
/// A's caseworkers only read.
fn coordinators(field: &'static str) -> Vec<Cell> {
    vec![
        Cell(Owner, ACoord, Ok),
        Cell(NonOwner, BCoord, Unknown(field)),
        Cell(OtherRole, ACw, FORBIDDEN),
    ]
}

/// A's caseworkers write; B's cannot find the record (`field` names the id); A's
/// 生活支援コーディネーター do not record persons, households or referrals.
fn caseworkers(field: &'static str) -> Vec<Cell> {
    vec![
        Cell(Owner, ACw, Ok),
        Cell(NonOwner, BCw, Unknown(field)),
        Cell(OtherRole, ALsc, FORBIDDEN),
    ]
}

fn na(field: &'static str, why: &'static str) -> Entry {
    Entry::Na { field, why }
}

fn none(_: &World) -> String {
    String::new()
}

fn decision(reason: &str) -> Value {
    json!({ "decidedOn": "2026-10-10", "decider": "福祉課長", "reason": reason, "note": "本人と面談のうえ決定" })
}

pub fn entries() -> Vec<Entry> {
    let mut t = queries();
    t.extend(mutations());
    t
}

fn queries() -> Vec<Entry> {
    vec![
        na("Query.viewer", "the caller's own account, agency and roles"),
        na("Query.agencies", "the public directory of agencies: no personal data"),
        na("Query.issueCategories", "reference data: no personal data"),
        na("Query.myEmergencyGrants", "the caller's own grants only (the store filters by the caller's account)"),
        na("Query.personByRef", "looks up only the caller's own agency's references; the record then answers exactly as person(id:) (tests/api/upserts.rs)"),
        na("Query.householdByRef", "looks up only the caller's own agency's references; the record then answers exactly as household(id:)"),
        na("Query.consultationByRef", "looks up only the caller's own agency's references; the record then answers exactly as consultation(id:)"),
        na("Query.consentByRef", "looks up only the caller's own agency's references; the consent then answers exactly as in consents(personId:)"),
        na("Query.referralByRef", "looks up only the caller's own agency's references (policy::refs); the record then answers exactly as referral(id:) (tests/api/external_refs.rs)"),
        na("Query.activityByRef", "looks up only the caller's own agency's references (policy::refs); the activity then answers exactly as activities(personId:) lists it (tests/api/external_refs.rs)"),
        na("Subscription.changes", "over GET /graphql/ws only (POST /graphql refuses a subscription): every delivery runs Query.changes, classified below, with the socket's token (tests/api/subscriptions.rs)"),
        na("Query.communityResources", "the public directory of 社会資源, every role: no personal data (communityResource(id) is a row)"),
        row(
            "query($a: ID) { accounts(agencyId: $a) { id } }",
            |w| json!({ "a": w.a }),
            |w| w.account.clone(),
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, Ok),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, AAuditor, FORBIDDEN),
            ],
        ),
        row(
            "query($id: ID) { serviceClients(accountId: $id) { id } }",
            |w| json!({ "id": w.service_account }),
            |w| w.client.clone(),
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, Ok),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, AAuditor, FORBIDDEN),
            ],
        ),
        row(
            "query($id: ID!) { person(id: $id) { id familyName careLevel } }",
            |w| json!({ "id": w.p1 }),
            |w| w.p1.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(OtherRole, ALsc, Withheld("HEALTH")),
                Cell(OtherRole, AAnalyst, Unknown("id")),
                Cell(OtherRole, AAuditor, Unknown("id")),
            ],
        ),
        row(
            "{ persons(first: 100) { edges { node { id } } } }",
            |_| json!({}),
            |w| w.p1.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Hidden),
                Cell(OtherRole, AAnalyst, Hidden),
            ],
        ),
        row(
            "query($f: String!, $g: String!, $b: Date) { personMatches(familyNameKana: $f, givenNameKana: $g, birthDate: $b) { candidates { score person { id } } probableMatchElsewhere } }",
            |_| json!({ "f": "やまだ", "g": "ｹﾝｲﾁ", "b": "1950-04-01" }),
            |w| w.p1.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Hidden),
                Cell(OtherRole, ALsc, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "query($p: ID!) { personLinks(personId: $p) { id status persons { id } } }",
            |w| json!({ "p": w.p1 }),
            |w| w.link.clone(),
            "/p",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("personId")),
                // R knows p1 (consent), not p4: the link would tell R that p4 exists.
                Cell(NonOwner, RCw, Hidden),
                Cell(OtherRole, ALsc, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "query($id: ID!) { household(id: $id) { id members { relationship person { id } } } }",
            |w| json!({ "id": w.household }),
            |w| w.household.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(OtherRole, ALsc, Ok),
                Cell(OtherRole, AAnalyst, Unknown("id")),
            ],
        ),
        row(
            "{ households(first: 100) { edges { node { id } } } }",
            |_| json!({}),
            |w| w.household.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Hidden),
                Cell(OtherRole, AAnalyst, Hidden),
            ],
        ),
        row(
            "query($id: ID!) { consultation(id: $id) { id summary } }",
            |w| json!({ "id": w.consultation }),
            |w| w.consultation.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(NonOwner, RCw, Unknown("id")),
                Cell(OtherRole, AAnalyst, Unknown("id")),
            ],
        ),
        row(
            "query($p: ID!) { consultations(personId: $p, first: 100) { edges { node { id } } } }",
            |w| json!({ "p": w.p1 }),
            |w| w.consultation.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Hidden),
                Cell(OtherRole, AAnalyst, Hidden),
            ],
        ),
        row(
            "query($id: ID!) { referral(id: $id) { id status } }",
            |w| json!({ "id": w.referral }),
            |w| w.referral.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(Owner, RCw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(OtherRole, AAnalyst, Unknown("id")),
                Cell(OtherRole, RAnalyst, Unknown("id")),
            ],
        ),
        row(
            "{ referrals(first: 100) { edges { node { id } } } }",
            |_| json!({}),
            |w| w.referral.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Hidden),
                Cell(OtherRole, AAnalyst, Hidden),
            ],
        ),
        row(
            "{ changes(first: 1000) { edges { node { recordType recordId categories agencyId } } } }",
            |_| json!({}),
            |w| w.p1.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Hidden),
                Cell(OtherRole, AAnalyst, Hidden),
                Cell(OtherRole, AAuditor, Hidden),
            ],
        ),
        row(
            "query($id: ID!) { consents(personId: $id) { id state } }",
            |w| json!({ "id": w.p1 }),
            |w| w.consent.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("personId")),
                Cell(OtherRole, AAnalyst, Unknown("personId")),
            ],
        ),
        row(
            "query($id: ID!) { explainAccess(personId: $id) { items { category allowed } } }",
            |w| json!({ "id": w.p1 }),
            none,
            "/id",
            None,
            vec![
                Cell(Owner, ACw, Answers),
                Cell(NonOwner, BCw, Unknown("personId")),
                Cell(OtherRole, AAnalyst, Unknown("personId")),
            ],
        ),
        row(
            "query($id: ID!, $acc: ID!) { explainAccess(personId: $id, accountId: $acc) { items { category allowed } } }",
            |w| json!({ "id": w.p1, "acc": w.account }),
            none,
            "/id",
            None,
            vec![
                Cell(Owner, AAuditor, Answers),
                Cell(NonOwner, BCw, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "query($p: ID) { auditEvents(personId: $p, first: 100) { edges { node { seq } } } }",
            |w| json!({ "p": w.p1 }),
            none,
            "",
            None,
            vec![
                Cell(Owner, AAuditor, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACw, FORBIDDEN),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "{ alertFeed(first: 100) { edges { node { seq } } } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, Admin, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "query($p: ID!) { accessLog(personId: $p, first: 100) { edges { node { seq } } } }",
            |w| json!({ "p": w.p1 }),
            none,
            "",
            None,
            vec![
                Cell(Owner, AAuditor, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACw, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "query($id: ID!) { disclosureReport(personId: $id) { person { id familyName } } }",
            |w| json!({ "id": w.p1 }),
            |w| w.p1.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACw, FORBIDDEN),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, AAuditor, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        // 統計と事業評価: counts of the whole city under disclosure control, no owning
        // agency; analysts build tables, analysts and admins read the report.
        row(
            "{ statistics(measure: CONSULTATIONS, groupBy: [FISCAL_YEAR]) { total cells { value } } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, AAnalyst, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, Admin, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, AAuditor, FORBIDDEN),
            ],
        ),
        row(
            "{ evaluationReport(fiscalYear: 2026) { fiscalYear indicators { indicator actual } } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, AAnalyst, Answers),
                Cell(Owner, Admin, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACw, FORBIDDEN),
                Cell(OtherRole, AAuditor, FORBIDDEN),
            ],
        ),
        row(
            "{ targets(fiscalYear: 2026) { indicator value } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, AAnalyst, Answers),
                Cell(Owner, Admin, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
            ],
        ),
        row(
            "{ statisticsSettings { group enabled } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, AAnalyst, Answers),
                Cell(Owner, Admin, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "{ verifyAuditChain { ok } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, AAuditor, Answers),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
            ],
        ),
        row(
            "{ emergencyGrants { id } }",
            |_| json!({}),
            |w| w.grant.clone(),
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, RCw, FORBIDDEN),
            ],
        ),
        row(
            "query($id: ID!) { communityResource(id: $id) { id name } }",
            |w| json!({ "id": w.resource }),
            |w| w.resource.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ALsc, Ok),
                // Public: no personal data, every role.
                Cell(NonOwner, BLsc, Ok),
                Cell(OtherRole, AAnalyst, Ok),
            ],
        ),
        row(
            "query($p: ID!) { placements(personId: $p) { id } }",
            |w| json!({ "p": w.p1 }),
            |w| w.placement.clone(),
            "/p",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("personId")),
                Cell(OtherRole, AAnalyst, Unknown("personId")),
            ],
        ),
        row(
            "query($id: ID!) { supportCase(id: $id) { id status } }",
            |w| json!({ "id": w.case }),
            |w| w.case.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCoord, Unknown("id")),
                Cell(OtherRole, AAnalyst, Unknown("id")),
            ],
        ),
        row(
            "query($h: ID!) { supportCases(householdId: $h) { id } }",
            |w| json!({ "h": w.household }),
            |w| w.case.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Hidden),
                Cell(OtherRole, AAnalyst, Hidden),
            ],
        ),
        row(
            "{ myCases(first: 100) { edges { node { id } } } }",
            |_| json!({}),
            |w| w.case.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Hidden),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "{ overdueReviews(first: 100) { edges { node { id } } } }",
            |_| json!({}),
            |w| w.case.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Hidden),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "{ plansWithoutAgreement(first: 100) { edges { node { id } } } }",
            |_| json!({}),
            |w| w.case.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Hidden),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "{ openInvolvementsAfterClosure(first: 100) { edges { node { id } } } }",
            |_| json!({}),
            |w| w.case.clone(),
            "",
            None,
            vec![
                // The case is not closed when the queries run: the view answers, empty.
                Cell(Owner, ACoord, Answers),
                Cell(NonOwner, BCoord, Hidden),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "query($id: ID!) { meeting(id: $id) { id kind } }",
            |w| json!({ "id": w.meeting }),
            |w| w.meeting.clone(),
            "/id",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Unknown("id")),
                Cell(OtherRole, AAnalyst, Unknown("id")),
            ],
        ),
        row(
            "query($h: ID!) { meetings(householdId: $h) { id } }",
            |w| json!({ "h": w.household }),
            |w| w.meeting.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Hidden),
                Cell(OtherRole, AAnalyst, Hidden),
            ],
        ),
        row(
            "query($id: ID!) { consentGaps(meetingId: $id) { unknownMembers } }",
            |w| json!({ "id": w.meeting }),
            none,
            "/id",
            None,
            vec![
                Cell(Owner, ACoord, Answers),
                Cell(NonOwner, BCoord, Unknown("meetingId")),
                Cell(OtherRole, ACw, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "query($p: ID!) { activities(personId: $p, first: 100) { edges { node { id } } } }",
            |w| json!({ "p": w.p1 }),
            |w| w.activity.clone(),
            "/p",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("personId")),
                Cell(OtherRole, AAnalyst, Unknown("personId")),
            ],
        ),
        row(
            "{ noContact(days: 30) { person { id } } }",
            |_| json!({}),
            |w| w.p1.clone(),
            "",
            None,
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Hidden),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
    ]
}

fn mutations() -> Vec<Entry> {
    vec![
        // 機関・アカウント: the registry, the admins' (city-wide).
        row(
            "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
            |_| json!({ "i": { "code": "authz-new", "name": "新規機関", "kind": "OUTREACH", "legalRegime": "PUBLIC_BODY" } }),
            none,
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!, $i: UpdateAgencyInput!) { updateAgency(id: $id, version: $v, input: $i) { id } }",
            |w| json!({ "id": w.a, "i": { "name": "改名" } }),
            |w| w.a.clone(),
            "",
            Some("agency"),
            vec![
                Cell(Owner, Admin, Ok),
                // An admin at another agency may: admins are city-wide.
                Cell(NonOwner, BAdmin, Ok),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
            |w| json!({ "i": { "login": format!("authz-{}", uuid::Uuid::new_v4().simple()), "displayName": "新規",
                "agencyId": w.a, "kind": "STAFF", "roles": ["CASEWORKER"] } }),
            none,
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                // An admin at B creates an account at A: admins are city-wide.
                Cell(NonOwner, BAdmin, Ok),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!, $i: UpdateAccountInput!) { updateAccount(id: $id, version: $v, input: $i) { id } }",
            |w| json!({ "id": w.account, "i": { "displayName": "改名" } }),
            |w| w.account.clone(),
            "",
            Some("account"),
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, Ok),
                Cell(OtherRole, ACoord, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { setAccountRoles(id: $id, version: $v, roles: [CASEWORKER, AUDITOR]) { id } }",
            |w| json!({ "id": w.account }),
            |w| w.account.clone(),
            "",
            Some("account"),
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        // 個人・世帯
        row(
            "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id } }",
            |_| json!({ "i": person_input("新", "規", "シン", "キ") }),
            none,
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, OWN_ONLY),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($r: ExternalRefInput!, $i: CreatePersonInput!) { upsertPerson(ref: $r, input: $i) { person { id } } }",
            |_| json!({ "r": { "system": "authz", "externalId": "P-1" }, "i": person_input("新", "規", "シン", "キ") }),
            none,
            "",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, OWN_ONLY),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) { updatePerson(id: $id, version: $v, input: $i) { id } }",
            |w| json!({ "id": w.p1, "i": { "givenName": "健二" } }),
            |w| w.p1.clone(),
            "/id",
            Some("person"),
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                // R knows the person by consent but does not own the record.
                Cell(NonOwner, RCw, FORBIDDEN),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        // 名寄せの結びつき
        row(
            "mutation($p: ID!, $o: ID!) { proposePersonLink(personId: $p, otherPersonId: $o) { id } }",
            |w| json!({ "p": w.p2, "o": w.p3 }),
            none,
            "/p",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("personId")),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { confirmPersonLink(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.link }),
            |w| w.link.clone(),
            "/id",
            Some("person_link"),
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Unknown("id")),
                // R's caseworker knows p1, not p4, and does not confirm anyway.
                Cell(NonOwner, RCw, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { revokePersonLink(id: $id, version: $v, reason: \"別人と判明\") { id } }",
            |w| json!({ "id": w.link }),
            |w| w.link.clone(),
            "/id",
            Some("person_link"),
            vec![
                Cell(Owner, ACoord, Ok),
                Cell(NonOwner, BCoord, Unknown("id")),
                Cell(NonOwner, RCw, Unknown("id")),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
            |w| json!({ "m": [{ "personId": w.p3, "relationship": "本人", "isHead": true }] }),
            |w| w.p3.clone(),
            "/m/0/personId",
            None,
            caseworkers("members.0.personId"),
        ),
        row(
            "mutation($r: ExternalRefInput!, $m: [MemberInput!]!) { upsertHousehold(ref: $r, members: $m) { household { id } } }",
            |w| json!({ "r": { "system": "authz", "externalId": "H-1" }, "m": [{ "personId": w.p3, "relationship": "本人", "isHead": true }] }),
            |w| w.p3.clone(),
            "/m/0/personId",
            None,
            caseworkers("members.0.personId"),
        ),
        row(
            "mutation($h: ID!, $m: MemberInput!) { addHouseholdMember(householdId: $h, member: $m) { id } }",
            |w| json!({ "h": w.household, "m": { "personId": w.p3, "relationship": "同居人" } }),
            |w| w.household.clone(),
            "/h",
            None,
            caseworkers("householdId"),
        ),
        row(
            "mutation($m: ID!) { endHouseholdMembership(memberId: $m, leftOn: \"2026-11-01\") { id } }",
            |w| json!({ "m": w.member }),
            |w| w.member.clone(),
            "/m",
            None,
            caseworkers("memberId"),
        ),
        // 相談
        row(
            "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }",
            |w| json!({ "i": { "receivedAt": "2026-10-05T09:00:00Z", "channel": "PHONE", "subjectPersonIds": [w.p1],
                "issues": [{ "code": "HIKIKOMORI", "main": true }], "summary": "電話で近況確認", "urgency": "LOW" } }),
            |w| w.p1.clone(),
            "/i/subjectPersonIds/0",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("input.subjectPersonIds.0")),
                // 生活支援コーディネーター record consultations too.
                Cell(OtherRole, ALsc, Ok),
            ],
        ),
        row(
            "mutation($r: ExternalRefInput!, $i: RecordConsultationInput!) { upsertConsultation(ref: $r, input: $i) { consultation { id } } }",
            |w| json!({ "r": { "system": "authz", "externalId": "C-1" }, "i": { "receivedAt": "2026-10-05T09:00:00Z", "channel": "PHONE", "subjectPersonIds": [w.p1],
                "issues": [{ "code": "HIKIKOMORI", "main": true }], "summary": "電話で近況確認", "urgency": "LOW" } }),
            |w| w.p1.clone(),
            "/i/subjectPersonIds/0",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("input.subjectPersonIds.0")),
                // (A 生活支援コーディネーター records consultations too, but the same reference
                // and input would only return the caseworker's record and write nothing.)
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { setConsultationStatus(id: $id, version: $v, status: CLOSED) { id } }",
            |w| json!({ "id": w.consultation }),
            |w| w.consultation.clone(),
            "/id",
            Some("consultation"),
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        // つなぎ: the receiving agency R decides.
        row(
            "mutation($id: ID!, $v: Int!) { acceptReferral(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.referral }),
            |w| w.referral.clone(),
            "/id",
            Some("referral"),
            vec![
                Cell(Owner, RCw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                // The sender may not decide for the receiver.
                Cell(NonOwner, ACw, FORBIDDEN),
                Cell(OtherRole, RAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { completeReferral(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.referral }),
            |w| w.referral.clone(),
            "/id",
            Some("referral"),
            vec![
                Cell(Owner, RCw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(NonOwner, ACw, FORBIDDEN),
                Cell(OtherRole, RAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { declineReferral(id: $id, version: $v, reason: \"対象外\") { id } }",
            |w| json!({ "id": w.referral2 }),
            |w| w.referral2.clone(),
            "/id",
            Some("referral"),
            vec![
                Cell(Owner, RCw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(NonOwner, ACw, FORBIDDEN),
                Cell(OtherRole, RAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }",
            |w| json!({ "i": { "personId": w.p1, "toAgencyId": w.r, "reason": "再度の検討を依頼" } }),
            |w| w.p1.clone(),
            "/i/personId",
            None,
            caseworkers("input.personId"),
        ),
        // 同意: the person's registering agency records and withdraws.
        row(
            "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id } }",
            |w| json!({ "i": consent_input(&w.p1, &["HEALTH"], &[&w.r], &[]) }),
            |w| w.p1.clone(),
            "/i/personId",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("input.personId")),
                // R knows the person by consent; it may not grant itself more.
                Cell(NonOwner, RCw, FORBIDDEN),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($r: ExternalRefInput!, $i: RecordConsentInput!) { upsertConsent(ref: $r, input: $i) { consent { id } } }",
            |w| json!({ "r": { "system": "authz", "externalId": "D-1" }, "i": consent_input(&w.p1, &["HEALTH"], &[&w.r], &[]) }),
            |w| w.p1.clone(),
            "/i/personId",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("input.personId")),
                Cell(NonOwner, RCw, FORBIDDEN),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id } }",
            |w| json!({ "id": w.consent2 }),
            |w| w.consent2.clone(),
            "/id",
            Some("consent"),
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                Cell(NonOwner, RCw, FORBIDDEN),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        // 緊急時アクセス
        row(
            "mutation($p: ID!) { requestEmergencyAccess(personId: $p, reason: \"安否確認が取れず生命の危険がある\") { id } }",
            |w| json!({ "p": w.p1 }),
            none,
            "",
            None,
            vec![
                // Break-glass needs no basis: that is its point. The owner needs none.
                Cell(Owner, ACw, Na("the owner has the OWN basis; break-glass is for those without one")),
                Cell(NonOwner, BCw, Ok),
                Cell(OtherRole, BLsc, FORBIDDEN),
                Cell(OtherRole, ALsc, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!) { closeEmergencyGrant(id: $id, note: \"確認済み\") { id } }",
            |w| json!({ "id": w.grant }),
            |w| w.grant.clone(),
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                // The grantee may not close (and so end the review of) its own grant.
                Cell(OtherRole, RCw, FORBIDDEN),
                Cell(OtherRole, ACoord, FORBIDDEN),
            ],
        ),
        // 社会資源・参加支援
        row(
            "mutation($i: ResourceInput!) { createCommunityResource(input: $i) { id } }",
            |_| json!({ "i": { "kind": "GATHERING_PLACE", "name": "地域の通いの場" } }),
            none,
            "",
            None,
            vec![
                Cell(Owner, ALsc, Ok),
                Cell(NonOwner, BLsc, OWN_ONLY),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!, $i: ResourceInput!) { updateCommunityResource(id: $id, version: $v, input: $i) { id } }",
            |w| json!({ "id": w.resource, "i": { "kind": "SALON", "name": "ふれあいサロン（改）" } }),
            |w| w.resource.clone(),
            "",
            Some("community_resource"),
            vec![
                Cell(Owner, ALsc, Ok),
                // Public, so known to B: refused, not hidden.
                Cell(NonOwner, BLsc, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation($p: ID!, $r: ID!) { startPlacement(personId: $p, resourceId: $r, startedOn: \"2026-11-01\") { id } }",
            |w| json!({ "p": w.p3, "r": w.resource }),
            |w| w.p3.clone(),
            "/p",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("personId")),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { setPlacementStatus(id: $id, version: $v, status: PAUSED) { id } }",
            |w| json!({ "id": w.placement }),
            |w| w.placement.clone(),
            "/id",
            Some("participation_placement"),
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("id")),
                // R sees the placement (PLAN consent) but did not record it.
                Cell(NonOwner, RCw, FORBIDDEN),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        // 支援ケース: A's coordinators write, its caseworkers only read.
        row(
            "mutation($i: OpenCaseInput!) { openCase(input: $i) { id } }",
            |w| json!({ "i": { "householdId": w.household2, "openedOn": "2026-10-01" } }),
            |w| w.household2.clone(),
            "/i/householdId",
            None,
            coordinators("input.householdId"),
        ),
        row(
            "mutation($c: ID!, $i: SupportDecisionInput!) { recordSupportDecision(caseId: $c, input: $i) { id } }",
            |w| json!({ "c": w.case, "i": { "decidedOn": "2026-10-05", "decider": "福祉部長", "basis": "実施要綱 第5条" } }),
            |w| w.case.clone(),
            "/c",
            None,
            coordinators("caseId"),
        ),
        row(
            "mutation($p: ID!) { recordPlanAgreement(planId: $p, agreedOn: \"2026-10-12\", method: SIGNED) { id } }",
            |w| json!({ "p": w.plan }),
            |w| w.plan.clone(),
            "/p",
            None,
            coordinators("planId"),
        ),
        row(
            "mutation($c: ID!, $i: PlanInput!) { createPlanVersion(caseId: $c, input: $i) { id } }",
            |w| json!({ "c": w.case, "i": plan_input(&w.a) }),
            |w| w.case.clone(),
            "/c",
            None,
            coordinators("caseId"),
        ),
        row(
            "mutation($id: ID!, $v: Int!) { advanceCase(id: $id, version: $v, to: PLANNING) { id } }",
            |w| json!({ "id": w.case }),
            |w| w.case.clone(),
            "/id",
            Some("support_case"),
            coordinators("id"),
        ),
        row(
            "mutation($c: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $c, input: $i) { id } }",
            |w| json!({ "c": w.case, "i": { "agencyId": w.city, "role": "SUPPORTING", "startedOn": "2026-10-02" } }),
            |w| w.case.clone(),
            "/c",
            None,
            coordinators("caseId"),
        ),
        row(
            "mutation($id: ID!, $v: Int!) { endInvolvement(id: $id, version: $v, endedOn: \"2026-10-20\") { id } }",
            |w| json!({ "id": w.involvement }),
            |w| w.involvement.clone(),
            "/id",
            Some("case_involvement"),
            coordinators("id"),
        ),
        row(
            "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { suspendCase(id: $id, version: $v, decision: $d) { id } }",
            |w| json!({ "id": w.case, "d": decision("REFUSED") }),
            |w| w.case.clone(),
            "/id",
            Some("support_case"),
            coordinators("id"),
        ),
        row(
            "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { resumeCase(id: $id, version: $v, decision: $d) { id } }",
            |w| json!({ "id": w.case, "d": decision("OTHER") }),
            |w| w.case.clone(),
            "/id",
            Some("support_case"),
            coordinators("id"),
        ),
        row(
            "mutation($id: ID!, $v: Int!, $d: CaseDecisionInput!) { closeCase(id: $id, version: $v, decision: $d) { id } }",
            |w| json!({ "id": w.case, "d": decision("GOAL_ACHIEVED") }),
            |w| w.case.clone(),
            "/id",
            Some("support_case"),
            coordinators("id"),
        ),
        // 会議
        row(
            "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }",
            |w| json!({ "i": { "kind": "CASE_CONFERENCE", "householdId": w.household, "heldAt": "2026-11-01T10:00:00Z",
                "participantAgencyIds": [w.r], "categories": [] } }),
            |w| w.household.clone(),
            "/i/householdId",
            None,
            coordinators("input.householdId"),
        ),
        row(
            "mutation($id: ID!, $v: Int!) { updateMeetingMinutes(id: $id, version: $v, minutes: \"役割分担を確認\") { id } }",
            |w| json!({ "id": w.meeting }),
            |w| w.meeting.clone(),
            "/id",
            Some("meeting"),
            coordinators("id"),
        ),
        // 活動
        row(
            "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
            |w| json!({ "i": { "kind": "MONITORING", "personId": w.p1, "occurredOn": "2026-11-01", "note": "電話で近況確認" } }),
            |w| w.p1.clone(),
            "/i/personId",
            None,
            vec![
                Cell(Owner, ACw, Ok),
                Cell(NonOwner, BCw, Unknown("input.personId")),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
            ],
        ),
        row(
            "mutation($i: CreateServiceClientInput!) { createServiceClient(input: $i) { client { id } } }",
            |w| json!({ "i": { "accountId": w.service_account, "name": "二つ目の連携", "scopes": ["INTEGRATION"] } }),
            none,
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                // Admins are city-wide: an admin at B issues a client to A's system.
                Cell(NonOwner, BAdmin, Ok),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation { setTarget(fiscalYear: 2026, indicator: CONSULTATIONS, value: 120) { version } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation { setStatisticsMeasure(group: MEETINGS, enabled: true) { group enabled } }",
            |_| json!({}),
            none,
            "",
            None,
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, AAnalyst, FORBIDDEN),
                Cell(OtherRole, AAuditor, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { rotateServiceClientSecret(id: $id, version: $v) { client { id } } }",
            |w| json!({ "id": w.client }),
            |w| w.client.clone(),
            "",
            Some("service_client"),
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, Ok),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { revokeServiceClient(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.client }),
            |w| w.client.clone(),
            "",
            Some("service_client"),
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        // Near the end: the account the registry rows changed is deactivated, then reactivated.
        row(
            "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.account }),
            |w| w.account.clone(),
            "",
            Some("account"),
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
        row(
            "mutation($id: ID!, $v: Int!) { reactivateAccount(id: $id, version: $v) { id } }",
            |w| json!({ "id": w.account }),
            |w| w.account.clone(),
            "",
            Some("account"),
            vec![
                Cell(Owner, Admin, Ok),
                Cell(NonOwner, BAdmin, CITY_WIDE),
                Cell(OtherRole, ACoord, FORBIDDEN),
                Cell(OtherRole, ACw, FORBIDDEN),
            ],
        ),
    ]
}
