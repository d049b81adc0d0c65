//! What a municipal admin and the staff who record consent do in the console, each checked
//! against what the API itself answers for the same token.

use futures::FutureExt;
use serde_json::{json, Value};
use tsunagi_tests::{person_input, Server};

use crate::browser::{Browser, ENTER, RIGHT, SPACE, TAB};
use crate::Test;

pub fn all() -> Vec<(&'static str, Test)> {
    vec![
        ("offline_pages_render", |s, b| {
            offline_pages_render(s, b).boxed()
        }),
        ("consent_changes_another_agencys_view", |s, b| {
            consent_changes_another_agencys_view(s, b).boxed()
        }),
        ("deactivation_refuses_the_next_request", |s, b| {
            deactivation_refuses_the_next_request(s, b).boxed()
        }),
        ("ledger_chain_and_emergency_grants", |s, b| {
            ledger_chain_and_emergency_grants(s, b).boxed()
        }),
        ("caseworker_gets_only_what_the_api_gives", |s, b| {
            caseworker_gets_only_what_the_api_gives(s, b).boxed()
        }),
        ("evaluation_targets_and_csv", |s, b| {
            evaluation_targets_and_csv(s, b).boxed()
        }),
        ("pages_pass_axe_and_are_photographed", |s, b| {
            pages_pass_axe_and_are_photographed(s, b).boxed()
        }),
    ]
}

async fn clean(b: &Browser, page: &str) {
    let (foreign, blocked) = b.foreign_and_blocked().await;
    assert!(
        foreign.is_empty(),
        "{page} loaded from another origin: {foreign:?}"
    );
    assert!(blocked.is_empty(), "{page} had CSP violations: {blocked:?}");
}

/// GraphiQL and the console render with the network blocked, load nothing from another
/// origin, break no CSP rule, and GraphiQL runs a query with the console's token.
async fn offline_pages_render(srv: &Server, b: &Browser) {
    // The headers first: every page, asset and API answer is no-store; pages carry the CSP.
    let http = reqwest::Client::new();
    for path in [
        "/admin",
        "/graphql",
        "/assets/console.js",
        "/assets/graphiql.min.js",
    ] {
        let r = http.get(srv.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
    }
    let api = http
        .post(srv.url("/graphql"))
        .bearer_auth(&srv.admin_token)
        .json(&json!({ "query": "{ viewer { account { login } } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["cache-control"], "no-store", "POST /graphql");
    // Refusals and unknown paths too.
    let refused = http
        .post(srv.url("/graphql"))
        .json(&json!({ "query": "{ viewer { agency { id } } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            refused.status().as_u16(),
            &refused.headers()["cache-control"]
        ),
        (401, &"no-store".parse().unwrap())
    );
    let missing = http.get(srv.url("/nowhere")).send().await.unwrap();
    assert_eq!(
        (
            missing.status().as_u16(),
            &missing.headers()["cache-control"]
        ),
        (404, &"no-store".parse().unwrap())
    );
    assert_eq!(
        http.get(srv.url("/assets/console.html"))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "pages only at their paths"
    );
    b.goto("/admin").await;
    b.wait("#signin-form").await;
    clean(b, "/admin").await;
    b.sign_in(&srv.admin_token).await;
    b.goto("/graphql").await;
    b.wait(".graphiql-container").await;
    b.until(
        "GraphiQL says it uses the token",
        "document.getElementById('graphiql-token').textContent.indexOf('/admin') >= 0",
    )
    .await;
    b.click(".graphiql-execute-button").await;
    b.until(
        "GraphiQL shows the viewer",
        "document.querySelector('.result-window') && document.querySelector('.result-window').textContent.indexOf('\"login\": \"admin\"') >= 0",
    )
    .await;
    b.screenshot("graphiql").await;
    clean(b, "/graphql").await;
    // Neither the token nor GraphiQL's history outlives the tab: nothing in localStorage.
    let kept = b.js("return JSON.stringify(localStorage);").await;
    let kept = kept.as_str().unwrap();
    assert!(
        !kept.contains(&srv.admin_token[..40]) && !kept.contains("graphiql:"),
        "localStorage holds {kept}"
    );
}

async fn person_view(srv: &Server, token: &str, id: &str) -> Value {
    srv.gql(
        token,
        "query($id: ID!) { person(id: $id) { familyName birthDate } }",
        json!({ "id": id }),
    )
    .await
    .body
}

/// Opens the person's page in the console as whoever is signed in; returns what it shows:
/// the facts, or the errors.
async fn console_view(b: &Browser, id: &str) -> String {
    b.goto(&format!("/admin#/persons/{id}")).await;
    b.until(
        "the person page",
        "document.querySelector('#person-facts') || document.querySelector('#person-body .errors')",
    )
    .await;
    b.until(
        "the access table",
        "document.querySelector('#access-matrix') || document.querySelector('#access .errors')",
    )
    .await;
    let facts = b.text("#person-facts").await;
    if facts.is_empty() {
        b.text("#person-body .errors").await
    } else {
        facts
    }
}

/// A caseworker of agency A records a consent for agency B with the keyboard alone; B's view
/// (in the API and in B's own console) opens, the admin's table of who sees what changes, and
/// closes again when A withdraws it in the console. The console's reads are ledgered.
async fn consent_changes_another_agencys_view(srv: &Server, b: &Browser) {
    let a = srv.demo_token("houkatsu-cw").await;
    let other = srv.demo_token("nikokoro-cw").await;
    let b_agency = srv
        .gql(
            &other,
            "{ viewer { agency { id } account { id } } }",
            json!({}),
        )
        .await
        .ok()["viewer"]
        .clone();
    let b_agency_id = b_agency["agency"]["id"].as_str().unwrap().to_owned();
    let mut input = person_input("試験", "花子", "シケン", "ハナコ");
    input["birthDate"] = json!("1948-02-29");
    let id = srv.person(&a, input).await;

    // Before: B is told NOT_FOUND by the API, and its console shows exactly that.
    let before = person_view(srv, &other, &id).await;
    assert_eq!(
        before["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{before}"
    );
    b.sign_in(&other).await;
    let shown = console_view(b, &id).await;
    assert!(
        shown.contains("NOT_FOUND") && !shown.contains("試験"),
        "B's console before consent: {shown}"
    );

    // A finds the person by kana and birth date, then records the consent by keyboard.
    b.sign_in(&a).await;
    b.goto("/admin#/persons").await;
    b.fill("#kana", "シケン").await;
    b.js("document.getElementById('birth').value = '1948-02-29'; return true;")
        .await;
    b.click("#person-search button[type=submit]").await;
    b.click("#person-results a.person-link").await;
    b.wait("#consent-form").await;
    b.until(
        "A sees the name",
        "document.querySelector('#person-facts').textContent.indexOf('試験') >= 0",
    )
    .await;
    b.js("document.querySelector('main h1').focus(); return true;")
        .await;
    let mut order = Vec::new();
    for target in [
        "given-self",
        "proxy-name",
        "special-health",
        &format!(
            "agency-{}",
            b_agency_id
                .to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        ),
        "consent-submit",
    ] {
        let mut reached = false;
        for _ in 0..80 {
            let now = b.focused().await;
            if now == target {
                reached = true;
                break;
            }
            order.push(now);
            b.keys(TAB).await;
        }
        assert!(reached, "Tab never reached #{target}; focus went {order:?}");
        match target {
            "given-self" => b.keys(RIGHT).await, // the radio group: PROXY
            "proxy-name" => {
                b.keys("試験 一郎").await;
                b.keys(TAB).await;
                b.keys("長男").await;
            }
            "consent-submit" => b.keys(ENTER).await,
            _ => b.keys(SPACE).await,
        }
    }
    b.wait("#consents tr[data-state=ACTIVE]").await;
    b.until(
        "focus back at the consents, where the new one is listed",
        "document.activeElement && document.activeElement.id === 'consents-h'",
    )
    .await;
    let consents = srv
        .gql(&a, "query($p: ID!) { consents(personId: $p) { id state givenBy proxyName proxyRelationship categories recipientAgencies { id } } }", json!({ "p": id }))
        .await;
    let c = consents.ok()["consents"][0].clone();
    assert_eq!(c["givenBy"], "PROXY", "{c}");
    assert_eq!(c["proxyName"], "試験 一郎");
    assert_eq!(c["proxyRelationship"], "長男");
    assert_eq!(
        c["categories"],
        json!(["IDENTITY", "HEALTH"]),
        "the default IDENTITY and the one special category ticked"
    );
    assert_eq!(c["recipientAgencies"], json!([{ "id": b_agency_id }]));

    // After: B's API view and B's console show the person.
    let after = person_view(srv, &other, &id).await;
    assert_eq!(after["data"]["person"]["familyName"], "試験", "{after}");
    b.sign_in(&other).await;
    let shown = console_view(b, &id).await;
    assert!(
        shown.contains("試験") && shown.contains("1948-02-29"),
        "B's console after consent: {shown}"
    );
    let b_account = b_agency["account"]["id"].as_str().unwrap();
    assert!(
        srv.ledger().await.iter().any(|e| e.action == "READ"
            && e.account_id.as_deref() == Some(b_account)
            && e.subject_person_id.as_deref() == Some(id.as_str())
            && e.shown.contains("IDENTITY")),
        "the console's read as B is in the ledger with IDENTITY shown"
    );

    // The admin's table: B may now see IDENTITY and HEALTH, on the consent.
    b.sign_in(&srv.admin_token).await;
    console_view(b, &id).await;
    let cell = |cat: &str| {
        format!("#access-matrix tr[data-agency='{b_agency_id}'] td[data-category={cat}]")
    };
    let identity = b.wait(&cell("IDENTITY")).await;
    assert_eq!(
        identity.attr("data-allowed").await.unwrap().as_deref(),
        Some("true")
    );
    let health = b.wait(&cell("HEALTH")).await;
    assert_eq!(
        health.attr("data-allowed").await.unwrap().as_deref(),
        Some("true")
    );
    // The printable disclosure report opens in a frame, its one style allowed by hash.
    b.click("#disclosure-show").await;
    b.wait("#disclosure iframe").await;
    clean(b, "the person page with the disclosure report").await;
    b.client.enter_frame(0).await.expect("the report's frame");
    b.until(
        "the report is styled",
        "getComputedStyle(document.querySelector('h1')).textAlign === 'center'",
    )
    .await;
    assert!(b.text("h1").await.contains("開示"));
    b.client.enter_parent_frame().await.expect("back");

    // A withdraws in the console; B's view closes again, and the admin's table says so.
    b.sign_in(&a).await;
    console_view(b, &id).await;
    b.click("#consents button.withdraw").await;
    b.keys("本人の申出により撤回").await;
    b.click(".withdraw-form button[type=submit]").await;
    b.wait("#consents tr[data-state=WITHDRAWN]").await;
    let closed = person_view(srv, &other, &id).await;
    assert_eq!(
        closed["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{closed}"
    );
    let withdrawn = srv
        .gql(
            &a,
            "query($p: ID!) { consents(personId: $p) { state withdrawalReason } }",
            json!({ "p": id }),
        )
        .await;
    assert_eq!(
        withdrawn.ok()["consents"][0]["withdrawalReason"],
        "本人の申出により撤回"
    );
    b.sign_in(&other).await;
    let shown = console_view(b, &id).await;
    assert!(
        shown.contains("NOT_FOUND") && !shown.contains("試験"),
        "B's console after withdrawal: {shown}"
    );
    b.sign_in(&srv.admin_token).await;
    console_view(b, &id).await;
    let identity = b.wait(&cell("IDENTITY")).await;
    assert_eq!(
        identity.attr("data-allowed").await.unwrap().as_deref(),
        Some("false")
    );
}

/// The admin deactivates an account in the console; its next API request is refused.
async fn deactivation_refuses_the_next_request(srv: &Server, b: &Browser) {
    let victim = srv.demo_token("kurashi-cw").await;
    assert_eq!(
        srv.gql(&victim, "{ viewer { account { login } } }", json!({}))
            .await
            .status,
        200
    );
    b.sign_in(&srv.admin_token).await;
    b.goto("/admin#/accounts").await;
    b.click("button[data-login=kurashi-cw][data-do=deactivateAccount]")
        .await;
    b.wait("button[data-login=kurashi-cw][data-do=reactivateAccount]")
        .await;
    let refused = srv
        .gql(&victim, "{ viewer { account { login } } }", json!({}))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(
        refused.body["errors"][0]["extensions"]["reason"], "account_deactivated",
        "{}",
        refused.body
    );
    // An agency registered in the console, then deactivated: the API says so.
    b.fill("#agency-code", "npo-hiraku").await;
    b.fill("#agency-name", "NPO法人ひらく").await;
    b.wait("#agency-kind")
        .await
        .select_by_value("PARTICIPATION_SUPPORT")
        .await
        .unwrap();
    b.click("#agency-form button[type=submit]").await;
    b.click("button[data-agency=npo-hiraku]").await;
    b.until(
        "the agency is inactive",
        "(document.querySelector('tr[data-code=npo-hiraku] td.active') || {}).textContent === 'いいえ'",
    )
    .await;
    let agencies = srv
        .gql(
            &srv.admin_token,
            "{ agencies { code kind legalRegime active } }",
            json!({}),
        )
        .await;
    let npo = agencies.ok()["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "npo-hiraku")
        .cloned();
    assert_eq!(
        npo,
        Some(
            json!({ "code": "npo-hiraku", "kind": "PARTICIPATION_SUPPORT", "legalRegime": "PRIVATE_OPERATOR", "active": false })
        )
    );
    // A service client made in the console, then its secret rotated: each secret is shown
    // once, and only the newest one gets a token from /oauth/token.
    b.goto("/admin#/accounts").await;
    b.fill("#client-name", "くらし 連携テスト").await;
    b.click("#client-form button[type=submit]").await;
    let first = b
        .wait("#secret")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let clients = srv
        .gql(
            &srv.admin_token,
            "{ serviceClients { id name } }",
            json!({}),
        )
        .await;
    let client = clients.ok()["serviceClients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "くらし 連携テスト")
        .expect("the client made in the console")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.client.refresh().await.unwrap();
    b.wait("#clients").await;
    assert!(
        b.client
            .find(fantoccini::Locator::Css("#secret"))
            .await
            .is_err(),
        "the secret is shown only once"
    );
    b.click(&format!("button.rotate[data-client='{client}']"))
        .await;
    let second = b
        .wait("#secret")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        first.len() >= 32 && second.len() >= 32 && first != second,
        "fresh secrets: {first:?} {second:?}"
    );
    let token_with = |secret: String| {
        let client = client.clone();
        async move {
            reqwest::Client::new()
                .post(srv.url("/oauth/token"))
                .basic_auth(client, Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials&scope=integration")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(token_with(second).await, 200, "the rotated secret works");
    assert_eq!(
        token_with(first).await,
        401,
        "the old secret no longer does"
    );
}

/// The admin verifies the ledger's chain, and reviews and closes an emergency grant.
async fn ledger_chain_and_emergency_grants(srv: &Server, b: &Browser) {
    let a = srv.demo_token("houkatsu-cw").await;
    let person = srv
        .person(&a, person_input("緊急", "次郎", "キンキュウ", "ジロウ"))
        .await;
    let cw = srv.demo_token("nikokoro-cw").await;
    let g = srv
        .gql(&cw, "mutation($p: ID!) { requestEmergencyAccess(personId: $p, reason: \"訪問しても応答がなく安否確認が必要\", hours: 1) { id } }", json!({ "p": person }))
        .await;
    g.ok();
    b.sign_in(&srv.admin_token).await;
    b.goto("/admin#/ledger").await;
    b.wait("#ledger").await;
    b.click("#verify").await;
    let result = b.wait("#chain-result").await;
    assert_eq!(
        result.attr("data-ok").await.unwrap().as_deref(),
        Some("true"),
        "{}",
        result.text().await.unwrap()
    );
    // The console shows the API's own count: at least every row written before the click,
    // at most what the API counts after it.
    let console_count: i64 = result
        .attr("data-checked")
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let api = srv
        .gql(
            &srv.admin_token,
            "{ verifyAuditChain { ok checked } }",
            json!({}),
        )
        .await;
    let api_count = api.ok()["verifyAuditChain"]["checked"].as_i64().unwrap();
    assert!(
        console_count > 10 && console_count <= api_count,
        "console {console_count}, api {api_count}"
    );
    assert!(result
        .text()
        .await
        .unwrap()
        .contains(&console_count.to_string()));
    // Filter the ledger by the person: only rows about them remain.
    b.fill("#f-person", &person).await;
    b.click("#ledger-filter button[type=submit]").await;
    b.until("rows about the person", &format!("document.querySelectorAll('#ledger tbody tr').length > 0 && Array.from(document.querySelectorAll('#ledger tbody tr')).every(r => r.textContent.indexOf('{person}') >= 0)")).await;
    // From a row to the person's page, where the admin sees the consents and who may see what.
    b.click(&format!("#ledger a[href='#/persons/{person}']"))
        .await;
    b.wait("#access-matrix").await;
    b.goto("/admin#/ledger").await;
    b.wait("#ledger").await;
    // By agency and basis, in the database: every row the API gives for the same filter.
    srv.gql(
        &a,
        "query($p: ID!) { person(id: $p) { familyName } }",
        json!({ "p": person }),
    )
    .await
    .ok();
    let a_agency = srv
        .gql(&a, "{ viewer { agency { id } } }", json!({}))
        .await
        .ok()["viewer"]["agency"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    b.fill("#f-person", "").await;
    b.until(
        "the agencies are listed",
        &format!("document.querySelector(\"#f-agency option[value='{a_agency}']\")"),
    )
    .await;
    b.wait("#f-agency")
        .await
        .select_by_value(&a_agency)
        .await
        .unwrap();
    b.wait("#f-basis")
        .await
        .select_by_value("OWN")
        .await
        .unwrap();
    let api = srv
        .gql(&srv.admin_token, "query($ag: ID) { auditEvents(agencyId: $ag, basis: OWN, first: 100) { nodes { seq } } }", json!({ "ag": a_agency }))
        .await;
    let expected: Vec<Value> = api.ok()["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| json!(n["seq"].to_string()))
        .collect();
    b.click("#ledger-filter button[type=submit]").await;
    b.until("only the agency's rows", &format!("document.querySelectorAll('#ledger tbody tr').length > 0 && Array.from(document.querySelectorAll('#ledger tbody tr')).every(r => r.dataset.agency === '{a_agency}')")).await;
    let shown = b.js("return Array.from(document.querySelectorAll('#ledger tbody tr')).map(r => r.cells[0].textContent);").await;
    assert_eq!(
        shown,
        json!(expected),
        "the console lists the API's rows for agency and basis"
    );
    // The grant, reviewed and closed.
    b.fill(".close-grant textarea", "必要性を確認した").await;
    b.click(".close-grant button[type=submit]").await;
    b.wait("#ledger").await;
    b.until(
        "the grant is gone from the open list",
        "document.querySelectorAll('.close-grant').length === 0",
    )
    .await;
    let open = srv
        .gql(
            &srv.admin_token,
            "{ emergencyGrants(openOnly: true) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(open.ok()["emergencyGrants"], json!([]));
    let all = srv
        .gql(
            &srv.admin_token,
            "{ emergencyGrants(openOnly: false) { reviewNote closedAt } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all.ok()["emergencyGrants"][0]["reviewNote"],
        "必要性を確認した"
    );
}

/// A caseworker's token in the console gets what the API gives a caseworker: the registry
/// and the ledger are refused with the API's own code.
async fn caseworker_gets_only_what_the_api_gives(srv: &Server, b: &Browser) {
    let cw = srv.demo_token("nikokoro-cw").await;
    let ledger = srv.gql(&cw, "{ verifyAuditChain { ok } }", json!({})).await;
    let code = ledger.codes()[0].clone();
    assert_eq!(code, "FORBIDDEN", "{}", ledger.body);
    b.sign_in(&cw).await;
    b.goto("/admin#/ledger").await;
    b.click("#verify").await;
    b.until(
        "the refusal is shown",
        "document.querySelector('#chain .errors')",
    )
    .await;
    assert!(b.text("#chain").await.contains(&code));
    assert!(b
        .client
        .find(fantoccini::Locator::Css("#chain-result"))
        .await
        .is_err());
    let accounts = srv.gql(&cw, "{ accounts { login } }", json!({})).await;
    b.goto("/admin#/accounts").await;
    b.until(
        "the accounts page answered",
        "document.querySelector('#accounts') || document.querySelector('#accounts-body .errors')",
    )
    .await;
    if let Some(code) = accounts.codes().first() {
        assert!(b.text("#accounts-body").await.contains(code.as_str()));
    } else {
        // Whatever logins the API lists for a caseworker, and no other, are on the page.
        let listed: Vec<String> = accounts.ok()["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["login"].as_str().unwrap().to_owned())
            .collect();
        let rows = b.js("return Array.from(document.querySelectorAll('#accounts tbody tr')).map(r => r.dataset.login);").await;
        assert_eq!(rows, json!(listed));
    }
}

/// Every page, as an admin and as a caseworker, has no serious or critical axe-core
/// violation (WCAG 2.x A/AA) at 1366×768, in Japanese and in English; each is photographed.
async fn pages_pass_axe_and_are_photographed(srv: &Server, b: &Browser) {
    let a = srv.demo_token("houkatsu-cw").await;
    let person = srv
        .person(&a, person_input("画面", "三郎", "ガメン", "サブロウ"))
        .await;
    b.goto("/admin").await;
    b.wait("#signin-form").await;
    assert_eq!(b.axe().await, Vec::<String>::new(), "sign-in page");
    b.screenshot("signin").await;
    b.sign_in(&a).await;
    let pages: [(&str, &str, &str); 2] = [
        ("persons", "/admin#/persons", "#person-search"),
        (
            "person-caseworker",
            &format!("/admin#/persons/{person}"),
            "#access-matrix",
        ),
    ];
    for (name, path, ready) in pages {
        b.goto(path).await;
        b.wait(ready).await;
        assert_eq!(b.axe().await, Vec::<String>::new(), "{name}");
        b.screenshot(name).await;
    }
    b.sign_in(&srv.admin_token).await;
    let person_page = format!("/admin#/persons/{person}");
    for (name, path, ready) in [
        ("person-admin", person_page.as_str(), "#access-matrix"),
        ("accounts", "/admin#/accounts", "#accounts"),
        ("ledger", "/admin#/ledger", "#ledger"),
        ("evaluation", "/admin#/evaluation", "#bars"),
    ] {
        b.goto(path).await;
        b.wait(ready).await;
        assert_eq!(b.axe().await, Vec::<String>::new(), "{name}");
        clean(b, name).await;
        b.screenshot(name).await;
    }
    // English labels, switched from the header.
    b.click("#lang").await;
    b.until("English", "document.documentElement.lang === 'en' && document.querySelector('main h1').textContent.indexOf('Evaluation') >= 0").await;
    b.wait("#bars").await;
    assert_eq!(b.axe().await, Vec::<String>::new(), "evaluation in English");
    b.screenshot("evaluation-en").await;
    b.click("#lang").await;
    b.until("Japanese", "document.documentElement.lang === 'ja'")
        .await;
}

/// The 事業評価 page: a target set in the console is the API's target and shows in the
/// report's row; the CSV button hands the browser the file the API serves (UTF-8 with a BOM,
/// what Excel opens).
async fn evaluation_targets_and_csv(srv: &Server, b: &Browser) {
    b.sign_in(&srv.admin_token).await;
    b.goto("/admin#/evaluation").await;
    b.wait("#target-form").await;
    let year = b.js("return document.getElementById('fy').value;").await;
    let year: i64 = year.as_str().unwrap().parse().unwrap();
    b.wait("#target-indicator")
        .await
        .select_by_value("CONSULTATIONS")
        .await
        .unwrap();
    b.fill("#target-value", "120").await;
    b.fill("#target-note", "第2期計画").await;
    b.click("#target-form button[type=submit]").await;
    b.until(
        "the target is in the report",
        "(document.querySelector('#report tr[data-indicator=CONSULTATIONS] td:nth-child(3)') || {}).textContent === '120'",
    )
    .await;
    let targets = srv
        .gql(
            &srv.admin_token,
            "query($y: Int!) { targets(fiscalYear: $y) { indicator value note } }",
            json!({ "y": year }),
        )
        .await;
    assert_eq!(
        targets.ok()["targets"],
        json!([{ "indicator": "CONSULTATIONS", "value": 120.0, "note": "第2期計画" }])
    );
    // The CSV: the blob the page makes for the download is the API's file.
    b.js("window.tsunagiBlobs = []; const make = URL.createObjectURL; URL.createObjectURL = function (x) { window.tsunagiBlobs.push(x); return make.call(URL, x); }; return true;").await;
    b.click("#csv").await;
    b.until("the file was made", "window.tsunagiBlobs.length === 1")
        .await;
    let text = b
        .client
        .execute_async("const done = arguments[arguments.length - 1]; window.tsunagiBlobs[0].arrayBuffer().then(a => done(Array.from(new Uint8Array(a))));", vec![])
        .await
        .unwrap();
    let bytes: Vec<u8> = text
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    let served = reqwest::Client::new()
        .get(srv.url(&format!("/reports/evaluation/{year}?format=csv")))
        .bearer_auth(&srv.admin_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "a BOM first");
    let csv = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(csv.contains("120"), "the target is in the file: {csv}");
    assert_eq!(bytes.len(), served.len(), "the same file the API serves");
}
