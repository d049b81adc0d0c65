//! The demo's 多機関協働 workflow for the 山田 household.

use anyhow::anyhow;
use chrono::Duration;
use serde_json::json;

use super::{date, date_time, Loader};
use crate::audit;

/// The 多機関協働 part: the 山田 household's support case (支援決定 — taken by the city, not at
/// the 支援会議, which the API refuses —, a plan
/// agreed by the mother, the centres' involvements), the 支援会議 in session with 包括 and
/// にこころ as members, the son's outreach visits, and the district's community resources
/// with a placement.
pub(super) async fn workflow(
    l: &mut Loader<'_>,
    (son, household): &(String, String),
) -> anyhow::Result<()> {
    let now = audit::now_micros();
    let today = crate::policy::city_date(now);
    let ago = |days: i64| date(today - Duration::days(days));
    let (takikan, houkatsu, nikokoro) = (
        l.agency("city-takikan")?,
        l.agency("houkatsu-chuo")?,
        l.agency("nikokoro")?,
    );
    let coord = "takikan-coord";
    let case = l
        .create(
            coord,
            "mutation DemoCase($i: OpenCaseInput!) { openCase(input: $i) { id } }",
            "openCase",
            json!({ "i": { "householdId": household, "openedOn": ago(50) } }),
        )
        .await?;
    let meeting = l
        .create(coord, "mutation DemoMeeting($i: CreateMeetingInput!) { createMeeting(input: $i) { id } }", "createMeeting",
            json!({ "i": { "kind": "SUPPORT_MEETING", "householdId": household, "caseId": case,
                "heldAt": date_time(now - Duration::days(40)), "participantAgencyIds": [houkatsu, nikokoro],
                "categories": ["IDENTITY", "CONTACT", "HOUSEHOLD", "HEALTH", "PLAN"],
                "periodFrom": date_time(now - Duration::days(40)), "periodUntil": date_time(now + Duration::days(140)) } }))
        .await?;
    l.run(coord, "mutation DemoMinutes($id: ID!, $m: String!) { updateMeetingMinutes(id: $id, version: 1, minutes: $m) { id } }",
        json!({ "id": meeting, "m": "長男の状況共有。本人の同意が得られるまで支援会議で情報を共有し、にこころがアウトリーチを担う。" }))
        .await?;
    l.run(coord, "mutation DemoDecision($c: ID!, $i: SupportDecisionInput!) { recordSupportDecision(caseId: $c, input: $i) { id } }",
        json!({ "c": case, "i": { "decidedOn": ago(45), "decider": "福祉相談課長",
            "basis": "重層的支援体制整備事業実施要綱 第5条" } }))
        .await?;
    for (agency, role) in [
        (&houkatsu, "LEAD"),
        (&nikokoro, "SUPPORTING"),
        (&takikan, "SUPPORTING"),
    ] {
        l.run(coord, "mutation DemoInvolvement($c: ID!, $i: InvolvementInput!) { addInvolvement(caseId: $c, input: $i) { id } }",
            json!({ "c": case, "i": { "agencyId": agency, "role": role, "startedOn": ago(45) } }))
            .await?;
    }
    let plan = l
        .create(coord, "mutation DemoPlan($c: ID!, $i: PlanInput!) { createPlanVersion(caseId: $c, input: $i) { id } }", "createPlanVersion",
            json!({ "c": case, "i": {
                "wishes": "母: 自宅で息子と暮らし続けたい。",
                "longTermGoal": "母の在宅生活の継続と、長男の社会とのつながりの回復",
                "shortTermGoals": ["母の介護サービス利用の安定", "長男との面会の実現"],
                "nextReviewOn": ago(-30),
                "assignments": [
                    { "agencyId": houkatsu, "role": "LEAD", "task": "母のケアマネジメントと家族全体の状況把握", "contactFrequency": "月 1 回訪問" },
                    { "agencyId": nikokoro, "role": "SUPPORTING", "task": "長男へのアウトリーチ (訪問・手紙)", "contactFrequency": "隔週" }
                ] } }))
        .await?;
    // 母の署名 (プラン兼利用申込書): SIGNED.
    l.run(coord, "mutation DemoAgreement($p: ID!, $d: Date!) { recordPlanAgreement(planId: $p, agreedOn: $d, method: SIGNED) { id } }",
        json!({ "p": plan, "d": ago(35) }))
        .await?;
    for to in ["PLANNING", "ACTIVE"] {
        let version = l
            .run(
                coord,
                "query DemoCaseVersion($id: ID!) { supportCase(id: $id) { version } }",
                json!({ "id": case }),
            )
            .await?["supportCase"]["version"]
            .as_i64()
            .ok_or_else(|| anyhow!("case version"))?;
        l.run(coord, "mutation DemoAdvance($id: ID!, $v: Int!, $to: CaseStatus!) { advanceCase(id: $id, version: $v, to: $to) { id } }",
            json!({ "id": case, "v": version, "to": to }))
            .await?;
    }
    for (days, result, stage, note) in [
        (30, "NOT_MET", "PRE_CONTACT", "不在。手紙を投函。"),
        (16, "MET", "CONTACT", "玄関先で 5 分ほど話せた。"),
        (
            2,
            "MET",
            "RELATIONSHIP",
            "自室で面談。ゲームの話題で会話が続いた。",
        ),
    ] {
        l.run("nikokoro-cw", "mutation DemoActivity($i: RecordActivityInput!) { recordActivity(input: $i) { id } }",
            json!({ "i": { "kind": "OUTREACH_VISIT", "personId": son, "caseId": case, "occurredOn": ago(days),
                "result": result, "stage": stage, "nextPlannedOn": ago(days - 14), "note": note } }))
            .await?;
    }
    let mut resources = Vec::new();
    for (kind, name, district, schedule, target) in [
        (
            "SALON",
            "本町ふれあいサロン",
            "中央圏域",
            "毎週水曜 10:00-12:00",
            "高齢者",
        ),
        (
            "CHILDRENS_CAFETERIA",
            "みんなの食堂 西部",
            "西部圏域",
            "第 2・第 4 土曜 17:00-19:00",
            "子どもと保護者",
        ),
        (
            "WORK_EXPERIENCE",
            "農園しごと体験 (大山)",
            "大山圏域",
            "平日 9:00-12:00、要予約",
            "就労経験の少ない方、ひきこもりの方",
        ),
        (
            "IBASHO",
            "まちなか居場所 つなぐ",
            "中央圏域",
            "火・金 13:00-17:00",
            "どなたでも",
        ),
    ] {
        resources.push(
            l.create("shakyo-lsc", "mutation DemoResource($i: ResourceInput!) { createCommunityResource(input: $i) { id } }",
                "createCommunityResource",
                json!({ "i": { "kind": kind, "name": name, "district": district, "schedule": schedule,
                    "targetGroups": target, "capacity": 15, "contact": "社会福祉協議会 地域福祉係" } }))
                .await?,
        );
    }
    l.run("nikokoro-cw", "mutation DemoPlacement($p: ID!, $r: ID!, $d: Date!) { startPlacement(personId: $p, resourceId: $r, startedOn: $d) { id } }",
        json!({ "p": son, "r": resources[3], "d": ago(1) }))
        .await?;
    Ok(())
}
