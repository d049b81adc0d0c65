// GraphiQL for Tsunagi, from files this hub serves itself (no CDN: works on a closed network).
// The token is the one the console's sign-in keeps in this tab's sessionStorage; without one,
// the Headers tab takes {"Authorization": "Bearer <token>"}.
(function () {
  'use strict';
  var token = sessionStorage.getItem('tsunagi.token');
  var note = document.getElementById('graphiql-token');
  if (token) {
    note.textContent = 'コンソールでサインインしたトークンを使います / using the token signed in at /admin';
  } else {
    note.textContent = 'トークン未設定: /admin でサインインするか、Headers に {"Authorization": "Bearer …"} を書いてください / no token: sign in at /admin, or put {"Authorization": "Bearer …"} in Headers';
  }
  // The token goes into the fetcher, not into GraphiQL's Headers pane: GraphiQL keeps its
  // history (queries, variables and the pane's headers) in the storage it is given, and that
  // storage is this page's memory, so neither the token nor any answer's variables outlive
  // the page on a shared PC. Anything an earlier version left in localStorage goes too.
  Object.keys(localStorage).filter(function (k) { return k.indexOf('graphiql:') === 0; })
    .forEach(function (k) { localStorage.removeItem(k); });
  var memory = {};
  var storage = {
    getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
    setItem: function (k, v) { memory[k] = String(v); },
    removeItem: function (k) { delete memory[k]; },
    clear: function () { memory = {}; },
    get length() { return Object.keys(memory).length; }
  };
  var fetcher = GraphiQL.createFetcher({ url: '/graphql', headers: token ? { Authorization: 'Bearer ' + token } : {} });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: storage,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
      defaultQuery: '# つなぎ GraphQL API\n{\n  viewer {\n    account { login displayName }\n    agency { name kind }\n    effectiveRoles\n  }\n}\n'
    })
  );
})();
