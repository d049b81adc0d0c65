//! Input as people type it (README §5): phones, names and addresses folded per field kind,
//! invisible characters refused, a date alone for a consent's period, every invalid field of
//! an input reported at once (one error per field, nothing written), and `persons(name:)`
//! under exactly the visibility of `persons(kana:)`.

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Gql, Server};

use crate::inputs::{caseworker, person_row};

tests!(
    phones_as_typed_are_stored_half_width,
    names_and_addresses_are_folded,
    invisible_characters_are_refused,
    every_invalid_field_is_reported_at_once,
    resources_and_consultations_report_every_invalid_field,
    referrals_and_households_report_every_invalid_field,
    cases_report_every_invalid_field,
    plans_report_every_invalid_field,
    meetings_and_activities_report_every_invalid_field,
    registry_and_clients_report_every_invalid_field,
    consent_period_accepts_a_date,
    persons_by_name_as_written,
    hidden_person_is_not_found_by_name_and_takes_no_place
);

const CREATE_PERSON: &str = "mutation($i: CreatePersonInput!) { createPerson(input: $i) { id familyName givenName address district phone } }";
const UPDATE_PERSON: &str = "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) { updatePerson(id: $id, version: $v, input: $i) { id version familyName phone } }";
const RECORD_CONSENT: &str =
    "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id validFrom validUntil } }";
const BY_NAME: &str = "query($n: String, $f: Int) { persons(name: $n, first: $f) { nodes { id familyName givenName } pageInfo { hasNextPage } } }";

/// The response's errors as (code, field), checking each is bilingual and nothing is shown.
fn fields_of(r: &Gql) -> Vec<(String, String)> {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.data(), &Value::Null, "{}", r.body);
    r.errors()
        .iter()
        .map(|e| {
            let message = e["message"].as_str().unwrap_or_default();
            assert!(message.contains(" / "), "bilingual: {}", r.body);
            (
                e["extensions"]["code"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_owned(),
                e["extensions"]["field"]
                    .as_str()
                    .unwrap_or("<none>")
                    .to_owned(),
            )
        })
        .collect()
}

fn bad(fields: &[&str]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|f| ("BAD_USER_INPUT".to_owned(), (*f).to_owned()))
        .collect()
}

async fn phones_as_typed_are_stored_half_width(srv: &Server) {
    let (_, tok) = caseworker(srv, "tel-a", "SELF_RELIANCE").await;
    for (typed, stored) in [
        ("０２３５－２２－１２３４", "0235-22-1234"),
        ("0235 22 1234", "0235-22-1234"),
        ("(0235)22-1234", "0235-22-1234"),
        ("（０２３５）２２ー１２３４", "0235-22-1234"),
        ("090ー1234ー5678", "090-1234-5678"),
        ("090‐1234−5678", "090-1234-5678"),
    ] {
        let mut input = person_input("電話", "花子", "デンワ", "ハナコ");
        input["phone"] = json!(typed);
        let r = srv.gql(&tok, CREATE_PERSON, json!({ "i": input })).await;
        let d = &r.ok()["createPerson"];
        assert_eq!(d["phone"], stored, "{typed}");
        let row = person_row(srv, d["id"].as_str().unwrap()).await;
        assert_eq!(row.phone.as_deref(), Some(stored), "{typed}");
    }
    // Anything else is refused, saying 半角 (half-width), and nothing is written.
    for typed in ["0235-22-1234 内線5", "call me", "12+34"] {
        let mut input = person_input("電話", "花子", "デンワ", "ハナコ");
        input["phone"] = json!(typed);
        let before = srv.snapshot().await;
        let r = srv.gql(&tok, CREATE_PERSON, json!({ "i": input })).await;
        assert_eq!(fields_of(&r), bad(&["input.phone"]), "{typed}");
        let message = r.errors()[0]["message"].as_str().unwrap().to_owned();
        assert!(
            message.contains("半角") && message.contains("half-width"),
            "{message}"
        );
        srv.assert_unchanged(&before, "a refused request").await;
    }
    // An update folds the same way.
    let p = srv
        .person(&tok, person_input("電話", "次郎", "デンワ", "ジロウ"))
        .await;
    let r = srv
        .gql(
            &tok,
            UPDATE_PERSON,
            json!({ "id": p, "v": 1, "i": { "phone": "（0235） 22 1234" } }),
        )
        .await;
    assert_eq!(r.ok()["updatePerson"]["phone"], "0235-22-1234");
}

async fn names_and_addresses_are_folded(srv: &Server) {
    let (_, tok) = caseworker(srv, "fold-a", "SELF_RELIANCE").await;
    let mut input = person_input("ＪＯＨＮ", "ｽﾐｽ", "ジョン", "スミス");
    input["address"] = json!("　鶴岡市本町一丁目９－２５　ﾊﾟｰｸﾊｲﾂ１０１ ");
    input["district"] = json!("中央圏域\u{3000}");
    let r = srv.gql(&tok, CREATE_PERSON, json!({ "i": input })).await;
    let d = r.ok()["createPerson"].clone();
    assert_eq!(d["familyName"], "JOHN");
    assert_eq!(d["givenName"], "スミス");
    assert_eq!(d["address"], "鶴岡市本町一丁目9-25 パークハイツ101");
    assert_eq!(d["district"], "中央圏域");
    let row = person_row(srv, d["id"].as_str().unwrap()).await;
    assert_eq!(
        (row.family_name.as_str(), row.given_name.as_str()),
        ("JOHN", "スミス")
    );
    // Kept as typed: kanji (a CJK compatibility ideograph and an 異体字 sequence too),
    // hiragana and full-width katakana.
    for (family, given) in [
        ("髙橋", "\u{FA11}子"),
        ("\u{FA19}田", "花子"),
        ("葛\u{E0100}城", "やよい"),
        ("山田", "ケイコ"),
    ] {
        let r = srv
            .gql(
                &tok,
                CREATE_PERSON,
                json!({ "i": person_input(family, given, "タカハシ", "サキコ") }),
            )
            .await;
        let d = &r.ok()["createPerson"];
        assert_eq!(
            (d["familyName"].as_str(), d["givenName"].as_str()),
            (Some(family), Some(given))
        );
    }
    // The district filter folds like the stored district.
    let r = srv
        .gql(
            &tok,
            "query($d: String) { persons(district: $d) { nodes { familyName } } }",
            json!({ "d": "　中央圏域 " }),
        )
        .await;
    let names: Vec<&str> = r.ok()["persons"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["familyName"].as_str())
        .collect();
    assert!(names.contains(&"JOHN"), "{names:?}");
}

async fn invisible_characters_are_refused(srv: &Server) {
    let (_, tok) = caseworker(srv, "zw-a", "SELF_RELIANCE").await;
    for (key, value, field, shown) in [
        ("familyName", "山田\u{200B}", "input.familyName", "U+200B"),
        ("givenName", "\u{FEFF}花子", "input.givenName", "U+FEFF"),
        ("address", "鶴岡市\u{202E}本町", "input.address", "U+202E"),
        ("familyName", "山\u{00AD}田", "input.familyName", "U+00AD"),
        ("district", "中央\n圏域", "input.district", "U+000A"),
    ] {
        let mut input = person_input("山田", "花子", "ヤマダ", "ハナコ");
        input[key] = json!(value);
        let before = srv.snapshot().await;
        let r = srv.gql(&tok, CREATE_PERSON, json!({ "i": input })).await;
        assert_eq!(fields_of(&r), bad(&[field]), "{value:?}");
        let message = r.errors()[0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(shown), "{message}");
        srv.assert_unchanged(&before, "a refused request").await;
    }
    // An update too, leaving the person as it was.
    let p = srv
        .person(&tok, person_input("山田", "花子", "ヤマダ", "ハナコ"))
        .await;
    let row = person_row(srv, &p).await;
    let r = srv
        .gql(
            &tok,
            UPDATE_PERSON,
            json!({ "id": p, "v": 1, "i": { "familyName": "山\u{200D}田" } }),
        )
        .await;
    assert_eq!(fields_of(&r), bad(&["input.familyName"]));
    assert_eq!(person_row(srv, &p).await, row);
}

async fn every_invalid_field_is_reported_at_once(srv: &Server) {
    let (_, tok) = caseworker(srv, "all-a", "SELF_RELIANCE").await;
    let mut input = person_input("山\u{200B}田", "花子", "Yamada", "ハナコ");
    input["birthDate"] = json!("2999-01-01");
    input["phone"] = json!("call me");
    input["address"] = json!("町".repeat(301));
    let before = srv.snapshot().await;
    let r = srv.gql(&tok, CREATE_PERSON, json!({ "i": input })).await;
    assert_eq!(
        fields_of(&r),
        bad(&[
            "input.familyName",
            "input.familyNameKana",
            "input.birthDate",
            "input.address",
            "input.phone",
        ]),
        "{}",
        r.body
    );
    for e in r.errors() {
        assert_eq!(e["path"], json!(["createPerson"]), "{}", r.body);
    }
    srv.assert_unchanged(&before, "nothing written").await;

    // An update: each bad field its own error, the person unchanged.
    let p = srv
        .person(&tok, person_input("山田", "花子", "ヤマダ", "ハナコ"))
        .await;
    let row = person_row(srv, &p).await;
    let r = srv
        .gql(
            &tok,
            UPDATE_PERSON,
            json!({ "id": p, "v": 1, "i": { "givenName": " ", "givenNameKana": "Hanako", "phone": "内線" } }),
        )
        .await;
    assert_eq!(
        fields_of(&r),
        bad(&["input.givenName", "input.givenNameKana", "input.phone"])
    );
    assert_eq!(person_row(srv, &p).await, row);

    // A consent: no category, no recipient, a bad start, a proxy given for the person's own.
    let mut input = consent_input(&p, &[], &[], &[]);
    input["validFrom"] = json!("yesterday");
    input["proxyName"] = json!("山田 一郎");
    let before = srv.snapshot().await;
    let r = srv.gql(&tok, RECORD_CONSENT, json!({ "i": input })).await;
    assert_eq!(
        fields_of(&r),
        bad(&[
            "input.categories",
            "input.recipientAgencyIds",
            "input.validFrom",
            "input.proxyName",
        ]),
        "{}",
        r.body
    );
    srv.assert_unchanged(&before, "nothing written").await;
    // A single bad field is still a single error.
    let mut input = consent_input(&p, &["IDENTITY"], &[], &["DISABILITY"]);
    input["validUntil"] = json!("2000-01-01");
    let r = srv.gql(&tok, RECORD_CONSENT, json!({ "i": input })).await;
    assert_eq!(fields_of(&r), bad(&["input.validUntil"]));
}

async fn resources_and_consultations_report_every_invalid_field(srv: &Server) {
    let shakyo = srv.agency("rc-shakyo", "COMMUNITY_BUILDING").await;
    let (_, lsc) = srv
        .account("rc-lsc", &shakyo, &["life_support_coordinator"])
        .await;
    let create =
        "mutation($i: ResourceInput!) { createCommunityResource(input: $i) { id name district } }";
    let bad_resource = json!({ "kind": "SALON", "name": "サロン\u{200B}", "district": "中央\n圏域",
        "capacity": -1, "contact": "x".repeat(301) });
    let before = srv.snapshot().await;
    let r = srv.gql(&lsc, create, json!({ "i": bad_resource })).await;
    assert_eq!(
        fields_of(&r),
        bad(&[
            "input.name",
            "input.district",
            "input.capacity",
            "input.contact"
        ])
    );
    srv.assert_unchanged(&before, "a refused request").await;
    // The name and district fold as typed, and the district filter folds the same way.
    let r = srv
        .gql(
            &lsc,
            create,
            json!({ "i": { "kind": "SALON", "name": "ｻﾛﾝ本町", "district": "中央圏域　" } }),
        )
        .await;
    let d = &r.ok()["createCommunityResource"];
    assert_eq!(
        (d["name"].as_str(), d["district"].as_str()),
        (Some("サロン本町"), Some("中央圏域"))
    );
    let r = srv
        .gql(
            &lsc,
            "{ communityResources(district: \"　中央圏域\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["communityResources"][0]["name"], "サロン本町");

    let (_, tok) = caseworker(srv, "rc-a", "SELF_RELIANCE").await;
    let p = srv
        .person(&tok, person_input("相談", "花子", "ソウダン", "ハナコ"))
        .await;
    let record = "mutation($i: RecordConsultationInput!) { recordConsultation(input: $i) { id } }";
    let before = srv.snapshot().await;
    let r = srv
        .gql(
            &tok,
            record,
            json!({ "i": { "receivedAt": "2999-01-01T00:00:00Z", "channel": "VISIT", "subjectPersonIds": [p],
                "issues": [{ "code": "NO_SUCH_ISSUE", "main": false }, { "code": "HIKIKOMORI", "main": false }],
                "summary": " ", "urgency": "HIGH" } }),
        )
        .await;
    assert_eq!(
        fields_of(&r),
        bad(&[
            "input.receivedAt",
            "input.summary",
            "input.issues.0.code",
            "input.issues"
        ]),
        "{}",
        r.body
    );
    srv.assert_unchanged(&before, "a refused request").await;
}

/// `query` with `variables` as `token` answers one BAD_USER_INPUT per field in `fields`, in
/// order, and writes nothing (not even a ledger row).
async fn all_reported(srv: &Server, token: &str, query: &str, variables: Value, fields: &[&str]) {
    let before = srv.snapshot().await;
    let r = srv.gql(token, query, variables).await;
    assert_eq!(fields_of(&r), bad(fields), "{query}: {}", r.body);
    srv.assert_unchanged(&before, format!("nothing written: {query}"))
        .await;
}

async fn referrals_and_households_report_every_invalid_field(srv: &Server) {
    let (a, tok) = caseworker(srv, "allref-a", "SELF_RELIANCE").await;
    let p = srv
        .person(&tok, person_input("紹介", "花子", "ショウカイ", "ハナコ"))
        .await;
    all_reported(
        srv,
        &tok,
        "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }",
        json!({ "i": { "personId": "x", "toAgencyId": a, "consultationId": "y", "reason": " " } }),
        &[
            "input.personId",
            "input.toAgencyId",
            "input.consultationId",
            "input.reason",
        ],
    )
    .await;
    // The records the input names are looked up only once every value is valid.
    let propose = "mutation($i: ProposeReferralInput!) { proposeReferral(input: $i) { id } }";
    let b = srv.agency("allref-b", "DISABILITY").await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    all_reported(
        srv,
        &tok,
        propose,
        json!({ "i": { "personId": unknown, "toAgencyId": b, "reason": "" } }),
        &["input.reason"],
    )
    .await;
    let r = srv
        .gql(
            &tok,
            propose,
            json!({ "i": { "personId": unknown, "toAgencyId": b, "reason": "就労の相談" } }),
        )
        .await;
    assert_eq!(
        fields_of(&r),
        vec![("NOT_FOUND".to_owned(), "input.personId".to_owned())]
    );
    all_reported(
        srv,
        &tok,
        "mutation($m: [MemberInput!]!) { createHousehold(members: $m) { id } }",
        json!({ "m": [
            { "personId": "x", "relationship": " ", "isHead": true },
            { "personId": p, "relationship": "家族", "isHead": true, "joinedOn": "2026/01/01" },
            { "personId": p, "relationship": "家族" },
        ] }),
        &[
            "members.0.personId",
            "members.0.relationship",
            "members.1.joinedOn",
            "members.2.personId",
            "members",
        ],
    )
    .await;
    let h = srv.household(&tok, &[&p]).await;
    all_reported(
        srv,
        &tok,
        "mutation($h: ID!, $m: MemberInput!) { addHouseholdMember(householdId: $h, member: $m) { id } }",
        json!({ "h": h, "m": { "personId": "x", "relationship": "", "joinedOn": "someday" } }),
        &["member.personId", "member.relationship", "member.joinedOn"],
    )
    .await;
}

/// A coordinator of a new agency and an open case of a new household: (agency, token,
/// case id, case version).
async fn open_case(srv: &Server, code: &str) -> (String, String, String, i64) {
    let agency = srv.agency(code, "MULTI_AGENCY").await;
    let (_, tok) = srv
        .account(
            &format!("{code}-coord"),
            &agency,
            &["coordinator", "caseworker"],
        )
        .await;
    let p = srv
        .person(&tok, person_input("支援", "花子", "シエン", "ハナコ"))
        .await;
    let h = srv.household(&tok, &[&p]).await;
    let (case, version) = crate::cases::open(srv, &tok, &h).await;
    (agency, tok, case, version)
}

async fn cases_report_every_invalid_field(srv: &Server) {
    let (_, tok, case, version) = open_case(srv, "allcase-a").await;
    all_reported(
        srv,
        &tok,
        "mutation($i: OpenCaseInput!) { openCase(input: $i) { id } }",
        json!({ "i": { "householdId": "x", "openedOn": "2026-02-30", "leadAccountId": "y" } }),
        &["input.householdId", "input.openedOn", "input.leadAccountId"],
    )
    .await;
    all_reported(
        srv,
        &tok,
        "mutation($c: ID!, $i: SupportDecisionInput!) { recordSupportDecision(caseId: $c, input: $i) { id } }",
        json!({ "c": case, "i": { "decidedOn": "2026-09-30", "decider": " ", "basis": "", "meetingId": "m" } }),
        &["input.decidedOn", "input.decider", "input.meetingId", "input.basis"],
    )
    .await;
    for op in ["suspendCase", "closeCase"] {
        all_reported(
            srv,
            &tok,
            &format!("mutation($c: ID!, $v: Int!, $d: CaseDecisionInput!) {{ {op}(id: $c, version: $v, decision: $d) {{ id }} }}"),
            json!({ "c": case, "v": version, "d": { "decidedOn": "2026-13-01", "decider": "", "reason": "OTHER",
                "meetingId": "m", "note": "x".repeat(4001) } }),
            &["decision.decidedOn", "decision.decider", "decision.meetingId", "decision.note"],
        )
        .await;
    }
    all_reported(
        srv,
        &tok,
        "mutation($c: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $c, input: $i) { id } }",
        json!({ "c": case, "i": { "agencyId": "x", "role": "SUPPORTING", "startedOn": "soon" } }),
        &["input.agencyId", "input.startedOn"],
    )
    .await;
    let r = srv
        .gql(
            &tok,
            "query($c: ID!) { supportCase(id: $c) { status version } }",
            json!({ "c": case }),
        )
        .await;
    assert_eq!(
        r.ok()["supportCase"],
        json!({ "status": "ASSESSMENT", "version": version })
    );
}

async fn plans_report_every_invalid_field(srv: &Server) {
    let (a, tok, case, _) = open_case(srv, "allplan-a").await;
    all_reported(
        srv,
        &tok,
        "mutation($c: ID!, $i: PlanInput!) { createPlanVersion(caseId: $c, input: $i) { id } }",
        json!({ "c": case, "i": { "wishes": " ", "longTermGoal": "", "shortTermGoals": ["外出する", " "],
            "nextReviewOn": "later", "assignments": [
                { "agencyId": "x", "role": "LEAD", "task": "" },
                { "agencyId": a, "role": "LEAD", "task": "見守り", "dueOn": "2027-02-30",
                  "contactFrequency": "月".repeat(201) },
            ] } }),
        &[
            "input.wishes",
            "input.longTermGoal",
            "input.shortTermGoals.1",
            "input.nextReviewOn",
            "input.assignments",
            "input.assignments.0.agencyId",
            "input.assignments.0.task",
            "input.assignments.1.contactFrequency",
            "input.assignments.1.dueOn",
        ],
    )
    .await;
}

async fn meetings_and_activities_report_every_invalid_field(srv: &Server) {
    let (a, tok, _, _) = open_case(srv, "allmeet-a").await;
    let b = srv.agency("allmeet-b", "DISABILITY").await;
    all_reported(
        srv,
        &tok,
        "mutation($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }",
        json!({ "i": { "kind": "SUPPORT_MEETING", "householdId": "x", "caseId": "y", "heldAt": "tomorrow",
            "participantAgencyIds": [b, a, b], "categories": ["HEALTH", "HEALTH"],
            "periodFrom": "2026-12-01", "periodUntil": "2026-11-01" } }),
        &[
            "input.householdId",
            "input.caseId",
            "input.heldAt",
            "input.participantAgencyIds.2",
            "input.categories.1",
            "input.periodUntil",
        ],
    )
    .await;
    all_reported(
        srv,
        &tok,
        "mutation($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
        json!({ "i": { "kind": "OUTREACH_VISIT", "personId": "x", "caseId": "y", "occurredOn": "2999-01-01",
            "stage": "CONTACT", "nextPlannedOn": "2998-01-01", "note": " " } }),
        &[
            "input.personId",
            "input.occurredOn",
            "input.result",
            "input.nextPlannedOn",
            "input.caseId",
            "input.note",
        ],
    )
    .await;
}

async fn registry_and_clients_report_every_invalid_field(srv: &Server) {
    let admin = srv.admin_token.clone();
    all_reported(
        srv,
        &admin,
        "mutation($i: CreateAgencyInput!) { createAgency(input: $i) { id } }",
        json!({ "i": { "code": "a b", "name": " ", "kind": "DISABILITY", "legalRegime": "PRIVATE_OPERATOR" } }),
        &["input.code", "input.name"],
    )
    .await;
    all_reported(
        srv,
        &admin,
        "mutation($i: UpdateAgencyInput!) { updateAgency(id: \"x\", version: 1, input: $i) { id } }",
        json!({ "i": { "name": " " } }),
        &["id", "input.name"],
    )
    .await;
    all_reported(
        srv,
        &admin,
        "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
        json!({ "i": { "login": "a b", "displayName": " ", "agencyId": "x", "kind": "STAFF", "roles": [] } }),
        &["input.login", "input.displayName", "input.agencyId"],
    )
    .await;
    let agency = srv.agency("allreg-a", "DISABILITY").await;
    let (account, _) = srv.account("allreg-cw", &agency, &["caseworker"]).await;
    all_reported(
        srv,
        &admin,
        "mutation($id: ID!, $i: UpdateAccountInput!) { updateAccount(id: $id, version: 1, input: $i) { id } }",
        json!({ "id": account, "i": { "displayName": " ", "agencyId": "x" } }),
        &["input.displayName", "input.agencyId"],
    )
    .await;
    all_reported(
        srv,
        &admin,
        "mutation($i: CreateServiceClientInput!) { createServiceClient(input: $i) { clientSecret } }",
        json!({ "i": { "accountId": "x", "name": " ", "scopes": [] } }),
        &["input.accountId", "input.name", "input.scopes"],
    )
    .await;
}

async fn consent_period_accepts_a_date(srv: &Server) {
    let (_, tok) = caseworker(srv, "day-a", "SELF_RELIANCE").await;
    let (b, b_tok) = caseworker(srv, "day-b", "DISABILITY").await;
    let p = srv
        .person(&tok, person_input("日付", "花子", "ヒヅケ", "ハナコ"))
        .await;
    // A date alone is 00:00 Asia/Tokyo that day (a future consent: not in effect yet).
    let mut input = consent_input(&p, &["IDENTITY"], &[&b], &[]);
    input["validFrom"] = json!("2030-12-01");
    input["validUntil"] = json!("2031-12-01");
    let r = srv.gql(&tok, RECORD_CONSENT, json!({ "i": input })).await;
    let c = &r.ok()["recordConsent"];
    assert_eq!(c["validFrom"], "2030-11-30T15:00:00Z");
    assert_eq!(c["validUntil"], "2031-11-30T15:00:00Z");
    // From today's date in the city's calendar, the consent is in effect at once.
    let today = (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive();
    let q = "query($p: ID!) { person(id: $p) { familyName } }";
    srv.gql(&b_tok, q, json!({ "p": p }))
        .await
        .only_error("NOT_FOUND");
    let mut input = consent_input(&p, &["IDENTITY"], &[&b], &[]);
    input["validFrom"] = json!(today.to_string());
    input["validUntil"] = json!((today + chrono::Duration::days(1)).to_string());
    srv.gql(&tok, RECORD_CONSENT, json!({ "i": input }))
        .await
        .ok();
    let r = srv.gql(&b_tok, q, json!({ "p": p })).await;
    assert_eq!(r.ok()["person"]["familyName"], "日付");
    // Neither a date nor a date-time: refused, naming the field.
    for bad_value in ["2026-13-01", "2026/12/01", "12月1日"] {
        let mut input = consent_input(&p, &["IDENTITY"], &[&b], &[]);
        input["validFrom"] = json!(bad_value);
        let r = srv.gql(&tok, RECORD_CONSENT, json!({ "i": input })).await;
        assert_eq!(fields_of(&r), bad(&["input.validFrom"]), "{bad_value}");
    }
}

fn names(r: &Gql) -> Vec<String> {
    let mut out: Vec<String> = r.ok()["persons"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            format!(
                "{} {}",
                n["familyName"].as_str().unwrap(),
                n["givenName"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

async fn persons_by_name_as_written(srv: &Server) {
    let (_, tok) = caseworker(srv, "name-a", "SELF_RELIANCE").await;
    for (f, g, fk, gk) in [
        ("山田", "健一", "ヤマダ", "ケンイチ"),
        ("山田", "花子", "ヤマダ", "ハナコ"),
        ("山本", "一郎", "ヤマモト", "イチロウ"),
        ("JOHN", "SMITH", "ジョン", "スミス"),
    ] {
        srv.person(&tok, person_input(f, g, fk, gk)).await;
    }
    for (query, want) in [
        ("山田", vec!["山田 健一", "山田 花子"]),
        ("山", vec!["山本 一郎", "山田 健一", "山田 花子"]),
        ("山田 健一", vec!["山田 健一"]),
        ("山田　健", vec!["山田 健一"]),
        ("山田健一", vec!["山田 健一"]),
        ("ＪＯＨＮ Ｓ", vec!["JOHN SMITH"]),
        ("john", vec![]),
        ("健一", vec![]),
        ("100%", vec![]),
        ("山_", vec![]),
    ] {
        let r = srv.gql(&tok, BY_NAME, json!({ "n": query })).await;
        assert_eq!(names(&r), want, "{query}");
    }
    // With the kana filter, both must match.
    let r = srv
        .gql(
            &tok,
            "{ persons(name: \"山田\", kana: \"ヤマダケ\") { nodes { familyName givenName } } }",
            json!({}),
        )
        .await;
    assert_eq!(names(&r), vec!["山田 健一"]);
    // A name query is checked like a stored name.
    let before = srv.snapshot().await;
    let r = srv.gql(&tok, BY_NAME, json!({ "n": "山\u{200B}田" })).await;
    let e = r.only_error("BAD_USER_INPUT");
    assert_eq!(e["extensions"]["field"], "name", "{}", r.body);
    srv.assert_unchanged(&before, "a refused request").await;
}

async fn hidden_person_is_not_found_by_name_and_takes_no_place(srv: &Server) {
    let (a, a_tok) = caseworker(srv, "hid-a", "SELF_RELIANCE").await;
    let (_, b_tok) = caseworker(srv, "hid-b", "DISABILITY").await;
    srv.person(&a_tok, person_input("山田", "健一", "ヤマダ", "ケンイチ"))
        .await;
    srv.person(&a_tok, person_input("山田", "花子", "ヤマダ", "ハナコ"))
        .await;
    // Registered by B after A's (so its id sorts last), unknown to A.
    let hidden = srv
        .person(&b_tok, person_input("山田", "秘子", "ヤマダ", "ヒミコ"))
        .await;
    let page = |r: &Gql| r.ok()["persons"]["pageInfo"]["hasNextPage"].clone();
    let r = srv
        .gql(&a_tok, BY_NAME, json!({ "n": "山田", "f": 2 }))
        .await;
    assert_eq!(names(&r), vec!["山田 健一", "山田 花子"]);
    assert_eq!(page(&r), json!(false), "the hidden person takes no place");
    let r = srv.gql(&a_tok, BY_NAME, json!({ "n": "山田 秘" })).await;
    assert_eq!(names(&r), Vec::<String>::new());
    // A consent that does not cover IDENTITY does not make the person known.
    srv.consent(&b_tok, consent_input(&hidden, &["CONTACT"], &[&a], &[]))
        .await;
    let r = srv.gql(&a_tok, BY_NAME, json!({ "n": "山田 秘" })).await;
    assert_eq!(names(&r), Vec::<String>::new());
    let r = srv
        .gql(&a_tok, BY_NAME, json!({ "n": "山田", "f": 2 }))
        .await;
    assert_eq!(page(&r), json!(false));
    // Once B's person consents to IDENTITY for A, A finds them by name, and they take a place.
    srv.consent(&b_tok, consent_input(&hidden, &["IDENTITY"], &[&a], &[]))
        .await;
    let r = srv.gql(&a_tok, BY_NAME, json!({ "n": "山田 秘" })).await;
    assert_eq!(names(&r), vec!["山田 秘子"]);
    let r = srv
        .gql(&a_tok, BY_NAME, json!({ "n": "山田", "f": 2 }))
        .await;
    assert_eq!(page(&r), json!(true));
    // The match is a read of the person's name: ledgered as IDENTITY shown.
    let ledger = srv.ledger().await;
    let last = ledger
        .iter()
        .rev()
        .find(|row| row.subject_person_id.as_deref() == Some(hidden.as_str()))
        .unwrap();
    assert!(last.shown.contains("IDENTITY"), "{last:?}");
}
