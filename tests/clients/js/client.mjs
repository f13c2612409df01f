// The reference GraphQL-over-WebSocket client (graphql-ws, on the `ws` WebSocket), as a browser app uses
// it: the token, the organisation and the role travel in connection_init. Driven by
// tests/e2e/test_js_client.py, it prints one JSON line per step on stdout.
//   node client.mjs scenario <ws-url> <token> <siret> <role> <plan-id>
//   node client.mjs refused  <ws-url> <token> <siret> <role>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const PLAN = "query($p: ID!) { plan(id: $p) { title axes { key } } }";
const ADD_OBJECTIVE = `mutation($p: ID!, $k: String!) {
  addObjective(planId: $p, key: $k, axisKey: "egalim", title: "Objectif JS", kind: "moyens") { ok position }
}`;
const EVENTS = "subscription($p: ID!, $after: Int!) { planEvents(planId: $p, afterPosition: $after) { position type } }";

const frames = { text: 0, binary: 0 };
class CountingWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.on("message", (_data, isBinary) => { frames[isBinary ? "binary" : "text"] += 1; });
  }
}

const say = (step, value) => process.stdout.write(JSON.stringify({ step, ...value }) + "\n");

function client(url, token, organisation, role, onClosed) {
  return createClient({
    url,
    webSocketImpl: CountingWebSocket,
    connectionParams: { authorization: `Bearer ${token}`, organisation, role },
    retryAttempts: 0,
    lazy: true,
    on: { closed: onClosed ?? (() => {}) },
  });
}

async function first(iterator) {
  const { value, done } = await iterator.next();
  if (done) throw new Error("the operation completed without a result");
  return value;
}

async function scenario(url, token, organisation, role, plan) {
  const gql = client(url, token, organisation, role);
  const query = await first(gql.iterate({ query: PLAN, variables: { p: plan } }));
  say("query", { result: query });
  const mutation = await first(gql.iterate({ query: ADD_OBJECTIVE, variables: { p: plan, k: "js1" } }));
  say("mutation", { result: mutation });
  const after = mutation.data.addObjective.position;
  const events = gql.iterate({ query: EVENTS, variables: { p: plan, after } });
  const next = events.next();  // sends `subscribe`
  say("subscribed", { after });
  const { value } = await next;
  say("event", { result: value });
  await events.return();
  await gql.dispose();
  say("frames", frames);
}

async function refused(url, token, organisation, role) {
  const closed = new Promise((resolve) => {
    const gql = client(url, token, organisation, role, (event) => resolve({ code: event.code, reason: event.reason }));
    gql.iterate({ query: "{ groupements { id } }" }).next().catch(() => {});
  });
  say("closed", await closed);
  say("frames", frames);
}

const [mode, ...args] = process.argv.slice(2);
const run = { scenario, refused }[mode];
run(...args).then(() => process.exit(0), (error) => {
  process.stderr.write(`${error?.stack ?? JSON.stringify(error)}\n`);
  process.exit(1);
});
