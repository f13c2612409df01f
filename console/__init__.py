"""The espace des membres: a French web console served by `progres serve` at `/`, whose pages run the same
GraphQL documents as external clients, in process, with the session's actor (docs/console.md)."""
