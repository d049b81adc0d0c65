//! The visibility index under concurrent writes (issue 12): writes about one person at the
//! same moment each commit, none answers CONFLICT, and the index then holds every one of
//! them (found by the city-scale benchmark: 20 % of concurrent `recordConsent`s for the same
//! persons answered CONFLICT, because their index refreshes collided).

use futures::future::join_all;
use serde_json::json;
use tsunagi_tests::{consent_input, person_input, tests, Server};

tests!(concurrent_consents_for_one_person_all_commit_and_all_reach_the_index);

const RECORD: &str = "mutation($i: RecordConsentInput!) { recordConsent(input: $i) { id } }";
const SEARCH: &str = "query($k: String!) { persons(kana: $k, first: 20) { nodes { id } } }";

async fn concurrent_consents_for_one_person_all_commit_and_all_reach_the_index(srv: &Server) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let own = srv.agency("vis-own", "SELF_RELIANCE").await;
    let (_, cw) = srv.account("vis-cw", &own, &["caseworker"]).await;
    // One recipient agency per consent, so each consent is the only basis of one reader.
    let mut readers = Vec::new();
    for i in 0..12 {
        let a = srv.agency(&format!("vis-r{i}"), "DISABILITY").await;
        let (_, t) = srv
            .account(&format!("vis-r{i}-cw"), &a, &["caseworker"])
            .await;
        readers.push((a, t));
    }
    let person = srv
        .person(&cw, person_input("並行", "花子", "ヘイコウ", "ハナコ"))
        .await;
    for round in 0..2 {
        let answers = join_all(readers.iter().map(|(agency, _)| {
            let input = consent_input(&person, &["IDENTITY"], &[agency.as_str()], &[]);
            srv.gql(&cw, RECORD, json!({ "i": input }))
        }))
        .await;
        for (i, r) in answers.iter().enumerate() {
            assert_eq!(r.status, 200, "round {round}, consent {i}: {}", r.body);
            assert!(
                r.errors().is_empty(),
                "round {round}, consent {i} must commit: {}",
                r.body
            );
        }
        // Every consent is in the index: each recipient finds the person.
        let ids: Vec<String> = answers
            .iter()
            .map(|r| {
                r.ok()["recordConsent"]["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            })
            .collect();
        let indexed = entity::visibility::Entity::find()
            .filter(entity::visibility::Column::SourceId.is_in(ids.clone()))
            .all(&srv.db)
            .await
            .expect("index rows");
        for id in &ids {
            assert!(
                indexed.iter().any(|e| &e.source_id == id),
                "round {round}: consent {id} has no index entry"
            );
        }
    }
    for (i, (_, t)) in readers.iter().enumerate() {
        let r = srv.gql(t, SEARCH, json!({ "k": "ヘイコウ" })).await;
        assert_eq!(
            r.ok()["persons"]["nodes"],
            json!([{ "id": person }]),
            "recipient {i}"
        );
    }
    let v = tsunagi_api::store::visibility::verify(&srv.db, chrono::Utc::now())
        .await
        .expect("verify");
    assert!(v.differences.is_empty(), "{:?}", v.differences);
}
