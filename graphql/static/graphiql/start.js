// GraphiQL for progres, from the package's own assets. Queries and mutations go over HTTP with the headers
// of the "Headers" tab; subscriptions over graphql-transport-ws, whose connection_init payload carries those
// same headers (a browser cannot set headers on a WebSocket), e.g.
// {"Authorization": "Bearer <progres dev-token …>", "X-Progres-Organisation": "<SIRET>"}
(function () {
  var http = new URL("/graphql", window.location.href);
  var ws = new URL(http.href);
  ws.protocol = http.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = GraphiQL.createFetcher({ url: http.href, subscriptionUrl: ws.href });
  // shown to the person who opens the page: in French, like every message of progres
  var intro = [
    "# progres : l'API GraphQL des plans de progrès.",
    "# Dites qui agit dans l'onglet « Headers » ci-dessous :",
    '#   {"Authorization": "Bearer <jeton>",',
    '#    "X-Progres-Organisation": "<SIRET>",',
    '#    "X-Progres-Role": "<rôle>"}',
    "# Les abonnements (subscription) envoient ces en-têtes",
    "# dans le message connection_init.",
    "# Jeton de développement :",
    "#   progres dev-token --org <SIRET> --role <rôle>",
    "",
    "query MyGroupements {",
    "  groupements { id code name }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: intro,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: true,
    })
  );
})();
