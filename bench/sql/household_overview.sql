-- 世帯の概要を 1 文で / the household overview as ONE statement (issue 12, item 6): the same
-- tree as bench/queries/household_overview.graphql (household → members → person fields →
-- five most recent consultations → consents; the household's cases and current plans),
-- built by PostgreSQL itself. No consent decisions and no ledger: a bound on what the
-- database can answer, not a competitor. Parameter: :'household_id' (psql -v; tsunagi-bench
-- substitutes it per request and runs the file with `pgbench -M prepared`).
SELECT json_build_object(
  'household', (
    SELECT json_build_object(
      'id', h.id,
      'version', h.version,
      'members', coalesce((
        SELECT json_agg(json_build_object(
          'id', m.id,
          'relationship', m.relationship,
          'isHead', m.is_head,
          'person', json_build_object(
            'id', p.id,
            'familyName', p.family_name,
            'givenName', p.given_name,
            'familyNameKana', p.family_name_kana,
            'givenNameKana', p.given_name_kana,
            'birthDate', p.birth_date,
            'sex', p.sex,
            'address', p.address,
            'district', p.district,
            'phone', p.phone,
            'careLevel', p.care_level,
            'disabilityCertificate', p.disability_certificate,
            'publicAssistance', p.public_assistance,
            'consultations', coalesce((
              SELECT json_agg(json_build_object(
                'id', c.id,
                'receivedAt', c.received_at,
                'channel', c.channel,
                'urgency', c.urgency,
                'status', c.status,
                'summary', c.summary,
                'receivingAgency', json_build_object('id', c.receiving_agency_id),
                'issues', coalesce((
                  SELECT json_agg(json_build_object(
                    'main', ci.is_main, 'category', json_build_object('code', ci.issue_code))
                    ORDER BY ci.issue_code)
                  FROM consultation_issue ci WHERE ci.consultation_id = c.id), '[]'::json),
                'subjects', coalesce((
                  SELECT json_agg(json_build_object('id', cs2.person_id) ORDER BY cs2.person_id)
                  FROM consultation_subject cs2 WHERE cs2.consultation_id = c.id), '[]'::json)
              ) ORDER BY c.received_at DESC, c.id DESC)
              FROM (
                SELECT c.* FROM consultation c
                JOIN consultation_subject cs ON cs.consultation_id = c.id
                WHERE cs.person_id = p.id
                ORDER BY c.received_at DESC, c.id DESC
                LIMIT 5
              ) c), '[]'::json),
            'consents', coalesce((
              SELECT json_agg(json_build_object(
                'id', k.id,
                'state', CASE
                  WHEN k.withdrawn_at IS NOT NULL THEN 'WITHDRAWN'
                  WHEN k.valid_until IS NOT NULL AND k.valid_until <= now() THEN 'EXPIRED'
                  WHEN k.valid_from > now() THEN 'PENDING'
                  ELSE 'ACTIVE' END,
                'purpose', k.purpose,
                'categories', coalesce((
                  SELECT json_agg(kc.category ORDER BY kc.category)
                  FROM consent_category kc WHERE kc.consent_id = k.id), '[]'::json),
                'validFrom', k.valid_from,
                'validUntil', k.valid_until,
                'recipientAgencies', coalesce((
                  SELECT json_agg(json_build_object('id', kr.recipient_value)
                    ORDER BY kr.recipient_value)
                  FROM consent_recipient kr
                  WHERE kr.consent_id = k.id AND kr.recipient_type = 'AGENCY'), '[]'::json)
              ) ORDER BY k.recorded_at, k.id)
              FROM consent k WHERE k.subject_person_id = p.id), '[]'::json)
          )
        ) ORDER BY m.is_head DESC, m.id)
        FROM household_member m
        JOIN person p ON p.id = m.person_id
        WHERE m.household_id = h.id
          AND (m.left_on IS NULL OR m.left_on > current_date)), '[]'::json)
    )
    FROM household h WHERE h.id = :'household_id'
  ),
  'supportCases', coalesce((
    SELECT json_agg(json_build_object(
      'id', sc.id,
      'status', sc.status,
      'openedOn', sc.opened_on,
      'currentPlan', (
        SELECT json_build_object(
          'id', sp.id,
          'planVersion', sp.plan_version,
          'wishes', sp.wishes,
          'longTermGoal', sp.long_term_goal,
          'nextReviewOn', sp.next_review_on)
        FROM support_plan sp WHERE sp.case_id = sc.id
        ORDER BY sp.plan_version DESC LIMIT 1)
    ) ORDER BY sc.opened_on, sc.id)
    FROM support_case sc WHERE sc.household_id = :'household_id'), '[]'::json)
) AS data;
