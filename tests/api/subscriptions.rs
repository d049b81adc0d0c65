//! `subscription { changes }` over graphql-transport-ws (`GET /graphql/ws`), on every
//! backend: the protocol and its close codes (4401 for no valid token at init, 4406, 4409,
//! 4429), policy re-checked at every delivery (a consent withdrawn between two writes stops
//! the second event; categories within the role's ceiling), reconnecting with the last cursor
//! misses nothing, a deactivated account's socket closed with 4403 and an expired token's
//! with 4401 (at the next event, and by the timer without one), every delivery ledgered
//! before it is sent, and an idle socket kept alive by the hub's `ping`.

#[path = "../support/ws.rs"]
mod ws;

use std::time::Duration;

use serde_json::{json, Value};
use tsunagi_tests::{consent_input, person_input, tests, Server};
use ws::Incoming;

tests!(
    the_protocol_and_its_refusals,
    an_agency_receives_events_only_while_a_consent_names_it,
    categories_follow_the_role,
    reconnecting_with_the_last_cursor_misses_nothing,
    a_deactivated_account_is_closed_4403,
    an_expired_token_is_closed_4401,
    an_idle_socket_is_pinged,
);

const SUB: &str = "subscription Watch($types: [ChangeType!], $after: String) { changes(types: $types, after: $after) { cursor recordType recordId operation categories agencyId committedAt } }";

const UPDATE: &str = "mutation($id: ID!, $v: Int!, $i: UpdatePersonInput!) { updatePerson(id: $id, version: $v, input: $i) { id version } }";

/// Generous: a bound, never a speed assertion.
const BOUND: Duration = Duration::from_secs(15);

/// Long enough for a subscription without `after` to have started (its first round).
const SETTLE: Duration = Duration::from_millis(1500);

/// The caller's current end of the feed, by `Query.changes` (its last `endCursor`; None
/// while the feed has no row at all).
async fn feed_end(srv: &Server, tok: &str) -> Option<String> {
    let mut after: Option<String> = None;
    loop {
        let r = srv
            .gql(
                tok,
                "query($a: String) { changes(after: $a, first: 1000) { pageInfo { endCursor hasNextPage } } }",
                json!({ "a": after }),
            )
            .await;
        let info = r.ok()["changes"]["pageInfo"].clone();
        after = info["endCursor"].as_str().map(str::to_owned).or(after);
        if info["hasNextPage"] != true {
            return after;
        }
    }
}

async fn update(srv: &Server, tok: &str, id: &str, v: i64, input: Value) -> i64 {
    let r = srv
        .gql(tok, UPDATE, json!({ "id": id, "v": v, "i": input }))
        .await;
    r.ok()["updatePerson"]["version"].as_i64().unwrap()
}

fn categories(e: &Value) -> Vec<&str> {
    e["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

/// A socket of `tok`'s, subscribed as `s1` (after `after` when given).
async fn watch(srv: &Server, tok: &str, after: Option<&str>) -> ws::Socket {
    let mut socket = ws::connect(&srv.base).await;
    socket.init_token(tok).await;
    socket.subscribe("s1", SUB, json!({ "after": after })).await;
    socket
}

async fn the_protocol_and_its_refusals(srv: &Server) {
    // Not a WebSocket: a coded refusal.
    let plain = reqwest::get(srv.url("/graphql/ws")).await.unwrap();
    assert!(plain.status().is_client_error(), "{}", plain.status());
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Without the subprotocol: 4406.
    let mut s = ws::connect_with(&srv.base, None).await;
    assert_eq!(s.closed(BOUND).await.0, 4406);

    // No token, a malformed one: 4401 with HTTP's reason.
    let mut s = ws::connect(&srv.base).await;
    assert_eq!(
        s.init(json!({})).await,
        Err((4401, "missing_token".to_owned()))
    );
    let mut s = ws::connect(&srv.base).await;
    assert_eq!(
        s.init(json!({ "authorization": "Bearer nope" })).await,
        Err((4401, "malformed_token".to_owned()))
    );

    // A subscribe before the ack: 4401.
    let mut s = ws::connect(&srv.base).await;
    s.subscribe("x", SUB, json!({})).await;
    assert_eq!(s.closed(BOUND).await.0, 4401);

    // The `token` form works too; a second init is 4429.
    let mut s = ws::connect(&srv.base).await;
    s.init(json!({ "token": srv.admin_token })).await.unwrap();
    s.send(json!({ "type": "ping" })).await;
    assert_eq!(s.message(BOUND).await, json!({ "type": "pong" }));
    s.send(json!({ "type": "connection_init" })).await;
    assert_eq!(s.closed(BOUND).await.0, 4429);

    let mut s = ws::connect(&srv.base).await;
    s.init_token(&srv.admin_token).await;
    // Queries and mutations go to POST /graphql.
    s.subscribe("q", "{ viewer { id } }", json!({})).await;
    let m = s.message(BOUND).await;
    assert_eq!(
        (&m["type"], &m["id"]),
        (&json!("error"), &json!("q")),
        "{m}"
    );
    assert_eq!(
        m["payload"][0]["extensions"]["reason"],
        "subscriptions_only"
    );
    // A document that does not parse: `error`, coded as on HTTP.
    s.subscribe("p", "subscription {", json!({})).await;
    let m = s.message(BOUND).await;
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(
        m["payload"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    // An unknown field: `error`.
    s.subscribe("v", "subscription { nope }", json!({})).await;
    let m = s.message(BOUND).await;
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(
        m["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    // A cursor the feed did not hand out: the feed's own BAD_USER_INPUT, then complete.
    s.subscribe("c", SUB, json!({ "after": "not-a-cursor" }))
        .await;
    let m = s.message(BOUND).await;
    assert_eq!((&m["type"], &m["id"]), (&json!("next"), &json!("c")), "{m}");
    assert_eq!(
        m["payload"]["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    assert_eq!(m["payload"]["errors"][0]["extensions"]["field"], "after");
    assert_eq!(
        s.message(BOUND).await,
        json!({ "id": "c", "type": "complete" })
    );
    // At most 10 running on one socket; an id in use is 4409.
    for i in 0..10 {
        s.subscribe(&format!("r{i}"), SUB, json!({})).await;
    }
    s.subscribe("r10", SUB, json!({})).await;
    let m = s.message(BOUND).await;
    assert_eq!(
        (&m["type"], &m["id"]),
        (&json!("error"), &json!("r10")),
        "{m}"
    );
    assert_eq!(
        m["payload"][0]["extensions"]["reason"],
        "too_many_subscriptions"
    );
    // Completing one frees its place (and its id).
    s.send(json!({ "id": "r0", "type": "complete" })).await;
    s.subscribe("r0", SUB, json!({})).await;
    s.subscribe("r1", SUB, json!({})).await;
    let (code, reason) = s.closed(BOUND).await;
    assert_eq!(
        (code, reason.as_str()),
        (4409, "Subscriber for r1 already exists")
    );

    // A subscription over POST /graphql is refused with a code.
    let r = srv.gql(&srv.admin_token, SUB, json!({})).await;
    assert!(
        r.codes().iter().all(|c| c != "<none>") && !r.codes().is_empty(),
        "{:?}",
        r.body
    );
}

/// R knows A's person only by a consent naming R: R's subscription gets the person's
/// events, with the consented categories, while it holds; a withdrawal between two writes
/// stops the second. Each delivery is in the ledger before it arrives.
async fn an_agency_receives_events_only_while_a_consent_names_it(srv: &Server) {
    let a = srv.agency("sub-a", "COMPREHENSIVE_CARE").await;
    let r = srv.agency("sub-r", "DISABILITY").await;
    let (_, a_tok) = srv.account("sub-a-cw", &a, &["caseworker"]).await;
    let (r_id, r_tok) = srv.account("sub-r-cw", &r, &["caseworker"]).await;
    let p = srv
        .person(&a_tok, person_input("購読", "花子", "コウドク", "ハナコ"))
        .await;
    let start = feed_end(srv, &r_tok).await.expect("the person's row");
    let mut s = watch(srv, &r_tok, Some(&start)).await;

    let (consent, cv) = srv
        .consent(
            &a_tok,
            consent_input(&p, &["IDENTITY", "CONTACT"], &[&r], &[]),
        )
        .await;
    let e = s.event("s1", BOUND).await;
    assert_eq!(
        (&e["recordType"], &e["recordId"], &e["operation"]),
        (&json!("CONSENT"), &json!(consent), &json!("CREATE")),
        "{e}"
    );
    let v = update(srv, &a_tok, &p, 1, json!({ "phone": "0235-99-0000" })).await;
    let e = s.event("s1", BOUND).await;
    assert_eq!(
        (&e["recordType"], &e["recordId"], &e["operation"]),
        (&json!("PERSON"), &json!(p), &json!("UPDATE")),
        "{e}"
    );
    assert_eq!(categories(&e), ["CONTACT"]);
    assert!(e["agencyId"].is_null(), "NARRATIVE is not consented: {e}");
    // Ledgered before it was sent: the rows are there the moment it arrived.
    let rows = srv.ledger().await;
    let read = rows
        .iter()
        .rev()
        .find(|x| {
            x.action == "READ"
                && x.account_id.as_deref() == Some(r_id.as_str())
                && x.subject_person_id.as_deref() == Some(p.as_str())
        })
        .expect("the delivery's READ row");
    assert_eq!(read.operation, "Watch");
    assert!(read.shown.contains("CONTACT"), "{read:?}");
    assert!(
        read.bases.contains(&format!("CONSENT:{consent}")),
        "{read:?}"
    );
    let note = rows
        .iter()
        .rev()
        .find(|x| x.record_type == "change_feed" && x.account_id.as_deref() == Some(r_id.as_str()))
        .expect("the feed's READ row");
    assert_eq!(note.operation, "Watch");
    let detail: Value = serde_json::from_str(&note.detail).unwrap();
    assert_eq!(detail["subscription"], "s1", "{detail}");

    // Withdrawn, then a write: nothing about the person reaches R (the withdrawal event
    // neither). R's own next write is the next event it gets.
    srv.gql(
        &a_tok,
        "mutation($id: ID!, $v: Int!) { withdrawConsent(id: $id, version: $v, reason: \"本人の申出\") { id } }",
        json!({ "id": consent, "v": cv }),
    )
    .await
    .ok();
    update(srv, &a_tok, &p, v, json!({ "phone": "0235-99-1111" })).await;
    let q = srv
        .person(
            &r_tok,
            person_input("自機関", "一郎", "ジキカン", "イチロウ"),
        )
        .await;
    let e = s.event("s1", BOUND).await;
    assert_eq!(
        (&e["recordId"], &e["operation"]),
        (&json!(q), &json!("CREATE")),
        "{e}"
    );
    assert_eq!(e["agencyId"], r.as_str());
    s.close().await;
}

/// A 生活支援コーディネーター sees the person's events without HEALTH or CHILD_PROTECTION; a
/// caseworker of the same agency, on its own socket, with them.
async fn categories_follow_the_role(srv: &Server) {
    let a = srv.agency("subc-a", "COMMUNITY_BUILDING").await;
    let (_, cw) = srv.account("subc-cw", &a, &["caseworker"]).await;
    let (_, lsc) = srv
        .account("subc-lsc", &a, &["life_support_coordinator"])
        .await;
    // Subscribed without a cursor: from the end of the feed, once started.
    let mut by_cw = watch(srv, &cw, None).await;
    let mut by_lsc = watch(srv, &lsc, None).await;
    tokio::time::sleep(SETTLE).await;
    let p = srv
        .person(&cw, person_input("区分", "次郎", "クブン", "ジロウ"))
        .await;
    let full = by_cw.event("s1", BOUND).await;
    let narrow = by_lsc.event("s1", BOUND).await;
    assert_eq!(full["recordId"], p.as_str());
    assert_eq!(narrow["recordId"], p.as_str());
    assert_eq!(full["cursor"], narrow["cursor"]);
    assert!(categories(&full).contains(&"HEALTH"), "{full}");
    assert_eq!(categories(&narrow), ["IDENTITY", "CONTACT", "LIVELIHOOD"]);
    update(
        srv,
        &cw,
        &p,
        1,
        json!({ "careLevel": "要介護4", "publicAssistance": false }),
    )
    .await;
    assert_eq!(
        categories(&by_cw.event("s1", BOUND).await),
        ["HEALTH", "LIVELIHOOD"]
    );
    assert_eq!(categories(&by_lsc.event("s1", BOUND).await), ["LIVELIHOOD"]);
    // Only the types asked for.
    let mut consents_only = ws::connect(&srv.base).await;
    consents_only.init_token(&cw).await;
    consents_only
        .subscribe(
            "c",
            SUB,
            json!({ "types": ["CONSENT"], "after": full["cursor"] }),
        )
        .await;
    let (consent, _) = srv
        .consent(&cw, consent_input(&p, &["IDENTITY"], &[], &["DISABILITY"]))
        .await;
    let e = consents_only.event("c", BOUND).await;
    assert_eq!(
        (&e["recordType"], &e["recordId"]),
        (&json!("CONSENT"), &json!(consent))
    );
    for s in [by_cw, by_lsc, consents_only] {
        s.close().await;
    }
}

/// A subscriber that reconnects with the last cursor it received gets every event written
/// while it was away, in order, then the live ones; one without `after` starts at the end.
async fn reconnecting_with_the_last_cursor_misses_nothing(srv: &Server) {
    let a = srv.agency("subr-a", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("subr-cw", &a, &["caseworker"]).await;
    let mut first = watch(srv, &cw, None).await;
    tokio::time::sleep(SETTLE).await;
    let p = srv
        .person(
            &cw,
            person_input("再接続", "三郎", "サイセツゾク", "サブロウ"),
        )
        .await;
    let created = first.event("s1", BOUND).await;
    assert_eq!(
        (&created["recordId"], &created["operation"]),
        (&json!(p), &json!("CREATE"))
    );
    first.close().await;

    let mut v = 1;
    for i in 0..3 {
        v = update(
            srv,
            &cw,
            &p,
            v,
            json!({ "phone": format!("0235-00-000{i}") }),
        )
        .await;
    }
    let cursor = created["cursor"].as_str().unwrap();
    let mut again = watch(srv, &cw, Some(cursor)).await;
    let mut from_end = watch(srv, &cw, None).await;
    let mut cursors = vec![cursor.to_owned()];
    for _ in 0..3 {
        let e = again.event("s1", BOUND).await;
        assert_eq!(
            (&e["recordId"], &e["operation"]),
            (&json!(p), &json!("UPDATE")),
            "{e}"
        );
        cursors.push(e["cursor"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(SETTLE).await;
    update(srv, &cw, &p, v, json!({ "phone": "0235-00-0009" })).await;
    let live = again.event("s1", BOUND).await;
    let fresh = from_end.event("s1", BOUND).await;
    assert_eq!(
        live["cursor"], fresh["cursor"],
        "only the write after it started"
    );
    cursors.push(live["cursor"].as_str().unwrap().to_owned());
    let seqs: Vec<i64> = cursors
        .iter()
        .map(|c| {
            tsunagi_api::store::decode_cursor(c)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    again.close().await;
    from_end.close().await;
}

/// Deactivating the account closes its open socket with 4403 (the deactivation is a
/// commit: the next round verifies and finds it); a new socket is refused the same way.
async fn a_deactivated_account_is_closed_4403(srv: &Server) {
    let a = srv.agency("subd-a", "SELF_RELIANCE").await;
    let (x, tok) = srv.account("subd-x", &a, &["caseworker"]).await;
    let mut s = watch(srv, &tok, None).await;
    tokio::time::sleep(SETTLE).await;
    let v = srv.account_version(&srv.admin_token, &x).await;
    srv.gql(
        &srv.admin_token,
        "mutation($id: ID!, $v: Int!) { deactivateAccount(id: $id, version: $v) { active } }",
        json!({ "id": x, "v": v }),
    )
    .await
    .ok();
    let (code, reason) = s.closed(BOUND).await;
    assert_eq!((code, reason.as_str()), (4403, "account_deactivated"));
    let mut again = ws::connect(&srv.base).await;
    assert_eq!(
        again.init(json!({ "token": tok })).await,
        Err((4403, "account_deactivated".to_owned()))
    );
}

/// A token that expires on an open socket: closed with 4401 at the next event (any commit
/// wakes the round), and by the re-verification timer on a socket with no subscription.
async fn an_expired_token_is_closed_4401(srv: &Server) {
    // No clock leeway, so that a 3-second token expires in 3 seconds.
    let srv = Server::start_with(&srv.backend, |c| c.jwt.leeway_secs = 0).await;
    let a = srv.agency("sube-a", "SELF_RELIANCE").await;
    let (x, _) = srv.account("sube-x", &a, &["caseworker"]).await;
    let short = tsunagi_api::auth::mint(&srv.jwt, &x, 3, None).unwrap();
    let mut subscribed = watch(&srv, &short, None).await;
    let mut idle = ws::connect(&srv.base).await;
    idle.init_token(&short).await;
    let expired_at = tokio::time::Instant::now() + Duration::from_secs(3);
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Any commit is a wake-up.
    srv.agency("sube-b", "SELF_RELIANCE").await;
    let (code, reason) = subscribed.closed(Duration::from_secs(5)).await;
    assert_eq!((code, reason.as_str()), (4401, "token_expired"));
    // The timer: within VERIFY_EVERY (15 s) of the expiry, with margin.
    let (code, reason) = idle.closed(Duration::from_secs(25)).await;
    assert_eq!((code, reason.as_str()), (4401, "token_expired"));
    assert!(expired_at.elapsed() < Duration::from_secs(25));
    // Refused at init as well.
    let mut late = ws::connect(&srv.base).await;
    assert_eq!(
        late.init(json!({ "token": short })).await,
        Err((4401, "token_expired".to_owned()))
    );
    assert!(!matches!(
        late.recv(Duration::from_millis(10)).await,
        Incoming::Message(_)
    ));
    srv.stop().await;
}

/// A socket the hub has sent nothing on for `limits.ws_ping_interval` gets a `ping`; the
/// client's `pong` is taken silently (the socket stays open), and its own `ping` is answered
/// with `pong`. With the default interval (30 s) an idle second brings no ping.
async fn an_idle_socket_is_pinged(srv: &Server) {
    let mut quiet = watch(srv, &srv.admin_token, None).await;
    assert_eq!(
        quiet.recv_raw(Duration::from_secs(1)).await,
        Incoming::Timeout
    );
    quiet.close().await;

    let every = Duration::from_millis(200);
    let srv = Server::start_with(&srv.backend, |c| c.limits.ws_ping_interval = every).await;
    let a = srv.agency("subp-a", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("subp-cw", &a, &["caseworker"]).await;
    let mut s = watch(&srv, &cw, None).await;
    let ping = Incoming::Message(json!({ "type": "ping" }));
    for _ in 0..3 {
        assert_eq!(s.recv_raw(BOUND).await, ping);
        s.send(json!({ "type": "pong" })).await;
    }
    s.send(json!({ "type": "ping" })).await;
    loop {
        match s.recv_raw(BOUND).await {
            Incoming::Message(m) if m == json!({ "type": "ping" }) => {}
            Incoming::Message(m) => {
                assert_eq!(m, json!({ "type": "pong" }));
                break;
            }
            other => panic!("expected pong, got {other:?}"),
        }
    }
    // Still subscribed: an event arrives between the pings.
    tokio::time::sleep(SETTLE).await;
    let id = srv
        .person(&cw, person_input("ピン", "四郎", "ピン", "シロウ"))
        .await;
    let e = s.event("s1", BOUND).await;
    assert_eq!(e["recordId"], id.as_str(), "{e}");
    s.close().await;
}
