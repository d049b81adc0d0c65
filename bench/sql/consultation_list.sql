-- 相談の一覧を 1 文で / the consultation list as ONE statement (issue 12, item 6): the
-- receiving agency's 50 latest consultations with their subjects' names and their issues,
-- as the scenario asks. Per-field consent decisions and the ledger are not included: a
-- bound, not a competitor. Parameter: :'agency_id'.
SELECT json_build_object('consultations', json_build_object('nodes', coalesce(json_agg(
  json_build_object(
    'id', c.id,
    'receivedAt', c.received_at,
    'channel', c.channel,
    'urgency', c.urgency,
    'status', c.status,
    'summary', c.summary,
    'subjects', coalesce((
      SELECT json_agg(json_build_object(
        'id', p.id, 'familyName', p.family_name, 'givenName', p.given_name) ORDER BY p.id)
      FROM consultation_subject cs JOIN person p ON p.id = cs.person_id
      WHERE cs.consultation_id = c.id), '[]'::json),
    'issues', coalesce((
      SELECT json_agg(json_build_object(
        'main', ci.is_main, 'category', json_build_object('code', ci.issue_code))
        ORDER BY ci.issue_code)
      FROM consultation_issue ci WHERE ci.consultation_id = c.id), '[]'::json))
  ORDER BY c.received_at DESC, c.id DESC), '[]'::json))) AS data
FROM (
  SELECT * FROM consultation
  WHERE receiving_agency_id = :'agency_id'
  ORDER BY received_at DESC, id DESC
  LIMIT 50
) c;
