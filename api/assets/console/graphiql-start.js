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
  var headers = token ? JSON.stringify({ Authorization: 'Bearer ' + token }, null, 2) : '';
  var fetcher = GraphiQL.createFetcher({ url: '/graphql' });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      headers: headers,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: true,
      defaultQuery: '# つなぎ GraphQL API\n{\n  viewer {\n    account { login displayName }\n    agency { name kind }\n    effectiveRoles\n  }\n}\n'
    })
  );
})();
