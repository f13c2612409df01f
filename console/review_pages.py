"""The revue's and the avenants' forms added to their pages (console/web.py renders the pages): a point raised in a
held revue (`raisePoint`), an avenant that follows a proposition accepted in a revue (`proposeAvenant` with
`proposalId`, the form prefilled from the proposition), an avenant abandoned (`abandonAvenant`). Each refusal, the
form's or the API's, is shown in French next to its field, and nothing is written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from progres.console.forms import FieldError, required_text
from progres.console.messages import PARTICIPANT_FUNCTIONS, POINT_KINDS, message, refusal
from progres.console.operations import (
    ABANDON_AVENANT,
    PLAN_SUMMARY,
    PROPOSALS,
    RAISE_POINT,
    Executor,
    Refusal,
)
from progres.services import french
from progres.services.policy import Actor

if TYPE_CHECKING:
    from progres.console.web import Console


def point_field(path: list[str]) -> str:
    """A refusal of `raisePoint`, by the GraphQL path the API names without `input`
    (`raisedByParticipant.function`), and the form's field it belongs to."""
    if path[:1] == ["raisedByParticipant"]:
        return "point-function" if path[-1] == "function" else "point-name"
    return {"kind": "point-kind", "text": "point-text"}.get(path[0] if path else "", "form")


def parse_point(form: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    variables: dict[str, Any] = {}
    if form.get("kind") in POINT_KINDS:
        variables["kind"] = form["kind"]
    else:
        errors["point-kind"] = message("err_choice")
    person: dict[str, Any] = {}
    for name, key, limit in (("text", "point-text", 2000), ("name", "point-name", 255)):
        try:
            value = required_text(form.get(name, ""), limit)
        except FieldError as error:
            errors[key] = error.text
            continue
        if name == "text":
            variables["text"] = value
        else:
            person["name"] = value
    if form.get("function") in PARTICIPANT_FUNCTIONS:
        person["function"] = form["function"]
    else:
        errors["point-function"] = message("err_choice")
    person["organisationId"] = form.get("organisation") or None
    variables["raisedByParticipant"] = person
    return errors, variables


async def raise_point(console: Console, request: Request, actor: Actor) -> Response:
    form = await console.checked_form(request)
    if form is None:
        return console.csrf_refused(request)
    plan_id, review_id = request.path_params["plan"], request.path_params["review"]
    errors, variables = parse_point(form)
    if not errors:
        outcome = await console.executor.command(RAISE_POINT, actor, reviewId=review_id, **variables)
        if outcome.accepted:
            return RedirectResponse(f"/plans/{plan_id}/revues/{review_id}?fait={outcome.position}#points", 303)
        errors[point_field(outcome.path)] = refusal(outcome.code, outcome.text)
    values = {f"point-{key}": value for key, value in form.items() if key != "csrf"}  # the token is not shown back
    return await console.review(request, actor, values, errors)


async def abandon_avenant(console: Console, request: Request, actor: Actor) -> Response:
    form = await console.checked_form(request)
    if form is None:
        return console.csrf_refused(request)
    marche_id, number = request.path_params["marche"], int(request.path_params["number"])
    key = f"abandon-{number}-reason"
    errors: dict[str, str] = {}
    try:
        reason = required_text(form.get("reason", ""), 2000)
    except FieldError as error:
        errors[key] = error.text
    if not errors:
        outcome = await console.executor.command(ABANDON_AVENANT, actor, marcheId=marche_id, number=number,
                                                 reason=reason)
        if outcome.accepted:
            return RedirectResponse(f"/marches/{marche_id}/avenants?fait={outcome.position}", 303)
        # about the reason: next to it; else (its state, the caller's rights) above the forms
        errors[outcome.field({"reason": key})] = refusal(outcome.code, outcome.text)
    return await console.avenants(request, actor, {key: form.get("reason", "")}, errors)


async def marche_proposals(executor: Executor, actor: Actor, groupement: dict[str, Any],
                           marche_id: str) -> dict[str, dict[str, Any]]:
    """The propositions of the marché's plan (id → proposition), as the API shows them to this actor."""
    for plan_id in (plan["id"] for plan in groupement.get("plans") or []):
        try:
            plan = (await executor.run(PLAN_SUMMARY, actor, plan=plan_id))["plan"]
            if plan["marcheId"] != marche_id:
                continue
            found = (await executor.run(PROPOSALS, actor, plan=plan_id))["plan"]
        except Refusal:
            continue
        return {edge["node"]["id"]: edge["node"] for edge in found["proposals"]["edges"]}
    return {}


def from_proposal(proposal: dict[str, Any]) -> dict[str, str]:
    """The avenant form prefilled from an accepted proposition: the proposition named, the reason drafted from its
    title and expected impact (the coordonnateur says what the avenant changes)."""
    reason = message("avenant_reason_from_proposal", title=proposal["title"])
    if proposal.get("expectedImpact"):
        reason += " " + message("avenant_reason_impact", impact=proposal["expectedImpact"])
    return {"proposal_id": proposal["id"], "reason": reason[:2000]}


def proposal_choices(proposals: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The accepted propositions an avenant may follow, as the form's choices (id, title and date)."""
    return [(p["id"], message("proposal_choice", title=p["title"], on=french.day(p["submittedOn"])))
            for p in sorted(proposals.values(), key=lambda p: (p["submittedOn"], p["title"]))
            if p["status"] == "accepted"]
