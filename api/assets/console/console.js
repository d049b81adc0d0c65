// つなぎ 管理コンソール / Tsunagi console: the core (words, DOM, the API, routing, sign-in).
// The pages are in console-pages.js. No framework, no build step, nothing fetched from
// another origin. Every text from the API goes into the page as a text node, never as HTML.
(function () {
  'use strict';

  var words = {
    ja: {
      title: 'つなぎ 管理コンソール', persons: '本人と同意', accounts: '機関とアカウント',
      ledger: '台帳', evaluation: '事業評価', graphiql: 'GraphiQL', signout: 'サインアウト',
      lang: 'English', signin: 'サインイン', token: 'アクセストークン',
      tokenHelp: 'サーバーで tsunagi token --account <ログイン名> を実行して得たトークン、または市の IdP が発行したトークンを貼り付けてください。トークンはこのタブの中だけに保持され、タブを閉じると消えます。',
      signedInAs: 'サインイン中', roles: 'ロール', loading: '読み込み中…', done: '完了しました',
      error: 'エラー', field: '項目', code: 'コード', withheld: '（非表示）', none: 'なし',
      save: '保存', cancel: '取消', search: '検索', open: '開く', yes: 'はい', no: 'いいえ',
      notSignedIn: 'トークンが無効か期限切れです。もう一度サインインしてください。',
      network: 'ハブに接続できません'
    },
    en: {
      title: 'Tsunagi console', persons: 'Persons & consent', accounts: 'Agencies & accounts',
      ledger: 'Ledger', evaluation: 'Evaluation', graphiql: 'GraphiQL', signout: 'Sign out',
      lang: '日本語', signin: 'Sign in', token: 'Access token',
      tokenHelp: 'Paste a token from `tsunagi token --account <login>` on the server, or one issued by the city\'s IdP. It is kept in this tab only and is gone when the tab closes.',
      signedInAs: 'Signed in as', roles: 'Roles', loading: 'Loading…', done: 'Done',
      error: 'Error', field: 'Field', code: 'Code', withheld: '(withheld)', none: 'none',
      save: 'Save', cancel: 'Cancel', search: 'Search', open: 'Open', yes: 'Yes', no: 'No',
      notSignedIn: 'The token is invalid or expired. Please sign in again.',
      network: 'Cannot reach the hub'
    }
  };

  var lang = localStorage.getItem('tsunagi.lang') === 'en' ? 'en' : 'ja';
  var pages = {};
  var viewer = null;

  function t(key) {
    var w = words[lang];
    return (w && w[key] !== undefined) ? w[key] : (words.ja[key] !== undefined ? words.ja[key] : key);
  }

  // h('tag', {attr: value, onclick: fn}, child, ...): strings become text nodes.
  function h(tag, attrs) {
    var svg = tag.indexOf('svg:') === 0;
    var node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4)) : document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k.indexOf('on') === 0 && typeof v === 'function') node.addEventListener(k.slice(2), v);
        else if (k === 'value' && !svg) node.value = v;
        else if (k === 'checked' && !svg) node.checked = !!v;
        else node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  // A value the API withheld (null) is shown as such, never as an empty string.
  function shown(v) { return (v === null || v === undefined) ? t('withheld') : v; }

  function token() { return sessionStorage.getItem('tsunagi.token') || ''; }
  function authHeaders() { return { Authorization: 'Bearer ' + token() }; }

  // POST /graphql with the signed-in token, as any client. Resolves to {data, errors}.
  function gql(query, variables) {
    return fetch('/graphql', {
      method: 'POST',
      headers: Object.assign({ 'Content-Type': 'application/json', Accept: 'application/json' }, authHeaders()),
      body: JSON.stringify({ query: query, variables: variables || {} }),
      cache: 'no-store'
    }).then(function (r) {
      return r.json().catch(function () { return { errors: [{ message: 'HTTP ' + r.status }] }; })
        .then(function (body) {
          if (r.status === 401) { signOut(t('notSignedIn')); }
          return body;
        });
    }, function () {
      return { errors: [{ message: t('network') }] };
    });
  }

  // GET a file (report, disclosure page) with the token; resolves to the Response.
  function getFile(path) {
    return fetch(path, { headers: authHeaders(), cache: 'no-store' });
  }

  // The errors of an answer, each with its code, message and the field at fault.
  function errorList(errors) {
    if (!errors || !errors.length) return null;
    return h('div', { class: 'errors', role: 'alert' },
      h('p', null, h('strong', null, t('error'))),
      h('ul', null, errors.map(function (e) {
        var x = e.extensions || {};
        return h('li', null,
          x.code ? h('code', null, x.code) : null, ' ', e.message || '',
          x.field ? [' (', t('field'), ': ', h('code', null, x.field), ')'] : null,
          e.path ? [' @ ', h('code', null, e.path.join('.'))] : null);
      })));
  }

  function status(text) {
    var s = document.getElementById('status');
    s.textContent = '';
    s.textContent = text;
  }

  function signOut(message) {
    sessionStorage.removeItem('tsunagi.token');
    Object.keys(localStorage).filter(function (k) { return k.indexOf('graphiql:') === 0; })
      .forEach(function (k) { localStorage.removeItem(k); });
    viewer = null;
    location.hash = '#/signin';
    render(message);
  }

  function navigation() {
    var nav = document.getElementById('nav');
    nav.textContent = '';
    nav.setAttribute('aria-label', lang === 'ja' ? 'メインメニュー' : 'Main menu');
    var current = location.hash.split('/')[1] || '';
    var links = viewer ? ['persons', 'accounts', 'ledger', 'evaluation'] : [];
    var list = h('ul', null, links.map(function (k) {
      return h('li', null, h('a', { href: '#/' + k, 'aria-current': current === k ? 'page' : null }, t(k)));
    }), viewer ? h('li', null, h('a', { href: '/graphql' }, t('graphiql'))) : null);
    nav.appendChild(list);
    var who = document.getElementById('who');
    who.textContent = '';
    if (viewer) {
      who.appendChild(h('span', { id: 'viewer' }, t('signedInAs'), ': ', viewer.account.displayName,
        ' (', viewer.account.login, ' / ', viewer.agency.name, ') ', t('roles'), ': ', viewer.effectiveRoles.join(', ')));
      who.appendChild(h('button', { type: 'button', id: 'signout', onclick: function () { signOut(); } }, t('signout')));
    }
    who.appendChild(h('button', {
      type: 'button', id: 'lang', lang: lang === 'ja' ? 'en' : 'ja',
      onclick: function () {
        lang = lang === 'ja' ? 'en' : 'ja';
        localStorage.setItem('tsunagi.lang', lang);
        render();
      }
    }, t('lang')));
  }

  function signInPage(main, message) {
    var form = h('form', { id: 'signin-form', novalidate: true },
      h('label', { for: 'token' }, t('token')),
      h('p', { id: 'token-help', class: 'help' }, t('tokenHelp')),
      h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' }),
      h('p', null, h('button', { type: 'submit', class: 'primary' }, t('signin'))),
      h('div', { id: 'signin-result' }));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var value = form.querySelector('#token').value.trim().replace(/^Bearer\s+/i, '');
      sessionStorage.setItem('tsunagi.token', value);
      loadViewer().then(function (errors) {
        if (viewer) { location.hash = '#/persons'; return; }
        sessionStorage.removeItem('tsunagi.token');
        var out = form.querySelector('#signin-result');
        out.textContent = '';
        append(out, errorList(errors));
      });
    });
    main.appendChild(h('h1', { tabindex: '-1' }, t('signin')));
    if (message) main.appendChild(h('p', { class: 'errors', role: 'alert' }, message));
    main.appendChild(form);
  }

  function loadViewer() {
    return gql('{ viewer { account { id login displayName kind } agency { id name kind } effectiveRoles } }')
      .then(function (r) {
        viewer = (r.data && r.data.viewer) || null;
        return r.errors;
      });
  }

  // After an action the page is drawn again from the API's answer; `focusAt` (a selector)
  // says where the keyboard user was, and focus returns there once it is drawn (else the
  // page's heading).
  function render(message, focusAt) {
    renders++;
    document.documentElement.lang = lang;
    document.title = t('title');
    document.getElementById('skip').textContent = lang === 'ja' ? '本文へ移動' : 'Skip to content';
    var main = document.getElementById('main');
    main.textContent = '';
    navigation();
    var parts = location.hash.replace(/^#\/?/, '').split('/');
    if (!viewer) { signInPage(main, message); focusHeading(main); return; }
    var page = Object.prototype.hasOwnProperty.call(pages, parts[0]) ? pages[parts[0]] : pages.persons;
    page(main, parts.slice(1));
    focusHeading(main);
    if (focusAt) focusWhenDrawn(main, focusAt);
  }

  var renders = 0;
  function focusWhenDrawn(main, selector) {
    var deadline = Date.now() + 5000, mine = renders;
    function attempt() {
      if (mine !== renders) return true; // another page since: leave its focus alone
      var el = main.querySelector(selector);
      if (!el) return Date.now() > deadline;
      if (!/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName)) el.setAttribute('tabindex', '-1');
      el.focus();
      return true;
    }
    if (attempt()) return;
    var watch = new MutationObserver(function () { if (attempt()) watch.disconnect(); });
    watch.observe(main, { childList: true, subtree: true });
  }

  function focusHeading(main) {
    var h1 = main.querySelector('h1');
    if (h1 && document.activeElement !== document.getElementById('lang')) {
      h1.setAttribute('tabindex', '-1');
      h1.focus();
    }
  }

  window.Tsunagi = {
    h: h, t: t, gql: gql, getFile: getFile, errorList: errorList, status: status, shown: shown,
    words: words, pages: pages, render: render,
    lang: function () { return lang; },
    viewer: function () { return viewer; }
  };

  window.addEventListener('hashchange', function () { render(); });
  document.addEventListener('DOMContentLoaded', function () {
    if (token()) { loadViewer().then(function () { render(); }); } else { render(); }
  });
})();
