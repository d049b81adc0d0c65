// つなぎ 管理コンソール: the pages. Each asks the GraphQL API with the signed-in token and
// shows what the API answers, withheld fields as withheld.
(function () {
  'use strict';
  var T = window.Tsunagi, h = T.h, t = T.t, gql = T.gql;

  Object.assign(T.words.ja, {
    findPerson: '本人を探す', kana: 'カナ（氏名の一部）', kanaRequired: 'カナを入力してください', birthDate: '生年月日', district: '地区',
    name: '氏名', results: '検索結果', noResults: '該当する本人はいません（見える範囲で）',
    person: '本人', sex: '性別', owner: '登録機関', consents: '同意（履歴を含む）',
    state: '状態', categories: '情報の区分', recipients: '提供先', purpose: '目的',
    validFrom: '開始日', validUntil: '失効日（その日の 0:00 に失効）', method: '方法', recordedAt: '記録日時',
    withdrawnAt: '撤回日時', reason: '理由', withdraw: '撤回', withdrawConsent: '同意を撤回',
    withdrawReason: '撤回の理由', recordConsent: '同意を記録', givenBy: '同意した人',
    SELF: '本人', PROXY: '代理人', proxyName: '代理人の氏名', proxyRelationship: '本人との関係',
    ordinaryCats: '情報の区分', specialCats: '要配慮個人情報（区分ごとに個別に同意）',
    specialHelp: '健康・障害、虐待・保護は、本人が区分ごとに明示的に同意した場合だけ選んでください。',
    recipientAgencies: '提供先の機関', recipientKinds: '提供先の機関種別',
    evidenceRef: '同意書の保管場所（文書番号など）', explanationVersion: '説明文書の版',
    access: '各機関から今見える範囲とその根拠', accessHelp: '各機関の最初の有効な職員アカウントについて explainAccess が答えた結果です。',
    agency: '機関', allowed: '可', denied: '不可', disclosure: '開示請求報告書',
    showDisclosure: '報告書を表示', print: '印刷', back: '一覧へ戻る',
    agencies: '機関', agencyName: '名称', regime: '法的位置づけ', createAgency: '機関を登録',
    PUBLIC_BODY: '行政機関等（個人情報保護法 第69条）', PRIVATE_OPERATOR: '民間事業者（同法 第27条）', accountsList: 'アカウント', login: 'ログイン名', displayName: '表示名',
    kind: '種別', active: '有効', deactivate: '無効化', reactivate: '有効化', editRoles: 'ロール変更',
    createAccount: 'アカウントを作成', clients: 'サービスクライアント（連携システム）',
    scopes: 'スコープ', rotated: 'シークレット更新日時', rotate: 'シークレットを再発行',
    createClient: 'サービスクライアントを作成', secretOnce: '新しいシークレット（この画面でしか表示されません。今すぐ安全な場所に保管してください）',
    clientName: 'クライアント名', serviceAccount: 'サービスアカウント', code: 'コード',
    ledgerTitle: '台帳（誰が誰の何を見たか）', personId: '本人 ID', accountId: 'アカウント ID',
    basis: '根拠', from: '開始日時（日本時間）', to: '終了日時（日本時間、含まない）', action: '操作', any: 'すべて', filter: '絞り込む',
    at: '日時', record: '記録', shownCol: '表示した区分', withheldCol: '非表示の区分', more: 'さらに読み込む',
    loadedRows: '{n} 件（新しい順）', OWN: '自機関の記録', CONSENT: '同意', SUPPORT_MEETING: '支援会議', EMERGENCY: '緊急時アクセス',
    verify: '連鎖を検証', chainOk: '台帳の連鎖は正常です（{n} 件を検証）', chainBroken: '台帳の連鎖が壊れています: 行 {seq}、{problem}',
    grants: '緊急アクセス（未レビュー）', grantedAt: '付与日時', expiresAt: '期限', close: 'レビューして閉じる',
    reviewNote: 'レビュー記録', noGrants: '未レビューの緊急アクセスはありません',
    evalTitle: '事業評価（重層的支援体制整備事業 実施計画）', fiscalYear: '年度', show: '表示',
    indicator: '指標', actual: '実績', target: '目標', rate: '達成率', previous: '前年度',
    chart: '実績と目標（指標ごと）', trend: '推移（4年度）', downloadCsv: 'CSV をダウンロード',
    setTarget: '目標を設定', value: '値', note: 'メモ', disabled: '集計停止中',
    threshold: '秘匿の閾値', methodCol: '秘匿の方法'
  });
  Object.assign(T.words.en, {
    findPerson: 'Find a person', kana: 'Kana (part of the name)', kanaRequired: 'Enter the kana', birthDate: 'Birth date', district: 'District',
    name: 'Name', results: 'Results', noResults: 'No person matches (within what you may see)',
    person: 'Person', sex: 'Sex', owner: 'Registering agency', consents: 'Consents (with history)',
    state: 'State', categories: 'Categories', recipients: 'Recipients', purpose: 'Purpose',
    validFrom: 'From', validUntil: 'Lapses on (at 00:00)', method: 'Method', recordedAt: 'Recorded',
    withdrawnAt: 'Withdrawn', reason: 'Reason', withdraw: 'Withdraw', withdrawConsent: 'Withdraw consent',
    withdrawReason: 'Reason for withdrawal', recordConsent: 'Record a consent', givenBy: 'Given by',
    SELF: 'The person', PROXY: 'A proxy', proxyName: 'Proxy name', proxyRelationship: 'Relationship',
    ordinaryCats: 'Categories', specialCats: 'Special-care categories (each consented separately)',
    specialHelp: 'Tick health/disability or abuse/protection only where the person consented to that category explicitly.',
    recipientAgencies: 'Recipient agencies', recipientKinds: 'Recipient agency kinds',
    evidenceRef: 'Where the signed form is kept', explanationVersion: 'Explanation version',
    access: 'What each agency can see now, and why', accessHelp: 'explainAccess for the first active staff account of each agency.',
    agency: 'Agency', allowed: 'yes', denied: 'no', disclosure: 'Disclosure report',
    showDisclosure: 'Show the report', print: 'Print', back: 'Back to the list',
    agencies: 'Agencies', agencyName: 'Name', regime: 'Legal regime', createAgency: 'Register an agency',
    PUBLIC_BODY: 'Public body (APPI art. 69)', PRIVATE_OPERATOR: 'Private operator (APPI art. 27)', accountsList: 'Accounts', login: 'Login', displayName: 'Display name',
    kind: 'Kind', active: 'Active', deactivate: 'Deactivate', reactivate: 'Reactivate', editRoles: 'Change roles',
    createAccount: 'Create an account', clients: 'Service clients (agency systems)',
    scopes: 'Scopes', rotated: 'Secret rotated', rotate: 'Rotate secret',
    createClient: 'Create a service client', secretOnce: 'New secret (shown only here, once: store it safely now)',
    clientName: 'Client name', serviceAccount: 'Service account', code: 'Code',
    ledgerTitle: 'Ledger (who saw what of whom)', personId: 'Person id', accountId: 'Account id',
    basis: 'Basis', from: 'From (Japan time)', to: 'Until (Japan time, excluded)', action: 'Action', any: 'any', filter: 'Filter',
    at: 'At', record: 'Record', shownCol: 'Shown', withheldCol: 'Withheld', more: 'Load more',
    loadedRows: '{n} rows (newest first)', OWN: 'Own record', CONSENT: 'Consent', SUPPORT_MEETING: 'Support meeting', EMERGENCY: 'Emergency access',
    verify: 'Verify the chain', chainOk: 'The ledger chain is intact ({n} rows checked)', chainBroken: 'The ledger chain is broken at row {seq}: {problem}',
    grants: 'Emergency access (open)', grantedAt: 'Granted', expiresAt: 'Expires', close: 'Review and close',
    reviewNote: 'Review note', noGrants: 'No open emergency grants',
    evalTitle: 'Evaluation (実施計画)', fiscalYear: 'Fiscal year', show: 'Show',
    indicator: 'Indicator', actual: 'Actual', target: 'Target', rate: 'Achieved', previous: 'Previous year',
    chart: 'Actual against target, per indicator', trend: 'Trend (4 fiscal years)', downloadCsv: 'Download CSV',
    setTarget: 'Set a target', value: 'Value', note: 'Note', disabled: 'switched off',
    threshold: 'Threshold', methodCol: 'Method'
  });

  var CATEGORIES = ['IDENTITY', 'CONTACT', 'HOUSEHOLD', 'LIVELIHOOD', 'NARRATIVE', 'PLAN', 'HEALTH', 'CHILD_PROTECTION'];
  var SPECIAL = ['HEALTH', 'CHILD_PROTECTION'];
  var CATEGORY_NAMES = {
    ja: { IDENTITY: '本人特定', CONTACT: '連絡先', HOUSEHOLD: '世帯', LIVELIHOOD: '生計', NARRATIVE: '相談記録等の記述', PLAN: '支援プラン', HEALTH: '健康・障害（要配慮）', CHILD_PROTECTION: '虐待・保護（要配慮）' },
    en: { IDENTITY: 'Identity', CONTACT: 'Contact', HOUSEHOLD: 'Household', LIVELIHOOD: 'Livelihood', NARRATIVE: 'Narrative', PLAN: 'Plan', HEALTH: 'Health (special care)', CHILD_PROTECTION: 'Abuse/protection (special care)' }
  };
  var KIND_NAMES = {
    ja: { COMPREHENSIVE_CARE: '地域包括支援センター', DISABILITY: '障害者相談支援', CHILD_FAMILY: 'こども家庭センター', SELF_RELIANCE: '自立相談支援機関', PARTICIPATION_SUPPORT: '参加支援', COMMUNITY_BUILDING: '地域づくり', OUTREACH: 'アウトリーチ', MULTI_AGENCY: '多機関協働', CITY_OFFICE: '市役所（所管課）', THIRD_PARTY: '第三者' },
    en: { COMPREHENSIVE_CARE: 'Comprehensive community care centre', DISABILITY: 'Disability consultation', CHILD_FAMILY: 'Children and family centre', SELF_RELIANCE: 'Self-reliance (poverty) support', PARTICIPATION_SUPPORT: 'Participation support', COMMUNITY_BUILDING: 'Community building', OUTREACH: 'Outreach', MULTI_AGENCY: 'Multi-agency coordination', CITY_OFFICE: 'City office', THIRD_PARTY: 'Third party' }
  };
  var KINDS = ['COMPREHENSIVE_CARE', 'DISABILITY', 'CHILD_FAMILY', 'SELF_RELIANCE', 'PARTICIPATION_SUPPORT', 'COMMUNITY_BUILDING', 'OUTREACH', 'MULTI_AGENCY', 'CITY_OFFICE', 'THIRD_PARTY'];
  var ROLES = ['ADMIN', 'COORDINATOR', 'CASEWORKER', 'LIFE_SUPPORT_COORDINATOR', 'ANALYST', 'AUDITOR', 'INTEGRATION'];
  var METHODS = ['WRITTEN', 'ORAL_WITH_WITNESS', 'ELECTRONIC'];

  function hasRole(any) { return T.viewer().effectiveRoles.some(function (r) { return any.indexOf(r) >= 0; }); }
  function kind(k) { return KIND_NAMES[T.lang()][k] || k; }
  function cat(c) { return CATEGORY_NAMES[T.lang()][c] || c; }
  function fill(text, values) { return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; }); }
  function today() { var d = new Date(); return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10); }
  // Instants are shown in Japan time (a date-only consent starts at 00:00 JST, 15:00 UTC the day before).
  function when(s) { return s ? new Date(s).toLocaleString('sv-SE', { timeZone: 'Asia/Tokyo' }) : ''; }
  function idFor(prefix, value) { return prefix + '-' + String(value).toLowerCase().replace(/[^a-z0-9]+/g, '-'); }

  function table(caption, heads, rows, attrs) {
    return h('div', { class: 'scroll' }, h('table', attrs || null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, heads.map(function (x) { return h('th', { scope: 'col' }, x); }))),
      h('tbody', null, rows)));
  }
  function field(id, label, input, help) {
    return h('div', { class: 'field' }, h('label', { for: id }, label),
      help ? h('p', { class: 'help', id: id + '-help' }, help) : null, input);
  }
  function checkboxes(legend, name, values, label, checked, help) {
    return h('fieldset', { class: 'checks', 'aria-describedby': help ? name + '-help' : null }, h('legend', null, legend),
      help ? h('p', { class: 'help', id: name + '-help' }, help) : null,
      values.map(function (v) {
        var id = idFor(name, v);
        return h('div', { class: 'check' },
          h('input', { type: 'checkbox', id: id, name: name, value: v, checked: checked && checked.indexOf(v) >= 0 }),
          h('label', { for: id }, label(v)));
      }));
  }
  function ticked(form, name) {
    return Array.prototype.map.call(form.querySelectorAll('input[name="' + name + '"]:checked'), function (i) { return i.value; });
  }
  function select(id, options, value) {
    return h('select', { id: id, name: id }, options.map(function (o) {
      var v = Array.isArray(o) ? o[0] : o, l = Array.isArray(o) ? o[1] : o;
      var opt = h('option', { value: v }, l);
      if (String(v) === String(value)) opt.selected = true;
      return opt;
    }));
  }
  // Shows an answer's errors in `out`, or runs `then` with its data.
  function answer(out, r, then) {
    out.textContent = '';
    if (r.errors && r.errors.length) { out.appendChild(T.errorList(r.errors)); T.status(t('error')); return false; }
    if (then) then(r.data);
    return true;
  }

  // ---------------------------------------------------------------- persons and consent
  T.pages.persons = function (main, rest) {
    if (rest[0]) { var pid; try { pid = decodeURIComponent(rest[0]); } catch (e) { pid = ''; } return personPage(main, pid); }
    main.appendChild(h('h1', null, t('findPerson')));
    var out = h('div', { id: 'person-results', 'aria-live': 'polite' });
    var form = h('form', { id: 'person-search', class: 'inline' },
      field('kana', t('kana'), h('input', { id: 'kana', name: 'kana', type: 'text', lang: 'ja', autocomplete: 'off', required: true })),
      field('birth', t('birthDate'), h('input', { id: 'birth', name: 'birth', type: 'date' })),
      h('button', { type: 'submit', class: 'primary' }, t('search')));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var kana = form.kana.value.trim(), birth = form.birth.value;
      // Kana is required: a birth date alone would list (and ledger) everyone the caller sees.
      if (!kana) {
        out.textContent = '';
        out.appendChild(T.errorList([{ message: t('kanaRequired'), extensions: { code: 'BAD_USER_INPUT', field: 'kana' } }]));
        form.kana.focus();
        return;
      }
      T.status(t('loading'));
      gql('query($kana: String) { persons(kana: $kana, first: 50) { nodes { id familyName givenName familyNameKana givenNameKana birthDate } } }', { kana: kana })
        .then(function (r) {
          answer(out, r, function (d) {
            var list = d.persons.nodes.filter(function (p) { return !birth || p.birthDate === birth; });
            T.status(list.length + ' / ' + t('results'));
            if (!list.length) { out.appendChild(h('p', null, t('noResults'))); return; }
            out.appendChild(table(t('results'), [t('name'), t('kana'), t('birthDate'), ''],
              list.map(function (p) {
                return h('tr', null,
                  h('td', null, p.familyName === null ? t('withheld') : (p.familyName + ' ' + (p.givenName || ''))),
                  h('td', null, p.familyNameKana === null ? t('withheld') : (p.familyNameKana + ' ' + (p.givenNameKana || ''))),
                  h('td', null, T.shown(p.birthDate)),
                  h('td', null, h('a', { href: '#/persons/' + encodeURIComponent(p.id), class: 'person-link' }, t('open'))));
              })));
          });
        });
    });
    var byId = h('form', { id: 'person-open', class: 'inline' },
      field('person-id', t('personId'), h('input', { id: 'person-id', name: 'personId', type: 'text', autocomplete: 'off' })),
      h('button', { type: 'submit' }, t('open')));
    byId.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var v = byId.personId.value.trim();
      if (v) location.hash = '#/persons/' + encodeURIComponent(v);
    });
    main.appendChild(form);
    main.appendChild(byId);
    main.appendChild(out);
  };

  var PERSON = 'query($id: ID!) { person(id: $id) { id familyName givenName familyNameKana givenNameKana birthDate sex district ownerAgency { name } } ' +
    'consents(personId: $id) { id state givenBy proxyName proxyRelationship categories recipientAgencies { id name } recipientAgencyKinds purpose validFrom validUntil method evidenceRef recordedAt recordedAgency { name } withdrawnAt withdrawalReason version } ' +
    'agencies { id name kind active } }';

  function personPage(main, id) {
    main.appendChild(h('p', null, h('a', { href: '#/persons' }, t('back'))));
    main.appendChild(h('h1', null, t('person')));
    var body = h('div', { id: 'person-body' });
    main.appendChild(body);
    T.status(t('loading'));
    gql(PERSON, { id: id }).then(function (r) {
      if (!r.data || !r.data.agencies) { answer(body, r); return; }
      var d = r.data, p = d.person;
      // An admin or auditor may see a person's consents and who may see what, without
      // seeing the person: the API answers person NOT_FOUND and the rest.
      if (r.errors) body.appendChild(T.errorList(r.errors));
      if (p) body.appendChild(h('dl', { class: 'facts', id: 'person-facts' },
        h('dt', null, t('name')), h('dd', null, p.familyName === null ? t('withheld') : p.familyName + ' ' + (p.givenName || '')),
        h('dt', null, t('kana')), h('dd', null, p.familyNameKana === null ? t('withheld') : p.familyNameKana + ' ' + (p.givenNameKana || '')),
        h('dt', null, t('birthDate')), h('dd', null, T.shown(p.birthDate)),
        h('dt', null, t('sex')), h('dd', null, T.shown(p.sex)),
        h('dt', null, t('district')), h('dd', null, T.shown(p.district)),
        h('dt', null, t('owner')), h('dd', null, p.ownerAgency ? p.ownerAgency.name : t('withheld'))));
      body.appendChild(consentTable(id, d.consents || []));
      // Forms only for the roles the API lets do it (the API decides regardless).
      if (hasRole(['COORDINATOR', 'CASEWORKER'])) body.appendChild(consentForm(id, d.agencies));
      body.appendChild(accessSection(id, d.agencies));
      if (hasRole(['ADMIN'])) body.appendChild(disclosureSection(id));
      T.status(t('done'));
    });
  }

  function consentTable(personId, consents) {
    var section = h('section', { 'aria-labelledby': 'consents-h' }, h('h2', { id: 'consents-h' }, t('consents')));
    var rows = consents.map(function (c) {
      var recipients = c.recipientAgencies.map(function (a) { return a.name; }).concat(c.recipientAgencyKinds.map(kind));
      var cell = h('td', null);
      if ((c.state === 'ACTIVE' || c.state === 'NOT_YET_VALID') && hasRole(['COORDINATOR', 'CASEWORKER'])) {
        cell.appendChild(h('button', {
          type: 'button', class: 'withdraw', 'data-consent': c.id, 'aria-label': t('withdraw') + ': ' + c.categories.map(cat).join('、') + ' (' + when(c.recordedAt) + ')',
          onclick: function () { cell.textContent = ''; cell.appendChild(withdrawForm(personId, c)); cell.querySelector('textarea').focus(); }
        }, t('withdraw')));
      }
      return h('tr', { 'data-consent': c.id, 'data-state': c.state },
        h('td', null, c.state), h('td', null, c.categories.map(cat).join('、')), h('td', null, recipients.join('、')),
        h('td', null, c.purpose), h('td', null, when(c.validFrom).slice(0, 10)), h('td', null, c.validUntil ? when(c.validUntil).slice(0, 10) : ''),
        h('td', null, c.givenBy === 'PROXY' ? t('PROXY') + ': ' + (c.proxyName || '') + ' (' + (c.proxyRelationship || '') + ')' : t('SELF')),
        h('td', null, c.method), h('td', null, when(c.recordedAt)),
        h('td', null, c.withdrawnAt ? when(c.withdrawnAt) + ' ' + (c.withdrawalReason || '') : ''), cell);
    });
    section.appendChild(rows.length ? table(t('consents'), [t('state'), t('categories'), t('recipients'), t('purpose'), t('validFrom'), t('validUntil'), t('givenBy'), t('method'), t('recordedAt'), t('withdrawnAt'), ''], rows, { id: 'consents' }) : h('p', null, t('none')));
    return section;
  }

  function withdrawForm(personId, c) {
    var out = h('div');
    var form = h('form', { class: 'withdraw-form' },
      field('withdraw-reason-' + c.id, t('withdrawReason'), h('textarea', { id: 'withdraw-reason-' + c.id, name: 'reason', rows: 2, required: true })),
      h('button', { type: 'submit', class: 'danger' }, t('withdrawConsent')), ' ',
      h('button', { type: 'button', onclick: function () { T.render(null, '#consents button.withdraw[data-consent="' + CSS.escape(c.id) + '"]'); } }, t('cancel')), out);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      gql('mutation($id: ID!, $v: Int!, $r: String) { withdrawConsent(id: $id, version: $v, reason: $r) { id state } }',
        { id: c.id, v: c.version, r: form.reason.value.trim() || null })
        .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, '#consents-h'); } });
    });
    return form;
  }

  function consentForm(personId, agencies) {
    var out = h('div', { id: 'consent-result' });
    var ordinary = CATEGORIES.filter(function (c) { return SPECIAL.indexOf(c) < 0; });
    var names = {};
    agencies.forEach(function (a) { names[a.id] = a.name; });
    var form = h('form', { id: 'consent-form' },
      h('fieldset', { class: 'checks' }, h('legend', null, t('givenBy')),
        ['SELF', 'PROXY'].map(function (g) {
          return h('div', { class: 'check' }, h('input', { type: 'radio', name: 'givenBy', id: idFor('given', g), value: g, checked: g === 'SELF' }),
            h('label', { for: idFor('given', g) }, t(g)));
        })),
      field('proxy-name', t('proxyName'), h('input', { id: 'proxy-name', name: 'proxyName', type: 'text' })),
      field('proxy-relationship', t('proxyRelationship'), h('input', { id: 'proxy-relationship', name: 'proxyRelationship', type: 'text' })),
      checkboxes(t('ordinaryCats'), 'category', ordinary, cat, ['IDENTITY']),
      checkboxes(t('specialCats'), 'special', SPECIAL, cat, [], t('specialHelp')),
      checkboxes(t('recipientAgencies'), 'agency', agencies.filter(function (a) { return a.active; }).map(function (a) { return a.id; }), function (id) { return names[id]; }, []),
      checkboxes(t('recipientKinds'), 'kind', KINDS, kind, []),
      field('purpose', t('purpose'), select('purpose', ['SUPPORT', 'EVALUATION'], 'SUPPORT')),
      field('valid-from', t('validFrom'), h('input', { id: 'valid-from', name: 'validFrom', type: 'date', value: today(), required: true })),
      field('valid-until', t('validUntil'), h('input', { id: 'valid-until', name: 'validUntil', type: 'date' })),
      field('method', t('method'), select('method', METHODS, 'WRITTEN')),
      field('evidence', t('evidenceRef'), h('input', { id: 'evidence', name: 'evidence', type: 'text' })),
      field('explanation', t('explanationVersion'), h('input', { id: 'explanation', name: 'explanation', type: 'text' })),
      h('p', null, h('button', { type: 'submit', class: 'primary', id: 'consent-submit' }, t('recordConsent'))), out);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var given = form.querySelector('input[name="givenBy"]:checked').value;
      var input = {
        personId: personId, givenBy: given,
        proxyName: given === 'PROXY' ? form.proxyName.value.trim() || null : null,
        proxyRelationship: given === 'PROXY' ? form.proxyRelationship.value.trim() || null : null,
        categories: ticked(form, 'category').concat(ticked(form, 'special')),
        recipientAgencyIds: ticked(form, 'agency'), recipientAgencyKinds: ticked(form, 'kind'),
        purpose: form.purpose.value, validFrom: form.validFrom.value, validUntil: form.validUntil.value || null,
        method: form.elements.method.value, evidenceRef: form.evidence.value.trim() || null,
        explanationVersion: form.explanation.value.trim() || null
      };
      gql('mutation($input: RecordConsentInput!) { recordConsent(input: $input) { id state } }', { input: input })
        .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, '#consents-h'); } });
    });
    return h('section', { 'aria-labelledby': 'record-h' }, h('h2', { id: 'record-h' }, t('recordConsent')), form);
  }

  // Admins (who may list accounts and explain another's access) get a row per agency, for
  // its first active staff account; anyone else gets their own row.
  function accessSection(personId, agencies) {
    var section = h('section', { 'aria-labelledby': 'access-h' }, h('h2', { id: 'access-h' }, t('access')));
    var out = h('div', { id: 'access' });
    section.appendChild(out);
    var roles = T.viewer().effectiveRoles;
    var oversee = roles.indexOf('ADMIN') >= 0; // the account list is the admins'
    var accounts = oversee ? gql('{ accounts { id kind active agency { id } } }') : Promise.resolve({ data: { accounts: [] } });
    accounts.then(function (ra) {
      var pick = [];
      if (oversee) {
        section.insertBefore(h('p', { class: 'help' }, t('accessHelp')), out);
        agencies.forEach(function (a) {
          var acc = ((ra.data && ra.data.accounts) || []).filter(function (x) { return x.active && x.kind === 'STAFF' && x.agency.id === a.id; })[0];
          if (acc) pick.push({ agency: a, account: acc.id });
        });
      }
      if (!pick.length) pick.push({ agency: T.viewer().agency, account: null });
      // One request: an aliased explainAccess per account, each account a variable.
      var vars = { p: personId };
      var q = 'query($p: ID!' + pick.map(function (x, i) { vars['acc' + i] = x.account; return ', $acc' + i + ': ID'; }).join('') + ') { ' +
        pick.map(function (x, i) {
          return 'a' + i + ': explainAccess(personId: $p, accountId: $acc' + i + ') { items { category allowed basis denial } }';
        }).join(' ') + ' }';
      return gql(q, vars).then(function (r) {
        if (!r.data) { answer(out, r); return; }
        var rows = pick.map(function (x, i) {
          var byCat = {};
          ((r.data['a' + i] && r.data['a' + i].items) || []).forEach(function (it) { byCat[it.category] = it; });
          return h('tr', { 'data-agency': x.agency.id },
            h('th', { scope: 'row' }, x.agency.name),
            CATEGORIES.map(function (c) {
              var it = byCat[c];
              if (!it) return h('td', { 'data-category': c }, '—');
              return h('td', { 'data-category': c, 'data-allowed': String(it.allowed), class: it.allowed ? 'yes' : 'no' },
                h('span', { class: 'mark' }, it.allowed ? t('allowed') : t('denied')),
                h('span', { class: 'why' }, it.allowed ? (it.basis || '') : (it.denial || '')));
            }));
        });
        out.appendChild(table(t('access'), [t('agency')].concat(CATEGORIES.map(cat)), rows, { id: 'access-matrix' }));
        if (r.errors) out.appendChild(T.errorList(r.errors));
      });
    });
    return section;
  }

  function disclosureSection(personId) {
    var out = h('div', { id: 'disclosure' });
    var button = h('button', {
      type: 'button', id: 'disclosure-show',
      onclick: function () {
        T.getFile('/disclosure/' + encodeURIComponent(personId) + '?format=html').then(function (r) {
          out.textContent = '';
          if (!r.ok) {
            return r.json().then(function (b) { out.appendChild(T.errorList(b.errors || [{ message: 'HTTP ' + r.status }])); });
          }
          return r.blob().then(function (blob) {
            // Sandboxed without scripts; same origin only so that the print button can reach it.
            var url = URL.createObjectURL(blob);
            var frame = h('iframe', { title: t('disclosure'), class: 'report', src: url, sandbox: 'allow-same-origin allow-modals' });
            frame.addEventListener('load', function () { URL.revokeObjectURL(url); });
            out.appendChild(h('p', null, h('button', { type: 'button', onclick: function () { frame.contentWindow.print(); } }, t('print'))));
            out.appendChild(frame);
          });
        });
      }
    }, t('showDisclosure'));
    return h('section', { 'aria-labelledby': 'disclosure-h' }, h('h2', { id: 'disclosure-h' }, t('disclosure')), button, out);
  }

  // ---------------------------------------------------------------- accounts and roles
  var ACCOUNTS = '{ agencies { id code name kind legalRegime active version } accounts { id login displayName kind roles active version agency { id name } } ' +
    'serviceClients { id name scopes active secretRotatedAt revokedAt version account { login } } }';

  T.pages.accounts = function (main) {
    main.appendChild(h('h1', null, t('accounts')));
    var body = h('div', { id: 'accounts-body' });
    main.appendChild(body);
    gql(ACCOUNTS).then(function (r) {
      if (!r.data) { answer(body, r); return; }
      var d = r.data;
      if (r.errors) body.appendChild(T.errorList(r.errors));
      body.appendChild(table(t('agencies'), [t('code'), t('agencyName'), t('kind'), t('regime'), t('active'), ''], d.agencies.map(agencyRow), { id: 'agencies' }));
      body.appendChild(agencyForm());
      body.appendChild(table(t('accountsList'), [t('login'), t('displayName'), t('agency'), t('kind'), t('roles'), t('active'), ''], d.accounts.map(accountRow), { id: 'accounts' }));
      body.appendChild(accountForm(d.agencies));
      if (d.serviceClients) body.appendChild(clientSection(d.serviceClients, d.accounts));
    });
  };

  function agencyRow(a) {
    var out = h('div');
    var button = h('button', {
      type: 'button', class: a.active ? 'danger' : null, 'data-agency': a.code, 'aria-label': (a.active ? t('deactivate') : t('reactivate')) + ': ' + a.name,
      onclick: function () {
        gql('mutation($id: ID!, $v: Int!, $active: Boolean) { updateAgency(id: $id, version: $v, input: { active: $active }) { id active } }', { id: a.id, v: a.version, active: !a.active })
          .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, 'button[data-agency="' + CSS.escape(a.code) + '"]'); } });
      }
    }, a.active ? t('deactivate') : t('reactivate'));
    return h('tr', { 'data-code': a.code }, h('td', null, a.code), h('td', null, a.name), h('td', null, kind(a.kind)), h('td', null, t(a.legalRegime)),
      h('td', { class: 'active' }, a.active ? t('yes') : t('no')), h('td', null, button, out));
  }

  function agencyForm() {
    var out = h('div');
    var form = h('form', { id: 'agency-form', class: 'inline' },
      field('agency-code', t('code'), h('input', { id: 'agency-code', name: 'code', type: 'text', required: true, autocomplete: 'off' })),
      field('agency-name', t('agencyName'), h('input', { id: 'agency-name', name: 'agencyName', type: 'text', required: true })),
      field('agency-kind', t('kind'), select('agency-kind', KINDS.map(function (k) { return [k, kind(k)]; }), 'THIRD_PARTY')),
      field('agency-regime', t('regime'), select('agency-regime', [['PRIVATE_OPERATOR', t('PRIVATE_OPERATOR')], ['PUBLIC_BODY', t('PUBLIC_BODY')]], 'PRIVATE_OPERATOR')),
      h('button', { type: 'submit', class: 'primary' }, t('createAgency')), out);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var el = form.elements;
      var input = { code: el.code.value.trim(), name: el.agencyName.value.trim(), kind: el['agency-kind'].value, legalRegime: el['agency-regime'].value };
      gql('mutation($input: CreateAgencyInput!) { createAgency(input: $input) { id } }', { input: input })
        .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, '#agencies'); } });
    });
    return h('section', { 'aria-labelledby': 'new-agency-h' }, h('h2', { id: 'new-agency-h' }, t('createAgency')), form);
  }

  function accountRow(a) {
    var cell = h('td', null);
    var out = h('div');
    var toggle = a.active ? 'deactivateAccount' : 'reactivateAccount';
    cell.appendChild(h('button', {
      type: 'button', class: a.active ? 'danger' : null, 'data-login': a.login, 'data-do': toggle,
      'aria-label': (a.active ? t('deactivate') : t('reactivate')) + ': ' + a.login,
      onclick: function () {
        gql('mutation($id: ID!, $v: Int!) { ' + toggle + '(id: $id, version: $v) { id active } }', { id: a.id, v: a.version })
          .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, 'button[data-login="' + CSS.escape(a.login) + '"][data-do]'); } });
      }
    }, a.active ? t('deactivate') : t('reactivate')));
    cell.appendChild(document.createTextNode(' '));
    cell.appendChild(h('button', {
      type: 'button', 'aria-label': t('editRoles') + ': ' + a.login, onclick: function () {
        var form = h('form', { class: 'roles-form' }, checkboxes(t('roles') + ' (' + a.login + ')', 'role-' + a.id, ROLES, function (x) { return x; }, a.roles),
          h('button', { type: 'submit' }, t('save')));
        form.addEventListener('submit', function (ev) {
          ev.preventDefault();
          gql('mutation($id: ID!, $v: Int!, $roles: [Role!]!) { setAccountRoles(id: $id, version: $v, roles: $roles) { id roles } }',
            { id: a.id, v: a.version, roles: ticked(form, 'role-' + a.id) })
            .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, 'tr[data-login="' + CSS.escape(a.login) + '"] button[data-do]'); } });
        });
        out.textContent = '';
        out.appendChild(form);
        form.querySelector('input').focus();
      }
    }, t('editRoles')));
    cell.appendChild(out);
    return h('tr', { 'data-login': a.login }, h('td', null, a.login), h('td', null, a.displayName), h('td', null, a.agency.name),
      h('td', null, a.kind), h('td', null, a.roles.join(', ')), h('td', { class: 'active' }, a.active ? t('yes') : t('no')), cell);
  }

  function accountForm(agencies) {
    var out = h('div');
    var form = h('form', { id: 'account-form' },
      field('new-login', t('login'), h('input', { id: 'new-login', name: 'login', type: 'text', required: true, autocomplete: 'off' })),
      field('new-name', t('displayName'), h('input', { id: 'new-name', name: 'displayName', type: 'text', required: true })),
      field('new-agency', t('agency'), select('new-agency', agencies.map(function (a) { return [a.id, a.name]; }))),
      field('new-kind', t('kind'), select('new-kind', ['STAFF', 'SERVICE'], 'STAFF')),
      checkboxes(t('roles'), 'new-role', ROLES, function (x) { return x; }, ['CASEWORKER']),
      h('button', { type: 'submit', class: 'primary' }, t('createAccount')), out);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var input = { login: form.login.value.trim(), displayName: form.displayName.value.trim(), agencyId: form['new-agency'].value, kind: form['new-kind'].value, roles: ticked(form, 'new-role') };
      gql('mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }', { input: input })
        .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, '#accounts'); } });
    });
    return h('section', { 'aria-labelledby': 'new-account-h' }, h('h2', { id: 'new-account-h' }, t('createAccount')), form);
  }

  function secretBox(out, issued) {
    out.textContent = '';
    out.appendChild(h('div', { class: 'secret', role: 'alert' },
      h('label', { for: 'secret' }, t('secretOnce')),
      h('input', { id: 'secret', type: 'text', readonly: true, value: issued.clientSecret, size: 60 })));
    out.querySelector('#secret').focus();
  }

  function clientSection(clients, accounts) {
    var out = h('div', { id: 'client-result' });
    var rows = clients.map(function (c) {
      return h('tr', null, h('td', null, c.name), h('td', null, c.account.login), h('td', null, c.scopes.join(', ')),
        h('td', null, when(c.secretRotatedAt)), h('td', null, c.active ? t('yes') : t('no')),
        h('td', null, c.active ? h('button', {
          type: 'button', class: 'rotate', 'data-client': c.id, 'aria-label': t('rotate') + ': ' + c.name, onclick: function () {
            gql('mutation($id: ID!, $v: Int!) { rotateServiceClientSecret(id: $id, version: $v) { clientSecret client { id } } }', { id: c.id, v: c.version })
              .then(function (r) { answer(out, r, function (d) { secretBox(out, d.rotateServiceClientSecret); }); });
          }
        }, t('rotate')) : ''));
    });
    var services = accounts.filter(function (a) { return a.kind === 'SERVICE' && a.active; });
    var form = h('form', { id: 'client-form' },
      field('client-account', t('serviceAccount'), select('client-account', services.map(function (a) { return [a.id, a.login]; }))),
      field('client-name', t('clientName'), h('input', { id: 'client-name', name: 'clientName', type: 'text', required: true })),
      checkboxes(t('scopes'), 'client-scope', ROLES.filter(function (r) { return r !== 'ADMIN'; }), function (x) { return x; }, ['INTEGRATION']),
      h('button', { type: 'submit', class: 'primary' }, t('createClient')));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var input = { accountId: form['client-account'].value, name: form.clientName.value.trim(), scopes: ticked(form, 'client-scope') };
      gql('mutation($input: CreateServiceClientInput!) { createServiceClient(input: $input) { clientSecret client { id } } }', { input: input })
        .then(function (r) { answer(out, r, function (d) { secretBox(out, d.createServiceClient); }); });
    });
    return h('section', { 'aria-labelledby': 'clients-h' }, h('h2', { id: 'clients-h' }, t('clients')),
      table(t('clients'), [t('clientName'), t('serviceAccount'), t('scopes'), t('rotated'), t('active'), ''], rows, { id: 'clients' }),
      out, h('h3', null, t('createClient')), form);
  }

  // ---------------------------------------------------------------- the ledger
  T.pages.ledger = function (main) {
    main.appendChild(h('h1', null, t('ledgerTitle')));
    var chain = h('div', { id: 'chain', 'aria-live': 'polite' });
    main.appendChild(h('p', null, h('button', {
      type: 'button', id: 'verify', onclick: function () {
        T.status(t('loading'));
        gql('{ verifyAuditChain { ok checked firstBrokenSeq problem } }').then(function (r) {
          answer(chain, r, function (d) {
            var c = d.verifyAuditChain;
            var text = c.ok ? fill(t('chainOk'), { n: c.checked }) : fill(t('chainBroken'), { seq: c.firstBrokenSeq, problem: c.problem || '' });
            chain.appendChild(h('p', { class: c.ok ? 'ok' : 'errors', id: 'chain-result', 'data-ok': String(c.ok), 'data-checked': c.checked }, text));
            T.status(text);
          });
        });
      }
    }, t('verify')), chain));
    var out = h('div', { id: 'ledger-rows' });
    var loaded = [], cursor = null;
    var agencyList = select('f-agency', [['', t('any')]]);
    var form = h('form', { id: 'ledger-filter', class: 'inline' },
      field('f-person', t('personId'), h('input', { id: 'f-person', name: 'person', type: 'text' })),
      field('f-account', t('accountId'), h('input', { id: 'f-account', name: 'account', type: 'text' })),
      field('f-agency', t('agency'), agencyList),
      field('f-basis', t('basis'), select('f-basis', [['', t('any')], ['OWN', t('OWN')], ['CONSENT', t('CONSENT')], ['SUPPORT_MEETING', t('SUPPORT_MEETING')], ['EMERGENCY', t('EMERGENCY')]], '')),
      field('f-action', t('action'), select('f-action', [['', t('any')], 'READ', 'WRITE'], '')),
      field('f-from', t('from'), h('input', { id: 'f-from', name: 'from', type: 'datetime-local' })),
      field('f-to', t('to'), h('input', { id: 'f-to', name: 'to', type: 'datetime-local' })),
      h('button', { type: 'submit', class: 'primary' }, t('filter')));
    var agencyNames = {};
    gql('{ agencies { id name } }').then(function (r) {
      ((r.data && r.data.agencies) || []).forEach(function (a) {
        agencyNames[a.id] = a.name;
        agencyList.appendChild(h('option', { value: a.id }, a.name));
      });
    });
    // A datetime-local value is Japan time (the city's clock), sent as RFC 3339 with +09:00.
    function jst(v) { return v ? v + (v.length === 16 ? ':00' : '') + '+09:00' : null; }
    function show() {
      out.textContent = '';
      out.appendChild(h('p', null, fill(t('loadedRows'), { n: loaded.length })));
      out.appendChild(table(t('ledger'), ['#', t('at'), t('action'), t('accountId'), t('agency'), t('record'), t('personId'), t('shownCol'), t('withheldCol'), t('basis')],
        loaded.map(function (e) {
          return h('tr', { 'data-agency': e.agencyId || '' }, h('td', null, e.seq), h('td', null, when(e.at)), h('td', null, e.action + ' ' + e.operation),
            h('td', null, e.accountId || ''), h('td', null, agencyNames[e.agencyId] || e.agencyId || ''), h('td', null, e.recordType + ' ' + (e.recordId || '')),
            // The person's page (consents, who may see what, the disclosure report) from here.
            h('td', null, e.subjectPersonId ? h('a', { href: '#/persons/' + encodeURIComponent(e.subjectPersonId) }, e.subjectPersonId) : ''),
            h('td', null, e.shown.join(', ')), h('td', null, e.withheld.join(', ')),
            h('td', { class: 'json' }, JSON.stringify(e.bases)));
        }), { id: 'ledger' }));
      if (cursor) out.appendChild(h('button', { type: 'button', id: 'ledger-more', onclick: function () { load(false, true); } }, t('more')));
    }
    // After "load more" the focus goes to the same button (or, at the end, the table).
    function load(fresh, keepFocus) {
      if (fresh) { loaded = []; cursor = null; }
      T.status(t('loading'));
      var el = form.elements;
      gql('query($p: ID, $a: ID, $x: AuditAction, $ag: ID, $b: BasisKind, $f: DateTime, $u: DateTime, $after: String) { auditEvents(personId: $p, accountId: $a, action: $x, agencyId: $ag, basis: $b, from: $f, until: $u, first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { seq at accountId agencyId action operation recordType recordId subjectPersonId shown withheld bases } } }',
        { p: el.person.value.trim() || null, a: el.account.value.trim() || null, x: el['f-action'].value || null, ag: el['f-agency'].value || null,
          b: el['f-basis'].value || null, f: jst(el.from.value), u: jst(el.to.value), after: cursor })
        .then(function (r) {
          answer(out, r, function (d) {
            loaded = loaded.concat(d.auditEvents.nodes);
            cursor = d.auditEvents.pageInfo.hasNextPage ? d.auditEvents.pageInfo.endCursor : null;
            show();
            if (keepFocus) (document.getElementById('ledger-more') || document.getElementById('ledger')).focus();
            T.status(t('done'));
          });
        });
    }
    form.addEventListener('submit', function (ev) { ev.preventDefault(); load(true); });
    main.appendChild(form);
    main.appendChild(out);
    main.appendChild(grantSection());
    load(true);
  };

  function grantSection() {
    var out = h('div', { id: 'grants' });
    gql('{ emergencyGrants(openOnly: true) { id personId reason grantedAt expiresAt active account { login } agency { name } } }').then(function (r) {
      answer(out, r, function (d) {
        if (!d.emergencyGrants.length) { out.appendChild(h('p', null, t('noGrants'))); return; }
        out.appendChild(table(t('grants'), [t('personId'), t('accountId'), t('agency'), t('reason'), t('grantedAt'), t('expiresAt'), ''],
          d.emergencyGrants.map(function (g) {
            var res = h('div');
            var form = h('form', { class: 'close-grant' },
              field('note-' + g.id, t('reviewNote'), h('textarea', { id: 'note-' + g.id, name: 'note', rows: 2, required: true })),
              h('button', { type: 'submit' }, t('close')), res);
            form.addEventListener('submit', function (ev) {
              ev.preventDefault();
              gql('mutation($id: ID!, $n: String!) { closeEmergencyGrant(id: $id, note: $n) { id closedAt } }', { id: g.id, n: form.note.value.trim() })
                .then(function (x) { if (answer(res, x)) { T.status(t('done')); T.render(null, '#grants-h'); } });
            });
            return h('tr', null, h('td', null, g.personId), h('td', null, g.account.login), h('td', null, g.agency.name), h('td', null, g.reason),
              h('td', null, when(g.grantedAt)), h('td', null, when(g.expiresAt)), h('td', null, form));
          })));
      });
    });
    return h('section', { 'aria-labelledby': 'grants-h' }, h('h2', { id: 'grants-h' }, t('grants')), out);
  }

  // ---------------------------------------------------------------- 事業評価
  var REPORT = 'query($y: Int!) { evaluationReport(fiscalYear: $y) { fiscalYear threshold method indicators { indicator nameJa nameEn unit actual target achievementRate previousYear disabled } } }';

  function fiscalYearNow() { var d = new Date(); return d.getMonth() >= 3 ? d.getFullYear() : d.getFullYear() - 1; }
  function num(v) { return v === null || v === undefined ? '—' : (Math.round(v * 100) / 100).toLocaleString(T.lang() === 'ja' ? 'ja-JP' : 'en-GB'); }

  T.pages.evaluation = function (main, rest) {
    var year = parseInt(rest[0], 10) || fiscalYearNow();
    main.appendChild(h('h1', null, t('evalTitle')));
    var years = [];
    for (var y = fiscalYearNow() + 1; y >= fiscalYearNow() - 9; y--) years.push([y, y + (T.lang() === 'ja' ? ' 年度' : '')]);
    var form = h('form', { id: 'eval-form', class: 'inline' }, field('fy', t('fiscalYear'), select('fy', years, year)),
      h('button', { type: 'submit', class: 'primary' }, t('show')),
      h('button', { type: 'button', id: 'csv', onclick: function () { download(year); } }, t('downloadCsv')));
    form.addEventListener('submit', function (ev) { ev.preventDefault(); location.hash = '#/evaluation/' + form.fy.value; });
    main.appendChild(form);
    var out = h('div', { id: 'eval-body' });
    main.appendChild(out);
    T.status(t('loading'));
    Promise.all([gql(REPORT, { y: year }), gql(REPORT, { y: year - 2 })]).then(function (rs) {
      var r = rs[0];
      if (!r.data) { answer(out, r); return; }
      var rep = r.data.evaluationReport, older = rs[1].data ? rs[1].data.evaluationReport : null;
      out.appendChild(h('p', null, t('threshold'), ': ', rep.threshold, ' / ', t('methodCol'), ': ', rep.method));
      var name = function (i) { return T.lang() === 'ja' ? i.nameJa : i.nameEn; };
      out.appendChild(table(t('evalTitle') + ' ' + year, [t('indicator'), t('actual'), t('target'), t('rate'), t('previous')],
        rep.indicators.map(function (i) {
          return h('tr', { 'data-indicator': i.indicator }, h('th', { scope: 'row' }, name(i), i.disabled ? ' (' + t('disabled') + ')' : ''),
            h('td', { class: 'num' }, num(i.actual), ' ', i.unit), h('td', { class: 'num' }, num(i.target)),
            h('td', { class: 'num' }, i.achievementRate === null ? '—' : num(i.achievementRate * 100) + '%'), h('td', { class: 'num' }, num(i.previousYear)));
        }), { id: 'report' }));
      out.appendChild(h('section', { 'aria-labelledby': 'chart-h' }, h('h2', { id: 'chart-h' }, t('chart')), bars(rep.indicators, name)));
      out.appendChild(trendSection(rep, older, year, name));
      out.appendChild(targetForm(rep.indicators, year, name));
      T.status(t('done'));
    });
  };

  // One row per indicator: the actual as a bar, the target as a line, each scaled to its own
  // indicator (their units differ). Drawn here as SVG; nothing is fetched.
  function bars(indicators, name) {
    var shown = indicators.filter(function (i) { return i.actual !== null || i.target !== null; });
    var rowH = 26, labelW = 300, barW = 520, W = labelW + barW + 120;
    var svg = h('svg:svg', { viewBox: '0 0 ' + W + ' ' + (shown.length * rowH + 30), width: '100%', role: 'img', 'aria-labelledby': 'bars-title', id: 'bars' },
      h('svg:title', { id: 'bars-title' }, t('chart')));
    svg.appendChild(h('svg:rect', { x: labelW, y: 4, width: 14, height: 10, class: 'bar-actual' }));
    svg.appendChild(h('svg:text', { x: labelW + 20, y: 13, class: 'legend' }, t('actual')));
    svg.appendChild(h('svg:line', { x1: labelW + 90, y1: 2, x2: labelW + 90, y2: 16, class: 'bar-target' }));
    svg.appendChild(h('svg:text', { x: labelW + 96, y: 13, class: 'legend' }, t('target')));
    shown.forEach(function (i, n) {
      var y = 24 + n * rowH, max = Math.max(i.actual || 0, i.target || 0, 1e-9);
      svg.appendChild(h('svg:text', { x: labelW - 8, y: y + 14, 'text-anchor': 'end' }, name(i)));
      if (i.actual !== null) svg.appendChild(h('svg:rect', { x: labelW, y: y + 3, width: Math.max(1, barW * i.actual / max), height: rowH - 10, class: 'bar-actual' }, h('svg:title', null, name(i) + ' ' + t('actual') + ' ' + num(i.actual))));
      if (i.target !== null) {
        var x = labelW + barW * i.target / max;
        svg.appendChild(h('svg:line', { x1: x, y1: y, x2: x, y2: y + rowH - 4, class: 'bar-target' }, h('svg:title', null, name(i) + ' ' + t('target') + ' ' + num(i.target))));
      }
      svg.appendChild(h('svg:text', { x: labelW + barW + 8, y: y + 14 }, num(i.actual) + (i.target !== null ? ' / ' + num(i.target) : '')));
    });
    return svg;
  }

  function trendSection(rep, older, year, name) {
    var section = h('section', { 'aria-labelledby': 'trend-h' }, h('h2', { id: 'trend-h' }, t('trend')));
    var pick = select('trend-indicator', rep.indicators.map(function (i) { return [i.indicator, name(i)]; }), 'CONSULTATIONS');
    var chart = h('div', { id: 'trend' });
    function draw() {
      chart.textContent = '';
      var now = rep.indicators.filter(function (i) { return i.indicator === pick.value; })[0];
      var then = older ? older.indicators.filter(function (i) { return i.indicator === pick.value; })[0] : null;
      var points = [[year - 3, then ? then.previousYear : null], [year - 2, then ? then.actual : null], [year - 1, now.previousYear], [year, now.actual]];
      var max = Math.max.apply(null, points.map(function (p) { return p[1] || 0; }).concat([1e-9]));
      var svg = h('svg:svg', { viewBox: '0 0 480 220', width: '480', role: 'img', 'aria-labelledby': 'trend-title' }, h('svg:title', { id: 'trend-title' }, t('trend') + ': ' + name(now)));
      points.forEach(function (p, n) {
        var x = 40 + n * 110, hgt = p[1] === null ? 0 : 160 * p[1] / max;
        svg.appendChild(h('svg:rect', { x: x, y: 180 - hgt, width: 70, height: hgt, class: 'bar-actual' }));
        svg.appendChild(h('svg:text', { x: x + 35, y: 172 - hgt, 'text-anchor': 'middle' }, num(p[1])));
        svg.appendChild(h('svg:text', { x: x + 35, y: 200, 'text-anchor': 'middle' }, String(p[0])));
      });
      chart.appendChild(svg);
      // The same values as text, for those who cannot see the chart.
      chart.appendChild(h('p', { class: 'trend-values' }, name(now) + ': ' + points.map(function (p) { return p[0] + ' ' + num(p[1]); }).join(' / ')));
    }
    pick.addEventListener('change', draw);
    section.appendChild(field('trend-indicator', t('indicator'), pick));
    section.appendChild(chart);
    draw();
    return section;
  }

  function targetForm(indicators, year, name) {
    var out = h('div');
    var form = h('form', { id: 'target-form', class: 'inline' },
      field('target-indicator', t('indicator'), select('target-indicator', indicators.map(function (i) { return [i.indicator, name(i)]; }))),
      field('target-value', t('value'), h('input', { id: 'target-value', name: 'value', type: 'number', step: 'any', required: true })),
      field('target-note', t('note'), h('input', { id: 'target-note', name: 'note', type: 'text' })),
      h('button', { type: 'submit', class: 'primary' }, t('setTarget')), out);
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      gql('mutation($y: Int!, $i: Indicator!, $v: Float!, $n: String) { setTarget(fiscalYear: $y, indicator: $i, value: $v, note: $n) { version } }',
        { y: year, i: form['target-indicator'].value, v: parseFloat(form.value.value), n: form.note.value.trim() || null })
        .then(function (r) { if (answer(out, r)) { T.status(t('done')); T.render(null, '#report'); } });
    });
    return h('section', { 'aria-labelledby': 'target-h' }, h('h2', { id: 'target-h' }, t('setTarget') + ' (' + year + ')'), form);
  }

  function download(year) {
    T.getFile('/reports/evaluation/' + year + '?format=csv').then(function (r) {
      if (!r.ok) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          var out = document.getElementById('eval-body');
          out.textContent = '';
          out.appendChild(T.errorList(b.errors && b.errors.length ? b.errors : [{ message: 'HTTP ' + r.status }]));
        });
      }
      return r.blob().then(function (blob) {
        var a = h('a', { href: URL.createObjectURL(blob), download: 'evaluation-' + year + '.csv' });
        document.body.appendChild(a);
        a.click();
        a.remove();
      });
    });
  }
})();
