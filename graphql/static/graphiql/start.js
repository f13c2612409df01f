// GraphiQL for progres, from the package's own assets. Queries and mutations go over HTTP with the headers
// of the "Headers" tab; subscriptions over graphql-transport-ws, whose connection_init payload carries those
// same headers (a browser cannot set headers on a WebSocket), e.g.
// {"Authorization": "Bearer <progres dev-token …>", "X-Progres-Organisation": "<SIRET>"}
(function () {
  var http = new URL("/graphql", window.location.href);
  var ws = new URL(http.href);
  ws.protocol = http.protocol === "https:" ? "wss:" : "ws:";
  var fetcher = GraphiQL.createFetcher({ url: http.href, subscriptionUrl: ws.href });
  var intro = [
    "# progres: the API of a plan de progrès.",
    "# Say who acts in the Headers tab below (the same headers are sent in connection_init for subscriptions):",
    '# {"Authorization": "Bearer <token>", "X-Progres-Organisation": "<SIRET>", "X-Progres-Role": "<role>"}',
    "# A token in local identity mode: progres dev-token --org <SIRET> --role <role>",
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
