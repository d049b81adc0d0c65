// PostGraphile 4 on the hub's database, for tsunagi-bench --peer postgraphile (issue 12,
// item 6). One process (PEER_WORKERS=1) or a `cluster` of PEER_WORKERS processes sharing
// one port, each with postgraphile()'s middleware on plain http. Read-only: no default
// mutations, no GraphiQL, no query log. PostGraphile enforces no consent and writes no
// ledger: it is the speed of a generic GraphQL layer over the same tables.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_demo?sslmode=disable \
//     PORT=5050 PEER_WORKERS=2 node server.js
"use strict";
const cluster = require("node:cluster");
const http = require("node:http");
const path = require("node:path");
const { postgraphile } = require("postgraphile");
const { makePgSmartTagsFromFilePlugin } = require("postgraphile/plugins");
const ConnectionFilterPlugin = require("postgraphile-plugin-connection-filter");

const workers = Math.max(1, Number(process.env.PEER_WORKERS || 1));
const port = Number(process.env.PORT || 5050);
const db = process.env.DATABASE_URL;
if (!db) {
  console.error("DATABASE_URL is required");
  process.exit(2);
}

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let stopping = false;
  cluster.on("exit", (w, code, signal) => {
    if (stopping) return;
    console.error(`peer worker ${w.process.pid} exited (${code ?? signal})`);
    process.exit(1);
  });
  process.on("SIGTERM", () => {
    stopping = true;
    for (const w of Object.values(cluster.workers)) w.process.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const tags = makePgSmartTagsFromFilePlugin(path.join(__dirname, "smart-tags.json5"));
  const handler = postgraphile(db, "public", {
    appendPlugins: [tags, ConnectionFilterPlugin],
    graphiql: false,
    disableQueryLog: true,
    disableDefaultMutations: true,
    retryOnInitFail: false,
    dynamicJson: true,
    setofFunctionsContainNulls: false,
    ignoreRBAC: true,
    watchPg: false,
    graphileBuildOptions: {
      connectionFilterAllowedOperators: ["equalTo", "startsWith"],
      connectionFilterRelations: false,
      connectionFilterComputedColumns: false,
      connectionFilterSetofFunctions: false,
    },
  });
  http.createServer(handler).listen(port, "127.0.0.1", () => {
    if (!cluster.isWorker || cluster.worker.id === 1) {
      console.log(`postgraphile peer listening on 127.0.0.1:${port} (${workers} process(es))`);
    }
  });
}
