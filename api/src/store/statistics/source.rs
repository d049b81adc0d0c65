//! What each measure counts: its rows, its unit and the expression of each dimension it has.

use super::Measure;

/// Where a measure's date comes from: a timestamp (taken in the city's time, JST) or a date.
#[derive(Clone, Copy)]
pub(super) enum When {
    At(&'static str),
    On(&'static str),
}

/// How a measure is read: its rows, its unit, and the expression of each dimension it has.
pub(super) struct Source {
    /// FROM and the joins every row needs.
    pub(super) from: &'static str,
    /// Extra conditions of the measure (`TRUE` when none).
    pub(super) condition: &'static str,
    pub(super) unit: &'static str,
    pub(super) key: &'static str,
    pub(super) when: When,
    /// The join that gives the person (alias `p`) a row is about, if any.
    pub(super) person: Option<&'static str>,
    /// Whether a row of `from` is exactly one unit.
    pub(super) row_is_unit: bool,
    /// Whether the person join can give a row more than once (a consultation's subjects).
    pub(super) person_repeats: bool,
    pub(super) agency: &'static str,
    /// The consultation whose main issue classifies the row, if any.
    pub(super) consultation: Option<&'static str>,
    pub(super) channel: Option<&'static str>,
    pub(super) status: Option<&'static str>,
    pub(super) kind: Option<&'static str>,
}

pub(super) const SUBJECTS: &str = "JOIN consultation_subject cs ON cs.consultation_id = c.id \
                        JOIN person p ON p.id = cs.person_id";

pub(super) fn source(measure: Measure) -> Source {
    use Measure::*;
    let consultation = Source {
        from: "consultation c",
        condition: "1 = 1",
        unit: "c.id",
        key: "c.stat_key",
        when: When::At("c.received_at"),
        person: Some(SUBJECTS),
        row_is_unit: true,
        person_repeats: true,
        agency: "c.receiving_agency_id",
        consultation: Some("c.id"),
        channel: Some("c.channel"),
        status: Some("c.status"),
        kind: Some("c.urgency"),
    };
    let referral = Source {
        from: "referral r",
        condition: "1 = 1",
        unit: "r.id",
        key: "r.stat_key",
        when: When::At("r.created_at"),
        person: Some("JOIN person p ON p.id = r.person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "r.from_agency_id",
        consultation: Some("r.consultation_id"),
        channel: None,
        status: Some("r.status"),
        kind: None,
    };
    let case = |from, condition, unit, key, when, status| Source {
        from,
        condition,
        unit,
        key,
        when,
        person: None,
        row_is_unit: true,
        person_repeats: false,
        agency: "sc.owner_agency_id",
        consultation: None,
        channel: None,
        status,
        kind: None,
    };
    let outreach = Source {
        from: "activity a",
        condition: "a.kind = 'OUTREACH_VISIT'",
        unit: "a.id",
        key: "a.stat_key",
        when: When::On("a.occurred_on"),
        person: Some("JOIN person p ON p.id = a.person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "a.agency_id",
        consultation: None,
        channel: None,
        status: Some("a.stage"),
        kind: Some("a.result"),
    };
    let placement = Source {
        from: "participation_placement pp JOIN community_resource cr ON cr.id = pp.resource_id",
        condition: "1 = 1",
        unit: "pp.id",
        key: "pp.stat_key",
        when: When::On("pp.started_on"),
        person: Some("JOIN person p ON p.id = pp.person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "pp.agency_id",
        consultation: None,
        channel: None,
        status: Some("pp.status"),
        kind: Some("cr.kind"),
    };
    let consent = Source {
        from: "consent cn",
        condition: "1 = 1",
        unit: "cn.id",
        key: "cn.stat_key",
        when: When::At("cn.recorded_at"),
        person: Some("JOIN person p ON p.id = cn.subject_person_id"),
        row_is_unit: true,
        person_repeats: false,
        agency: "cn.recorded_agency_id",
        consultation: None,
        channel: None,
        status: Some("CASE WHEN cn.withdrawn_at IS NULL THEN 'ACTIVE' ELSE 'WITHDRAWN' END"),
        kind: Some("cn.method"),
    };
    match measure {
        Consultations => consultation,
        PersonsConsulted => Source {
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..consultation
        },
        NewPersonsConsulted => Source {
            // The person's first consultation anywhere in the hub.
            condition: "NOT EXISTS (SELECT 1 FROM consultation_subject cs2 \
                        JOIN consultation c2 ON c2.id = cs2.consultation_id \
                        WHERE cs2.person_id = cs.person_id AND c2.received_at < c.received_at)",
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..consultation
        },
        HouseholdsConsulted => Source {
            from: "consultation c JOIN household h ON h.id = c.household_id",
            unit: "h.id",
            key: "h.stat_key",
            row_is_unit: false,
            ..consultation
        },
        Referrals => referral,
        ReferralsAccepted => Source {
            condition: "r.status IN ('ACCEPTED', 'COMPLETED')",
            ..referral
        },
        CasesOpened => case(
            "support_case sc",
            "1 = 1",
            "sc.id",
            "sc.stat_key",
            When::On("sc.opened_on"),
            Some("sc.status"),
        ),
        SupportDecisions => case(
            "case_decision d JOIN support_case sc ON sc.id = d.case_id",
            "d.kind = 'SUPPORT_DECISION'",
            "d.id",
            "d.stat_key",
            When::On("d.decided_on"),
            None,
        ),
        CasesClosed => case(
            "case_decision d JOIN support_case sc ON sc.id = d.case_id",
            "d.kind = 'CLOSURE'",
            "d.id",
            "d.stat_key",
            When::On("d.decided_on"),
            Some("d.reason"),
        ),
        PlansMade => case(
            "support_plan sp JOIN support_case sc ON sc.id = sp.case_id",
            "1 = 1",
            "sp.id",
            "sp.stat_key",
            When::At("sp.created_at"),
            None,
        ),
        PlansAgreed => case(
            "support_plan sp JOIN support_case sc ON sc.id = sp.case_id",
            "sp.agreed_on IS NOT NULL",
            "sp.id",
            "sp.stat_key",
            When::On("sp.agreed_on"),
            None,
        ),
        Meetings => Source {
            from: "meeting m",
            condition: "1 = 1",
            unit: "m.id",
            key: "m.stat_key",
            when: When::At("m.held_at"),
            person: None,
            row_is_unit: true,
            person_repeats: false,
            agency: "m.owner_agency_id",
            consultation: None,
            channel: None,
            status: None,
            kind: Some("m.kind"),
        },
        OutreachContacts => outreach,
        OutreachPersons => Source {
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..outreach
        },
        PlacementsStarted => placement,
        PlacementsRetained => Source {
            // Still placed three months after the start, counted once those months are over
            // (the placeholder is replaced by the dialect's "start + 3 months").
            condition: "{RETAINED}",
            ..placement
        },
        PlacementPersons => Source {
            unit: "p.id",
            key: "p.stat_key",
            row_is_unit: false,
            ..placement
        },
        ConsentsRecorded => consent,
        ConsentsWithdrawn => Source {
            condition: "cn.withdrawn_at IS NOT NULL",
            when: When::At("cn.withdrawn_at"),
            ..consent
        },
    }
}
