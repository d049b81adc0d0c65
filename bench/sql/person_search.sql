-- 人の検索を 1 文で / the person search as ONE statement (issue 12, item 6): a kana prefix,
-- the first 20 persons in id order among those the reader may know (the visibility index:
-- an entry of the reader's agency, its kind or its account, for IDENTITY or every category,
-- for SUPPORT or every purpose, open now), with the fields the scenario asks for. Per-field
-- consent decisions and the ledger are not included: a bound, not a competitor.
-- Parameters: :'login' (the reader's account) and :'kana' (a match-key prefix).
WITH me AS (
  SELECT a.id AS account_id, g.id AS agency_id, g.kind AS agency_kind
  FROM account a JOIN agency g ON g.id = a.agency_id
  WHERE a.login = :'login'
), found AS (
  SELECT p.* FROM person p
  WHERE p.kana_key LIKE :'kana' || '%'
    AND p.id IN (
      SELECT v.person_id FROM visibility v, me
      WHERE v.grantee IN ('AGENCY:' || me.agency_id, 'AGENCY_KIND:' || me.agency_kind,
                          'ACCOUNT:' || me.account_id)
        AND v.category IN ('IDENTITY', '*')
        AND v.purpose IN ('SUPPORT', '*')
        AND (v.valid_from IS NULL OR v.valid_from <= now())
        AND (v.valid_until IS NULL OR v.valid_until > now()))
  ORDER BY p.id
  LIMIT 20
)
SELECT json_build_object('persons', json_build_object('nodes', coalesce(json_agg(
  json_build_object(
    'id', f.id,
    'familyName', f.family_name,
    'givenName', f.given_name,
    'familyNameKana', f.family_name_kana,
    'givenNameKana', f.given_name_kana,
    'birthDate', f.birth_date,
    'district', f.district)
  ORDER BY f.id), '[]'::json))) AS data
FROM found f;
