//! 世帯と個人 / households and persons. Each household belongs to an agency (weighted by
//! consultation load); its members share a family name, address and district.

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use rand::seq::IndexedRandom;
use rand::Rng;

use super::{id, names, report, weighted, Actor, Op, Run, Table};
use crate::graphql::enums::Sex;
use crate::kana;
use entity::{household, household_member, person};

const CREATE_PERSON: Op = Op::new("createPerson", "person");
const CREATE_HOUSEHOLD: Op = Op::new("createHousehold", "household");

/// A household: its id, the agency that owns it (an index into the city's agencies) and its
/// members' person ids.
pub(super) struct House {
    pub(super) id: String,
    pub(super) agency: usize,
    pub(super) members: Vec<String>,
}

/// The households, and every person with the agency that registered them.
pub(super) struct People {
    pub(super) households: Vec<House>,
    pub(super) persons: Vec<(String, usize)>,
}

/// `scale.persons` persons: in households owned by one agency each until there are
/// `scale.households` of them, the rest single persons without one.
pub(super) async fn households_and_persons(run: &mut Run<'_>) -> anyhow::Result<People> {
    let (rng, out, city, scale, today) = run.parts();
    let t = Instant::now();
    let mut houses: Vec<House> = Vec::with_capacity(scale.households);
    let mut person_owner: Vec<(String, usize)> = Vec::with_capacity(scale.persons);
    let mut persons = Table::<person::Entity>::new("person");
    let mut households = Table::<household::Entity>::new("household");
    let mut members = Table::<household_member::Entity>::new("household_member");
    let mut made = 0usize;
    while made < scale.persons {
        let in_household = houses.len() < scale.households;
        // Household sizes 1..5 (30/30/18/14/8 %); leftovers are single persons without one.
        let size = if in_household {
            [1usize, 2, 3, 4, 5][weighted(rng, &[30u32, 30, 18, 14, 8], |w| *w)]
        } else {
            1
        }
        .min(scale.persons - made);
        let agency_ix = city.pick(rng);
        let agency_id = city.agencies[agency_ix].id.clone();
        let by = city.agencies[agency_ix]
            .staff
            .choose(rng)
            .cloned()
            .unwrap_or_default();
        let actor = Actor::new(&by, &agency_id, "caseworker");
        let created = today - Duration::days(rng.random_range(0..3650));
        let family = names::FAMILY[weighted(rng, names::FAMILY, |f| f.2)];
        let district = names::DISTRICTS[weighted(rng, names::DISTRICTS, |d| d.2)];
        let address = format!(
            "鶴岡市{}{}丁目 {}-{}",
            district.1,
            rng.random_range(1..6),
            rng.random_range(1..30),
            rng.random_range(1..20)
        );
        let phone = format!(
            "0235-{:02}-{:04}",
            rng.random_range(10..99),
            rng.random_range(0..10_000)
        );
        let head_birth = rng.random_range(1935..2002);
        let mut house = House {
            id: id(rng),
            agency: agency_ix,
            members: Vec::new(),
        };
        for m in 0..size {
            let (rel, born) = match m {
                0 => ("本人", head_birth),
                1 => ("配偶者", head_birth + rng.random_range(-4..5)),
                _ if head_birth < 1960 => ("長男", head_birth + rng.random_range(22..35)),
                _ => (
                    ["長男", "長女", "次男", "次女"][m % 4],
                    head_birth + rng.random_range(22..40),
                ),
            };
            let born = born.min(2025);
            let female = if m == 1 {
                rng.random_bool(0.9)
            } else {
                rng.random_bool(0.5)
            };
            let given = if female {
                names::FEMALE.choose(rng)
            } else {
                names::MALE.choose(rng)
            }
            .copied()
            .unwrap_or(("太郎", "タロウ"));
            let family_kana = kana::normalize_kana(family.1)?;
            let given_kana = kana::normalize_kana(given.1)?;
            let key = kana::match_key(&format!("{family_kana}{given_kana}"))?;
            let p = person::Model {
                id: id(rng),
                owner_agency_id: agency_id.clone(),
                family_name: family.0.to_owned(),
                given_name: given.0.to_owned(),
                family_name_kana: family_kana,
                given_name_kana: given_kana,
                kana_key: key,
                birth_date: NaiveDate::from_ymd_opt(
                    born,
                    rng.random_range(1..13),
                    rng.random_range(1..29),
                ),
                sex: if female { Sex::Female } else { Sex::Male }
                    .as_str()
                    .to_owned(),
                address: Some(address.clone()),
                phone: (m == 0).then(|| phone.clone()),
                district: Some(district.0.to_owned()),
                address_confidential: rng.random_bool(0.005),
                care_level: (born < 1950 && rng.random_bool(0.3))
                    .then(|| {
                        ["要支援1", "要介護1", "要介護2", "要介護3"]
                            .choose(rng)
                            .map(|s| s.to_string())
                    })
                    .flatten(),
                disability_certificate: rng
                    .random_bool(0.05)
                    .then(|| "精神障害者保健福祉手帳 2級".to_owned()),
                public_assistance: rng.random_bool(0.3).then(|| rng.random_bool(0.1)),
                version: 1,
                created_by: by.clone(),
                created_at: created,
                updated_at: created,
            };
            out.ledger
                .write(rng, actor, CREATE_PERSON, &p.id, Some(&p.id), created);
            person_owner.push((p.id.clone(), agency_ix));
            if in_household {
                members.push(household_member::Model {
                    id: id(rng),
                    household_id: house.id.clone(),
                    person_id: p.id.clone(),
                    relationship: rel.to_owned(),
                    is_head: m == 0,
                    joined_on: Some(created.date_naive()),
                    left_on: None,
                    created_at: created,
                });
                house.members.push(p.id.clone());
            }
            persons.push(p);
            made += 1;
        }
        if in_household {
            households.push(household::Model {
                id: house.id.clone(),
                owner_agency_id: agency_id.clone(),
                version: 1,
                created_by: by.clone(),
                created_at: created,
                updated_at: created,
            });
            out.ledger
                .write(rng, actor, CREATE_HOUSEHOLD, &house.id, None, created);
            houses.push(house);
        }
        let last = made >= scale.persons;
        out.batch(&mut [&mut persons, &mut households, &mut members], last)
            .await?;
    }
    report(t, &[&persons, &households, &members]);
    Ok(People {
        households: houses,
        persons: person_owner,
    })
}
