"""The console's pages and forms (Starlette, Jinja2), mounted at `/` by services/app.py.

Who acts is kept in a signed session cookie (HttpOnly, SameSite=Lax): the bearer token the sign-in obtained
(Keycloak's access token, or in the local identity mode a token minted by the platform's local key) with the
acting organisation and role. Every request validates that token with the same validator as `/graphql` and
builds the actor with the same function; every page runs its GraphQL documents with that actor. Every form
carries the session's CSRF token; a POST without it, or with another, is refused (403) before anything runs.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import mimetypes
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from strawberry import Schema

if TYPE_CHECKING:
    from progres.console.oidc import OidcSignIn

from progres.console import audit_pages, dashboard, downloads, review_pages
from progres.console.forms import FieldError, french_date, french_decimal, parse_fields, position_param, required_text
from progres.console.id_cookie import IdTokenCookie
from progres.console.messages import (
    ACTION_OWNERS,
    ACTION_STATUSES,
    AVENANT_STATUSES,
    BASES,
    BASIS_RULES,
    DIRECTIONS,
    EVENT_NAMES,
    INDICATOR_SCOPES,
    KIND_NAMES,
    MEMBER_SPLITS,
    MESSAGES,
    OBJECTIVE_KINDS,
    OUTCOMES,
    PARTICIPANT_FUNCTIONS,
    PARTIES,
    PERIODICITIES,
    POINT_KINDS,
    PROPOSAL_KINDS,
    PROPOSAL_STATUSES,
    REVIEW_STATUSES,
    ROLE_NAMES,
    ROLES_OF_KIND,
    SETTLEMENTS,
    STATE_COUNTS,
    message,
    refusal,
)
from progres.console.operations import (
    BALANCE,
    CLOSE_REVIEW,
    CORRECT_MEASURE,
    DECIDE,
    DIRECTORY,
    GROUPEMENTS,
    HOLD_REVIEW,
    IMPORT_MEASURES,
    MARCHES,
    MEASURES,
    MEMBER_VIEW,
    NOTIFY_AVENANT,
    PLAN_AT,
    PLAN_SUMMARY,
    PLAN_TREE,
    PROPOSALS,
    PROPOSE_AVENANT,
    RECORD_CAO_OPINION,
    RECORD_MEASURE,
    REPLAY,
    REVIEWS,
    SCHEDULE_REVIEW,
    SIGN_AVENANT,
    SUBMIT_PROPOSAL,
    Executor,
    Refusal,
)
from progres.domain.avenants import CAO_THRESHOLD_PERCENT, DE_MINIMIS_CAP_PERCENT, PER_MODIFICATION_CAP_PERCENT
from progres.domain.values import MarcheNature
from progres.graphql.context import Services
from progres.services import french
from progres.services.identity import LocalIssuer, TokenRefused, TokenValidator, actor_from_claims
from progres.services.policy import Actor, Role
from progres.services.settings import Settings

HERE = Path(__file__).parent
STATIC_PATH = "/static/console"
SESSION_COOKIE = "progres_console"
SESSION_SECONDS = 8 * 3600
CSRF_FIELD = "csrf"
# Pages hold a party's data: never cached; no script, frame or form target but the console's own.
PAGE_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'self'; script-src 'none'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
def page_headers(settings: Settings) -> dict[str, str]:
    """The pages' headers; with an identity provider, its origin is a form's target too: the sign-out form is
    redirected to its end-session endpoint, and browsers hold a form's redirects to `form-action`."""
    if settings.oidc_issuer is None:
        return PAGE_HEADERS
    issuer = urlsplit(settings.oidc_issuer)
    policy = PAGE_HEADERS["content-security-policy"].replace(
        "form-action 'self'", f"form-action 'self' {issuer.scheme}://{issuer.netloc}")
    return {**PAGE_HEADERS, "content-security-policy": policy}


REFUSAL_STATUS = {"forbidden": 403, "not_found": 404, "unauthenticated": 401, "invalid_input": 400,
                  "position_ahead_of_log": 400, "read_models_lagging": 503}


def session_secret(settings: Settings) -> str:
    """The key that signs session cookies: the setting, else a key kept in the data directory (created once),
    so that every worker process and every restart accepts the same cookies."""
    if settings.console_session_secret is not None:
        return settings.console_session_secret.get_secret_value()
    path = settings.data_dir / "console" / "session-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # created once, atomically: worker processes starting together agree on the one that won
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process created it and is writing it
            if secret := path.read_text().strip():
                return secret
            time.sleep(0.1)
        raise RuntimeError(f"the console's session key {path} is empty: delete it") from None
    secret = secrets.token_urlsafe(48)
    with os.fdopen(descriptor, "w") as file:
        file.write(secret)
    return secret


def templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                              trim_blocks=True, lstrip_blocks=True)
    environment.globals.update(
        t=message, M=MESSAGES, french=french, roles=ROLE_NAMES, kinds=KIND_NAMES, objective_kinds=OBJECTIVE_KINDS,
        scopes=INDICATOR_SCOPES, directions=DIRECTIONS, periodicities=PERIODICITIES, owners=ACTION_OWNERS,
        statuses=ACTION_STATUSES, static=STATIC_PATH, csrf_field=CSRF_FIELD, proposal_kinds=PROPOSAL_KINDS,
        proposal_statuses=PROPOSAL_STATUSES, event_names=EVENT_NAMES, parties=PARTIES, member_splits=MEMBER_SPLITS,
        settlements=SETTLEMENTS, review_statuses=REVIEW_STATUSES, outcomes=OUTCOMES,
        participant_functions=PARTICIPANT_FUNCTIONS, point_kinds=POINT_KINDS, bases=BASES, basis_rules=BASIS_RULES,
        avenant_statuses=AVENANT_STATUSES)
    return environment


class Console:
    def __init__(self, settings: Settings, services: Services, schema: Schema, validator: TokenValidator) -> None:
        self.settings = settings
        self.executor = Executor(schema, services)
        self.validator = validator
        self.local = settings.oidc_issuer is None
        self.oidc: OidcSignIn | None = None
        if not self.local:
            from progres.console.oidc import OidcSignIn  # noqa: PLC0415 - Authlib only where Keycloak signs in

            self.oidc = OidcSignIn(settings)
        self.pages = templates()
        self.id_cookie = IdTokenCookie(session_secret(settings), SESSION_SECONDS,
                                       secure=settings.environment == "production")
        self.page_headers = page_headers(settings)

    # --- session, identity, CSRF -------------------------------------------------------------------------

    @staticmethod
    def csrf_token(request: Request) -> str:
        token = request.session.get(CSRF_FIELD)
        if not token:
            token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
        return str(token)

    async def checked_form(self, request: Request) -> dict[str, str] | None:
        """The form's fields, or None when its CSRF token is missing or is not the session's."""
        form = await request.form()
        sent, kept = form.get(CSRF_FIELD), request.session.get(CSRF_FIELD)
        if not isinstance(sent, str) or not kept or not hmac.compare_digest(sent, str(kept)):
            return None
        return {key: value for key, value in form.items() if isinstance(value, str)}

    async def checked_upload(self, request: Request, name: str
                             ) -> tuple[dict[str, str], dict[str, str] | None, str | None] | None:
        """A multipart form's fields and its file `name` as a document (SHA-256, name, media type computed from
        the file), or the French error of an empty file; None when its CSRF token is missing or not the session's."""
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        sent, kept = fields.get(CSRF_FIELD), request.session.get(CSRF_FIELD)
        if not sent or not kept or not hmac.compare_digest(sent, str(kept)):
            return None
        upload = form.get(name)
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read()
            if not content:
                return fields, None, message("err_empty_file")
            return fields, document_of(upload.filename, content), None
        return fields, None, None

    async def actor(self, request: Request) -> Actor | None:
        """The session's actor, its token validated as `/graphql` validates bearer tokens; an expired Keycloak
        token is renewed once with the session's refresh token. None: sign in again."""
        token = request.session.get("token")
        if not token:
            return None
        try:
            claims = self.validator.claims(token)
        except TokenRefused as refusal:
            renewed = None
            if refusal.code == "token_expired" and self.oidc is not None and request.session.get("refresh"):
                renewed = await self.oidc.refresh(request.session["refresh"])
            if renewed is None:
                request.session.clear()
                return None
            request.session["token"], request.session["refresh"] = renewed
            return await self.actor(request)
        try:
            return actor_from_claims(claims, request.session.get("organisation"), request.session.get("role"))
        except TokenRefused:
            request.session.clear()
            return None

    def render(self, request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("me", request.session.get("me"))
        page = self.pages.get_template(template).render(request=request, csrf=self.csrf_token(request), **values)
        return HTMLResponse(page, status_code=status, headers=self.page_headers)

    def refused(self, request: Request, refusal: Refusal) -> HTMLResponse:
        status = REFUSAL_STATUS.get(refusal.code, 500)
        if status == 403:
            return self.render(request, "error.html", 403, title=message("forbidden_title"),
                               text=message("forbidden_message"))
        if status == 404:
            return self.render(request, "error.html", 404, title=message("not_found_title"),
                               text=message("not_found_message"))
        return self.render(request, "error.html", status, title=message("error_title"),
                           text=message("error_message", code=refusal.code))

    def csrf_refused(self, request: Request) -> HTMLResponse:
        return self.render(request, "error.html", 403, title=message("csrf_title"), text=message("csrf_message"))

    # --- sign-in and sign-out ---------------------------------------------------------------------------

    async def sign_in_page(self, request: Request) -> Response:
        if self.local:
            try:
                directory = await self.directory()
            except Refusal as refused:  # e.g. the read models lag: said, not a 500
                return self.refused(request, refused)
            choices = [(org, role) for org in sorted(directory.values(), key=lambda o: o["name"])
                       for role in ROLES_OF_KIND.get(org["kind"], ()) if org.get("siret")]
            return self.render(request, "sign_in.html", title=message("sign_in_title"), local=True, choices=choices)
        return self.render(request, "sign_in.html", title=message("sign_in_title"), local=False, choices=[])

    async def sign_in(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        if not self.local:
            return RedirectResponse("/connexion", 303)
        siret, _, role = form.get("identity", "").partition("|")
        directory = await self.directory()
        known = {org["siret"]: org for org in directory.values() if org.get("siret")}
        if siret not in known or role not in ROLES_OF_KIND.get(known[siret]["kind"], ()):
            return RedirectResponse("/connexion", 303)
        token = LocalIssuer(self.settings.data_dir).mint(siret, [role], self.settings.oidc_audience,
                                                         SESSION_SECONDS)
        return self.signed_in(request, token, siret, role, known[siret]["name"])

    def signed_in(self, request: Request, token: str, siret: str, role: str, name: str,
                  refresh: str | None = None) -> Response:
        request.session.clear()  # a new session: a new CSRF token, nothing of the anonymous one kept
        if refresh:
            request.session["refresh"] = refresh
        request.session.update({"token": token, "organisation": siret, "role": role,
                                "me": {"name": name, "role": ROLE_NAMES.get(role, role)},
                                CSRF_FIELD: secrets.token_urlsafe(32)})
        return RedirectResponse("/", 303)

    async def oidc_start(self, request: Request) -> Response:
        if self.oidc is None:
            return RedirectResponse("/connexion", 303)
        return await self.oidc.start(request, str(request.url_for("oidc_callback")))

    async def oidc_callback(self, request: Request) -> Response:
        if self.oidc is None:
            return RedirectResponse("/connexion", 303)
        from progres.console.oidc import SignInFailed  # noqa: PLC0415

        try:
            token, refresh, id_token = await self.oidc.finish(request)
            claims = self.validator.claims(token)
        except (TokenRefused, SignInFailed) as error:
            return self.render(request, "error.html", 401, title=message("sign_in_title"),
                               text=message("oidc_failed", code=error.code))
        organisations = sorted(self.oidc.organisations(claims))
        roles = sorted({r.value for r in Role} & set(claims.get("realm_access", {}).get("roles", [])))
        if not organisations or not roles:
            return self.render(request, "error.html", 403, title=message("sign_in_title"),
                               text=message("no_organisation"))
        request.session.clear()
        request.session.update({"pending_token": token, "pending_refresh": refresh, "organisations": organisations,
                                "roles": roles,
                                CSRF_FIELD: secrets.token_urlsafe(32)})
        chosen = await self.chosen(request, organisations[0], roles[0]) \
            if len(organisations) == 1 and len(roles) == 1 else RedirectResponse("/connexion/organisation", 303)
        self.id_cookie.set(chosen, id_token)  # to end the provider's session at sign-out
        return chosen

    async def choose_page(self, request: Request) -> Response:
        if not request.session.get("pending_token"):
            return RedirectResponse("/connexion", 303)
        directory = await self.directory_for(request.session["pending_token"], request.session["organisations"][0],
                                             request.session["roles"][0])
        names = {org["siret"]: org["name"] for org in directory.values() if org.get("siret")}
        return self.render(request, "choose.html", title=message("choose_organisation_title"),
                           organisations=[(siret, names.get(siret, siret)) for siret in
                                          request.session["organisations"]], role_choices=request.session["roles"])

    async def choose(self, request: Request) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        if form.get("organisation") not in request.session.get("organisations", []) or \
                form.get("role") not in request.session.get("roles", []):
            return RedirectResponse("/connexion/organisation", 303)
        return await self.chosen(request, form["organisation"], form["role"])

    async def chosen(self, request: Request, siret: str, role: str) -> Response:
        token, refresh = request.session.pop("pending_token", None), request.session.pop("pending_refresh", None)
        if not token:
            return RedirectResponse("/connexion", 303)
        directory = await self.directory_for(token, siret, role)
        names = {org["siret"]: org["name"] for org in directory.values() if org.get("siret")}
        return self.signed_in(request, token, siret, role, names.get(siret, siret), refresh)

    async def sign_out(self, request: Request) -> Response:
        """Ends the console's session and, signed in through the identity provider, the provider's own session too
        (RP-Initiated Logout): otherwise "Se connecter" would sign the same person in again without a password."""
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        request.session.clear()
        ended = None
        if self.oidc is not None:
            ended = await self.oidc.end_session_url(self.id_cookie.read(request), str(request.url_for("signed_out")))
        response = RedirectResponse(ended or "/connexion?sortie=1", 303)
        self.id_cookie.clear(response)
        return response

    async def signed_out(self, request: Request) -> Response:
        """Where the identity provider sends the browser back once its session is ended."""
        return RedirectResponse("/connexion?sortie=1", 303)

    # --- reads -------------------------------------------------------------------------------------------

    async def directory(self) -> dict[str, dict[str, Any]]:
        """The platform's organisations (id → organisation), for the local identity mode's sign-in page: read
        through the `organisations` query, which any signed-in party may read, as a local reader of it."""
        reader = Actor("local-sign-in", Role.ACHETEUR)
        data = await self.executor.read_all(DIRECTORY, reader, "organisations")
        return {edge["node"]["id"]: edge["node"] for edge in data["organisations"]["edges"]}

    async def directory_for(self, token: str, siret: str, role: str) -> dict[str, dict[str, Any]]:
        try:
            actor = actor_from_claims(self.validator.claims(token), siret, role)
            data = await self.executor.read_all(DIRECTORY, actor, "organisations")
        except (TokenRefused, Refusal):
            return {}
        return {edge["node"]["id"]: edge["node"] for edge in data["organisations"]["edges"]}

    async def home(self, request: Request, actor: Actor) -> Response:
        data = {"groupements": await self.executor.groupements(GROUPEMENTS, actor)}
        directory = await self.executor.read_all(DIRECTORY, actor, "organisations")
        names = {edge["node"]["id"]: edge["node"]["name"] for edge in directory["organisations"]["edges"]}
        groupements = []
        for groupement in data["groupements"]:
            plans = []
            for plan_id in (plan["id"] for plan in groupement["plans"]):
                try:
                    plans.append((await self.executor.run(PLAN_SUMMARY, actor, plan=plan_id))["plan"])
                except Refusal:
                    continue  # a plan this actor may not read is not shown
            member = any(m["organisationId"] == actor.organisation_id for m in groupement["members"])
            # Whose dashboards the actor may open besides its own: the API decides, the page only offers links
            # where the policy lets these roles read every member's view.
            dashboards = sorted(((names.get(m["organisationId"], m["organisationId"]), m["organisationId"])
                                 for m in groupement["members"] if m["leftOn"] is None),
                                key=lambda pair: pair[0]) if actor.role in OVERSEEING_ROLES else []
            groupements.append({**groupement, "plans": plans, "member": member, "dashboards": dashboards,
                                "coordonnateur": names.get(groupement["coordonnateurId"], "—")})
        return self.render(request, "home.html", title=message("home_title"), groupements=groupements,
                           actor=actor)

    async def plan(self, request: Request, actor: Actor) -> Response:
        data = await self.executor.read(PLAN_TREE, actor, plan=request.path_params["plan"])
        plan = data["plan"]
        actions: dict[str, list[dict[str, Any]]] = {}
        for action in plan["actions"]:
            actions.setdefault(action["axisKey"], []).append(action)
        return self.render(request, "plan.html", title=message("plan_title", title=plan["title"]), plan=plan,
                           actions=actions, actor=actor)

    async def my_dashboard(self, request: Request, actor: Actor) -> Response:
        return RedirectResponse(f"/plans/{request.path_params['plan']}/membres/{actor.organisation_id}", 303)

    async def dashboard(self, request: Request, actor: Actor) -> Response:
        plan_id, member_id = request.path_params["plan"], request.path_params["member"]
        wanted = position_param(request, "position")
        view = (await self.executor.read(MEMBER_VIEW, actor, plan=plan_id, member=member_id,
                                        minPosition=wanted))["memberView"]
        tree = (await self.executor.read(PLAN_TREE, actor, plan=plan_id))["plan"]
        periodicities = {i["key"]: i["periodicity"] for axis in tree["axes"] for o in axis["objectives"]
                         for i in o["indicators"]}
        directory = await self.executor.read_all(DIRECTORY, actor, "organisations")
        names = {edge["node"]["id"]: edge["node"]["name"] for edge in directory["organisations"]["edges"]}
        member_name = names.get(member_id, member_id)
        own = member_id == actor.organisation_id
        # (indicator, period end) → measure id, for one's own measures (the coordonnateur's: the groupement's too)
        corrigible: dict[tuple[str, str], str] = {}
        if own and not tree["closed"]:
            corrigible = {(key, m["periodEnd"]): m["id"] for key, m in await self.measures_of(actor, plan_id)
                          if m["memberId"] == member_id or (m["memberId"] is None and actor.role == Role.COORDONNATEUR)}
        done = request.query_params.get("enregistre") or request.query_params.get("corrige")
        notice = "measure_corrected" if request.query_params.get("corrige") else "measure_recorded"
        return self.render(request, "dashboard.html", title=message("dashboard_title", member=member_name),
                           plan=tree, panels=dashboard.panels(dashboard.member_document(view), member_name,
                                                              periodicities),
                           recorded=message(notice, position=wanted) if done else None, own=own,
                           corrigible=corrigible)

    async def measures_of(self, actor: Actor, plan_id: str,
                          min_position: int | None = None) -> list[tuple[str, dict[str, Any]]]:
        plan = (await self.executor.run(MEASURES, actor, plan=plan_id, minPosition=min_position))["plan"]
        return [(indicator["key"], {**edge["node"], "indicator": indicator})
                for axis in plan["axes"] for objective in axis["objectives"] for indicator in objective["indicators"]
                for edge in indicator["measures"]["edges"]]

    async def correction_form(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                              errors: dict[str, str] | None = None) -> Response:
        plan_id, measure_id = request.path_params["plan"], request.path_params["measure"]
        found = [m for _, m in await self.measures_of(actor, plan_id) if m["id"] == measure_id]
        groupement_wide = bool(found) and found[0]["memberId"] is None and actor.role == Role.COORDONNATEUR
        if not found or (found[0]["memberId"] != actor.organisation_id and not groupement_wide):
            raise Refusal("not_found", "measure")
        measure = found[0]
        unit = measure["indicator"]["unit"]
        period = french.period(measure["periodStart"], measure["periodEnd"])
        current = message("correct_current", indicator=measure["indicator"]["name"], period=period,
                          value=french.quantity(measure["value"], unit), source=measure["source"]) \
            if measure["indicator"]["kind"] == "quantitative" else \
            message("correct_current_assessment", indicator=measure["indicator"]["name"], period=period,
                    assessment=measure["assessment"] or "—", source=measure["source"])
        return self.render(request, "correct.html", 422 if errors else 200, title=message("correct_title"),
                           plan_id=plan_id, measure=measure, current=current, values=values or {},
                           errors=errors or {})

    async def correct_measure(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        plan_id, measure_id = request.path_params["plan"], request.path_params["measure"]
        found = [m for _, m in await self.measures_of(actor, plan_id) if m["id"] == measure_id]
        qualitative = bool(found) and found[0]["indicator"]["kind"] != "quantitative"
        errors, variables = parse_correction(form, qualitative)
        if not errors:
            outcome = await self.executor.command(CORRECT_MEASURE, actor, measureId=measure_id,
                                                  correctedBy=actor.organisation_id, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{plan_id}/membres/{actor.organisation_id}"
                                        f"?corrige=1&position={outcome.position}", 303)
            # A qualitative measure's assessment is its value: an unchanged one is refused on `value`.
            fields = {**CORRECTION_API_FIELDS, "value": "assessment"} if qualitative else CORRECTION_API_FIELDS
            errors[outcome.field(fields)] = refusal(outcome.code, outcome.text)
        return await self.correction_form(request, actor, {k: v for k, v in form.items() if k != CSRF_FIELD}, errors)

    # --- recording a measure -------------------------------------------------------------------------------

    async def measure_form(self, request: Request, actor: Actor) -> Response:
        tree = (await self.executor.read(PLAN_TREE, actor, plan=request.path_params["plan"]))["plan"]
        return self.render(request, "measure.html", title=message("measure_title"), plan=tree,
                           indicators=recordable(tree), values={}, errors={})

    async def record_measure(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        plan_id = request.path_params["plan"]
        tree = (await self.executor.read(PLAN_TREE, actor, plan=plan_id))["plan"]
        indicators = recordable(tree)
        errors, variables = parse_measure(form, {i["key"]: i for i in indicators})
        if not errors:
            scope = next(i["scope"] for i in indicators if i["key"] == variables["indicatorKey"])
            outcome = await self.executor.command(
                RECORD_MEASURE, actor, planId=plan_id, memberId=actor.organisation_id if scope == "member" else None,
                recordedBy=actor.organisation_id, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{plan_id}/membres/{actor.organisation_id}?enregistre=1&position="
                                        f"{outcome.position}", 303)
            errors[outcome.field(API_FIELDS)] = refusal(outcome.code, outcome.text)
        shown = {key: value for key, value in form.items() if key != CSRF_FIELD}
        return self.render(request, "measure.html", 422, title=message("measure_title"), plan=tree,
                           indicators=indicators, values=shown, errors=errors)


    # --- propositions ---------------------------------------------------------------------------------------

    async def proposals(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None) -> Response:
        wanted = position_param(request, "soumise")
        plan = (await self.executor.run(PROPOSALS, actor, plan=request.path_params["plan"],
                                        minPosition=wanted))["plan"]
        directory = await self.executor.read_all(DIRECTORY, actor, "organisations")
        names = {edge["node"]["id"]: edge["node"]["name"] for edge in directory["organisations"]["edges"]}
        axes = {axis["key"]: axis["title"] for axis in plan["axes"]}
        return self.render(
            request, "proposals.html", 422 if errors else 200, title=message("proposals_title", title=plan["title"]),
            plan=plan, names=names, axes=axes, values=values or {}, errors=errors or {},
            may_submit=not plan["closed"] and actor.role in PROPOSING_ROLES,
            submitted=message("proposal_submitted_ok", position=wanted) if wanted else None)

    async def submit_proposal(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        plan_id = request.path_params["plan"]
        plan = (await self.executor.run(PROPOSALS, actor, plan=plan_id))["plan"]
        errors, variables = parse_proposal(form, {axis["key"] for axis in plan["axes"]})
        if not errors:
            outcome = await self.executor.command(SUBMIT_PROPOSAL, actor, planId=plan_id,
                                                  authorId=actor.organisation_id, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{plan_id}/propositions?soumise={outcome.position}", 303)
            errors[outcome.field(PROPOSAL_API_FIELDS)] = refusal(outcome.code, outcome.text)
        return await self.proposals(request, actor, {k: v for k, v in form.items() if k != CSRF_FIELD}, errors)


    # --- revues ---------------------------------------------------------------------------------------------

    async def reviews(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None) -> Response:
        wanted = position_param(request, "programmee")
        plan = (await self.executor.read(REVIEWS, actor, plan=request.path_params["plan"], minPosition=wanted))["plan"]
        return self.render(request, "reviews.html", 422 if errors else 200,
                           title=message("reviews_title", title=plan["title"]), plan=plan, values=values or {},
                           errors=errors or {}, may_schedule=not plan["closed"] and actor.role == Role.COORDONNATEUR,
                           scheduled=message("review_scheduled_ok", position=wanted) if wanted else None)

    async def schedule_review(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        plan_id = request.path_params["plan"]
        errors, variables = parse_fields(form, {"title": ("title", required_text),
                                                "scheduled_on": ("scheduledOn", french_date)})
        if not errors:
            outcome = await self.executor.command(SCHEDULE_REVIEW, actor, planId=plan_id, **variables)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{plan_id}/revues/{outcome.payload['review']['id']}"
                                        f"?fait={outcome.position}", 303)
            errors[outcome.field({"scheduledOn": "scheduled_on", "title": "title"})] = \
                refusal(outcome.code, outcome.text)
        return await self.reviews(request, actor, {k: v for k, v in form.items() if k != CSRF_FIELD}, errors)

    async def review(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, notice: str | None = None,
                     min_position: int | None = None) -> Response:
        plan_id, review_id = request.path_params["plan"], request.path_params["review"]
        wanted = position_param(request, "fait") or min_position
        plan = (await self.executor.read(REVIEWS, actor, plan=plan_id, minPosition=wanted))["plan"]
        found = [r for r in plan["reviews"] if r["id"] == review_id]
        if not found:
            raise Refusal("not_found", "review")
        review = found[0]
        decided = {d["proposalId"] for d in review["decisions"]}
        proposals = {edge["node"]["id"]: edge["node"] for edge in plan["proposals"]["edges"]}
        agenda = [p for p in proposals.values() if p["status"] in ("submitted", "postponed") and p["id"] not in decided]
        late = [a for a in plan["actions"] if a["status"] not in ("done", "abandoned", "cancelled")
                and (a["status"] == "late" or (a["dueOn"] and a["dueOn"] < review["scheduledOn"]))]
        directory = await self.executor.read_all(DIRECTORY, actor, "organisations")
        names = {edge["node"]["id"]: edge["node"]["name"] for edge in directory["organisations"]["edges"]}
        if notice is None and wanted:
            notice = message("review_done_ok", position=wanted)
        return self.render(request, "review.html", 422 if errors else 200,
                           title=message("review_title", title=review["title"]), plan=plan, review=review,
                           agenda=agenda, late=late, proposals=proposals, names=names, values=values or {},
                           errors=errors or {}, notice=notice, rows=range(1, PARTICIPANT_ROWS + 1),
                           may_act=not plan["closed"] and actor.role == Role.COORDONNATEUR)

    async def hold_review(self, request: Request, actor: Actor) -> Response:
        checked = await self.checked_upload(request, "minutes")
        if checked is None:
            return self.csrf_refused(request)
        fields, minutes, upload_error = checked
        errors, variables = parse_fields(fields, {"held_on": ("heldOn", french_date)})
        if upload_error:
            errors["minutes"] = upload_error
        participants = []
        for row in range(1, PARTICIPANT_ROWS + 1):
            name = fields.get(f"name_{row}", "").strip()
            if not name:
                continue
            function = fields.get(f"function_{row}", "")
            if function not in PARTICIPANT_FUNCTIONS:
                errors[f"function_{row}"] = message("err_choice")
            organisation = fields.get(f"organisation_{row}") or None
            participants.append({"name": name[:200], "function": function, "organisationId": organisation})
        if not participants:
            errors["name_1"] = message("err_participants")
        if not errors:
            outcome = await self.executor.command(HOLD_REVIEW, actor, reviewId=request.path_params["review"],
                                                  attendees=participants, minutes=minutes, **variables)
            if outcome.accepted:
                notice = message("review_held_ok", position=outcome.position)
                if minutes:
                    notice += " " + message("minutes_recorded", name=minutes["name"], sha256=minutes["sha256"],
                                            media_type=minutes["mediaType"])
                return await self.review(request, actor, notice=notice, min_position=outcome.position)
            errors[attendee_field(outcome.path)] = refusal(outcome.code, outcome.text)
        return await self.review(request, actor, {k: v for k, v in fields.items() if k != CSRF_FIELD}, errors)

    async def decide(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        proposal = form.get("proposal", "")
        errors: dict[str, str] = {}
        if form.get("outcome") not in OUTCOMES:
            errors[f"outcome-{proposal}"] = message("err_choice")
        try:
            reasons = required_text(form.get("reasons", ""), 2000)
        except FieldError as error:
            errors[f"reasons-{proposal}"] = error.text
        if not errors:
            outcome = await self.executor.command(DECIDE, actor, reviewId=request.path_params["review"],
                                                  proposalId=proposal, outcome=form["outcome"], reasons=reasons)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{request.path_params['plan']}/revues/{request.path_params['review']}"
                                        f"?fait={outcome.position}", 303)
            errors[outcome.field({"reasons": f"reasons-{proposal}"}, f"outcome-{proposal}")] = \
                refusal(outcome.code, outcome.text)
        values = {f"outcome-{proposal}": form.get("outcome", ""), f"reasons-{proposal}": form.get("reasons", "")}
        return await self.review(request, actor, values, errors)

    async def close_review(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        errors, variables = parse_fields(form, {"closed_on": ("on", french_date)})
        if not errors:
            outcome = await self.executor.command(CLOSE_REVIEW, actor, reviewId=request.path_params["review"],
                                                  **variables)
            if outcome.accepted:
                return RedirectResponse(f"/plans/{request.path_params['plan']}/revues/{request.path_params['review']}"
                                        f"?fait={outcome.position}", 303)
            errors[outcome.field({"on": "closed_on"})] = refusal(outcome.code, outcome.text)
        return await self.review(request, actor, {k: v for k, v in form.items() if k != CSRF_FIELD}, errors)


    # --- avenants ---------------------------------------------------------------------------------------------

    async def marche_of(self, actor: Actor, marche_id: str,
                        min_position: int | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The marché (with its avenants) and its groupement, as the API shows them to this actor; else not found.
        The `groupements` query takes no `minPosition`: to read one's own write, the read models are first brought
        to that position through a plan of the groupement (`plan(minPosition:)` waits for them all)."""
        groupements = (await self.executor.read(MARCHES, actor))["groupements"]
        if min_position:
            for groupement in groupements:
                if any(m["id"] == marche_id for m in groupement["marches"]) and groupement["plans"]:
                    await self.executor.run(PLAN_AT, actor, plan=groupement["plans"][0]["id"],
                                            minPosition=min_position)
                    groupements = (await self.executor.read(MARCHES, actor))["groupements"]
        for groupement in groupements:
            for marche in groupement["marches"]:
                if marche["id"] == marche_id:
                    return groupement, marche
        raise Refusal("not_found", "marche")

    async def avenants(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                       errors: dict[str, str] | None = None, notice: str | None = None) -> Response:
        wanted = position_param(request, "fait")
        groupement, marche = await self.marche_of(actor, request.path_params["marche"], wanted)
        if notice is None and wanted:
            notice = message("avenant_done_ok", position=wanted)
        proposals = await review_pages.marche_proposals(self.executor, actor, groupement, marche["id"])
        if values is None and request.query_params.get("proposition") in proposals:  # "Proposer l'avenant" of a revue
            values = review_pages.from_proposal(proposals[request.query_params["proposition"]])
        return self.render(request, "avenants.html", 422 if errors else 200,
                           title=message("avenants_title", code=marche["code"]), marche=marche,
                           groupement=groupement, caps=caps_of(marche), values=values or {}, errors=errors or {},
                           notice=notice, may_act=marche["closedOn"] is None and actor.role == Role.COORDONNATEUR,
                           proposals=proposals, proposal_choices=review_pages.proposal_choices(proposals))

    async def propose_avenant(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        marche_id = request.path_params["marche"]
        errors, variables = parse_fields(form, {"reason": ("reason", lambda raw: required_text(raw, 2000)),
                                                "proposed_on": ("on", french_date)})
        if form.get("basis") in BASES:
            variables["basis"] = form["basis"]
        else:
            errors["basis"] = message("err_choice")
        changes: dict[str, Any] = {}
        if form.get("amount_delta", "").strip():
            try:
                changes["amountDelta"] = french_decimal(form["amount_delta"])
            except FieldError as error:
                errors["amount_delta"] = error.text
        if form.get("duration_delta", "").strip():
            raw = form["duration_delta"].strip()
            if re.fullmatch(r"[+-]?\d{1,3}", raw):
                changes["durationDeltaMonths"] = int(raw)
            else:
                errors["duration_delta"] = message("err_integer", value=raw[:40])
        if form.get("axis_title", "").strip() or form.get("axis_key", "").strip():
            try:
                changes["planChanges"] = [{"kind": "add_axis", "key": required_text(form.get("axis_key", ""), 60),
                                            "title": required_text(form.get("axis_title", ""))}]
            except FieldError as error:
                errors["axis_key" if not form.get("axis_key", "").strip() else "axis_title"] = error.text
        variables["proposalId"] = form.get("proposal_id") or None  # the accepted proposition it follows, if any
        if not errors:
            outcome = await self.executor.command(PROPOSE_AVENANT, actor, marcheId=marche_id, avenantChanges=changes,
                                                  **variables)
            if outcome.accepted:
                return RedirectResponse(f"/marches/{marche_id}/avenants?fait={outcome.position}", 303)
            errors[outcome.field(AVENANT_API_FIELDS)] = refusal(outcome.code, outcome.text)
        return await self.avenants(request, actor, {k: v for k, v in form.items() if k != CSRF_FIELD}, errors)

    async def avenant_step(self, request: Request, actor: Actor) -> Response:
        """The CAO's opinion, the signature or the notification of avenant n° `number`: one form each."""
        step = request.path_params["step"]
        if step not in AVENANT_STEPS:
            raise Refusal("not_found", "step")
        checked = await self.checked_upload(request, "document")
        if checked is None:
            return self.csrf_refused(request)
        form, document, upload_error = checked
        marche_id, number = request.path_params["marche"], request.path_params["number"]
        prefix = f"{step}-{number}"
        errors, variables = parse_fields(form, {"on": ("on", french_date)})
        errors = {f"{prefix}-on": text for text in errors.values()}
        if upload_error:
            errors[f"{prefix}-document"] = upload_error
        if step == "avis-cao":
            if form.get("favourable") not in ("oui", "non"):
                errors[f"{prefix}-favourable"] = message("err_choice")
            variables["favourable"] = form.get("favourable") == "oui"
        if step != "notification":
            variables["document"] = document
        if not errors:
            document_name, on = AVENANT_STEPS[step]
            variables[on] = variables.pop("on")
            outcome = await self.executor.command(document_name, actor, marcheId=marche_id, number=int(number),
                                                  **variables)
            if outcome.accepted:
                return RedirectResponse(f"/marches/{marche_id}/avenants?fait={outcome.position}", 303)
            errors[outcome.field({"document": f"{prefix}-document"}, f"{prefix}-on")] = \
                refusal(outcome.code, outcome.text)
        return await self.avenants(request, actor, {k: v for k, v in form.items() if k != CSRF_FIELD} |
                                   {f"{prefix}-on": form.get("on", "")}, errors)


    # --- the bilan ------------------------------------------------------------------------------------------

    async def balance(self, request: Request, actor: Actor) -> Response:
        plan_id = request.path_params["plan"]
        answer = (await self.executor.read(BALANCE, actor, plan=plan_id))["planBalance"]
        tree = (await self.executor.read(PLAN_TREE, actor, plan=plan_id))["plan"]
        indicators = {i["key"]: i for axis in tree["axes"] for o in axis["objectives"] for i in o["indicators"]}
        document = answer
        return self.render(request, "bilan.html", title=message("bilan_title", title=tree["title"]), plan=tree,
                           document=document, final=answer["final"],
                           panels=dashboard.balance_panels(document, indicators), summary=balance_summary(document))

    async def balance_csv(self, request: Request, actor: Actor) -> Response:
        """The bilan's figures as a CSV file the French way (semicolons, decimal commas), from the same
        `planBalance` answer as the page: what the reader may see, no more."""
        plan_id = request.path_params["plan"]
        document = (await self.executor.read(BALANCE, actor, plan=plan_id))["planBalance"]
        lines = [[message("csv_section"), message("csv_label"), message("csv_value")]]
        lines += [[message("bilan_summary_title"), label, value] for label, value in balance_summary(document)]
        for axis in document.get("axes", []):
            for objective in axis.get("objectives", []):
                for indicator in objective.get("indicators", []):
                    for p in indicator.get("periods") or []:
                        lines.append([indicator["name"], french.period(p["periodStart"], p["periodEnd"]),
                                      french.cell_number(p.get("value")) if p.get("value") is not None else ""])
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(lines)
        name = f"bilan-{plan_id[:8]}-{document.get('asOfDay', '')}.csv"
        return Response(("\ufeff" + buffer.getvalue()).encode(), media_type="text/csv; charset=utf-8",
                        headers={**PAGE_HEADERS, "content-disposition": f'attachment; filename="{name}"'})


    # --- importing a file of measures ------------------------------------------------------------------------

    async def import_form(self, request: Request, actor: Actor, values: dict[str, str] | None = None,
                          errors: dict[str, str] | None = None, preview: list[dict[str, Any]] | None = None,
                          line_errors: list[str] | None = None, rows: str | None = None) -> Response:
        tree = (await self.executor.read(PLAN_TREE, actor, plan=request.path_params["plan"]))["plan"]
        status = 422 if errors or line_errors else 200
        return self.render(request, "import.html", status, title=message("import_title"), plan=tree,
                           values=values or {}, errors=errors or {}, preview=preview, line_errors=line_errors or [],
                           rows=rows)

    async def import_preview(self, request: Request, actor: Actor) -> Response:
        """Reads the file and checks each line, writing nothing: the preview, or the errors line by line."""
        checked = await self.checked_upload(request, "file")
        if checked is None:
            return self.csrf_refused(request)
        form, _, upload_error = checked
        plan_id = request.path_params["plan"]
        tree = (await self.executor.read(PLAN_TREE, actor, plan=plan_id))["plan"]
        errors, _ = parse_fields(form, {"source": ("source", required_text),
                                                "declared_on": ("declaredOn",
                                                                lambda raw: french_date(raw, required=False))})
        upload = (await request.form()).get("file")  # the form as parsed by checked_upload
        content = b""
        if isinstance(upload, UploadFile):
            await upload.seek(0)
            content = await upload.read()
        name = upload.filename if isinstance(upload, UploadFile) and upload.filename else ""
        if upload_error or not content:
            errors["file"] = upload_error or message("err_required")
        values = {k: v for k, v in form.items() if k != CSRF_FIELD}
        if errors:
            return await self.import_form(request, actor, values, errors)
        try:
            lines = read_measure_file(name, content)
        except FieldError as error:
            return await self.import_form(request, actor, values, {"file": error.text})
        indicators = {i["key"]: i for axis in tree["axes"] for o in axis["objectives"] for i in o["indicators"]}
        preview, line_errors, rows = check_measure_lines(lines, indicators, actor.organisation_id or "")
        return await self.import_form(request, actor, values, {}, preview, line_errors,
                                      None if line_errors else json.dumps(rows))

    async def import_confirm(self, request: Request, actor: Actor) -> Response:
        form = await self.checked_form(request)
        if form is None:
            return self.csrf_refused(request)
        plan_id = request.path_params["plan"]
        errors, variables = parse_fields(form, {"source": ("source", required_text),
                                                "declared_on": ("declaredOn",
                                                                lambda raw: french_date(raw, required=False))})
        try:
            rows = json.loads(form.get("rows", ""))
            if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
                raise ValueError
        except ValueError:
            errors["file"] = message("err_import_rows")
        values = {k: v for k, v in form.items() if k not in (CSRF_FIELD, "rows")}
        if errors:
            return await self.import_form(request, actor, values, errors)
        measures = [{key: row.get(key) for key in MEASURE_ROW_FIELDS if row.get(key) is not None} for row in rows]
        outcome = await self.executor.command(IMPORT_MEASURES, actor, planId=plan_id, measures=measures,
                                              recordedBy=actor.organisation_id, **variables)
        if outcome.accepted:
            return RedirectResponse(f"/plans/{plan_id}/membres/{actor.organisation_id}?enregistre=1&position="
                                    f"{outcome.position}", 303)
        text = refusal(outcome.code, outcome.text)
        line = import_line(outcome.path, rows)
        line_errors = [message("import_line_error", line=line, text=text)] if line else []
        return await self.import_form(request, actor, values, {} if line else {"file": text}, None, line_errors)

    # --- the auditors' timeline ---------------------------------------------------------------------------

    async def timeline(self, request: Request, actor: Actor) -> Response:
        plan_id = request.path_params["plan"]
        after = request.query_params.get("apres", "")
        plan = (await self.executor.run(PLAN_SUMMARY, actor, plan=plan_id))["plan"]
        replay = (await self.executor.run(REPLAY, actor, plan=plan_id,
                                          after=after if after.isdigit() and len(after) < 12 else None))["replay"]
        steps = [{"position": edge["node"]["position"], "moment": moment_of(edge["node"]["timestamp"]),
                  "type": edge["node"]["type"], "state": state_counts(edge["node"]["planState"])}
                 for edge in replay["edges"]]
        log = None if after else await audit_pages.log_status(self.executor, actor, plan_id)  # on the first page
        return self.render(request, "timeline.html", title=message("timeline_title", title=plan["title"]), plan=plan,
                           steps=steps, next_after=replay["pageInfo"]["endCursor"]
                           if replay["pageInfo"]["hasNextPage"] else None, log=log)


OVERSEEING_ROLES = (Role.COORDONNATEUR, Role.AUDITEUR)
PROPOSING_ROLES = (Role.COORDONNATEUR, Role.ACHETEUR, Role.TITULAIRE)
# A refusal's field, the last names of its GraphQL path (`input.expectedGain`), and the form's field it belongs to.
PROPOSAL_API_FIELDS = {"axisKey": "axis", "kind": "kind", "title": "title", "content": "content",
                       "expectedImpact": "impact", "expectedGain": "gain", "submittedOn": "submitted_on"}
CORRECTION_API_FIELDS = {"value": "value", "assessment": "assessment", "reason": "reason",
                         "correctedOn": "corrected_on"}
AVENANT_API_FIELDS = {"basis": "basis", "reason": "reason", "on": "proposed_on", "amountDelta": "amount_delta",
                      "durationDeltaMonths": "duration_delta", "planChanges": "axis_key", "proposalId": "proposal_id",
                      "decision": "proposal_id"}

# Each step of an avenant after its proposal: its mutation, and the input field of its date.
AVENANT_STEPS = {"avis-cao": (RECORD_CAO_OPINION, "givenOn"), "signature": (SIGN_AVENANT, "signedOn"),
                 "notification": (NOTIFY_AVENANT, "notifiedOn")}


def attendee_field(path: list[str]) -> str:
    """A refusal of `holdReview` (`input.attendees.2.function`), and the form's field it belongs to (row 3's)."""
    if path[:1] == ["attendees"]:
        row = int(path[1]) + 1 if len(path) > 1 and path[1].isdigit() else 1
        return f"function_{row}" if path[-1] == "function" else f"name_{row}"
    return {"heldOn": "held_on", "minutes": "minutes"}.get(path[0] if path else "", "form")


def import_line(path: list[str], rows: list[dict[str, Any]]) -> int | None:
    """The file's line a refusal of `importMeasures` names (`input.measures.3.value`: the fourth row sent), by the line
    number each row kept from the preview; None when it names no row."""
    if len(path) < 2 or path[0] != "measures" or not path[1].isdigit() or int(path[1]) >= len(rows):
        return None
    return int(rows[int(path[1])].get("line") or int(path[1]) + 2)


def caps_of(marche: dict[str, Any]) -> dict[str, Any]:
    """The marché's amounts as the avenants page shows them: the initial and current amounts (the notified avenants
    added), the net change in percent, and each legal basis's cap in euros (None: no cap in euros)."""
    initial = Decimal(marche["initialAmount"])
    notified = sum((Decimal(a["amountDelta"]) for a in marche["avenants"] if a["status"] == "notified"), Decimal(0))
    current = initial + notified
    natures = {nature.value: nature for nature in MarcheNature}
    small = DE_MINIMIS_CAP_PERCENT.get(natures[marche["nature"]]) if marche["nature"] in natures else None
    capped = marche["buyerKind"] != "entite_adjudicatrice"
    rows = []
    for basis in BASES:
        percent = (PER_MODIFICATION_CAP_PERCENT if capped and basis in ("R2194-2", "R2194-3", "R2194-4", "R2194-5")
                   else small if basis in ("R2194-8", "R2194-9") else None)
        rows.append({"basis": basis, "percent": percent,
                     "amount": (initial * percent / 100) if percent is not None else None})
    return {"initial": initial, "current": current, "change": (current - initial) / initial * 100 if initial else 0,
            "cao_percent": CAO_THRESHOLD_PERCENT, "cao_amount": initial * CAO_THRESHOLD_PERCENT / 100, "rows": rows}


def balance_summary(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The bilan's headline figures (the typed `planBalance`), in French: amounts, actions, propositions, revues,
    gains."""
    marche = document.get("marche") or {}
    actions = document.get("actionsByOwner") or []
    late = sum(tally.get("late", 0) for tally in actions)
    total = sum(tally.get("total", 0) for tally in actions)
    proposals = document.get("proposals") or {}
    gains = document.get("gains") or {}
    return [
        (message("bilan_day"), french.day(document["asOfDay"]) if document.get("asOfDay") else "—"),
        (message("amount_initial"), french.money(marche.get("initialAmount"))),
        (message("bilan_current_amount"), french.money(marche.get("currentAmount"))),
        (message("amount_change"), french.percent(marche.get("cumulativeChangePercent") or 0, 2)),
        (message("bilan_actions"), message("bilan_actions_value", late=french.number(late),
                                           total=french.number(total))),
        (message("bilan_proposals"), message("bilan_proposals_value",
                                             accepted=french.number(proposals.get("accepted", 0)),
                                             rejected=french.number(proposals.get("rejected", 0)),
                                             pending=french.number(proposals.get("pending", 0)))),
        (message("bilan_reviews"), french.number((document.get("reviews") or {}).get("held", 0))),
        (message("bilan_avenants"), french.number((document.get("avenants") or {}).get("totalCount", 0))),
        (message("bilan_gains"), french.money(gains.get("total") or 0)),
    ]


IMPORT_COLUMNS = ("indicateur", "debut", "fin", "valeur")
ACCENTS = str.maketrans("éèêàûç", "eeeauc")


def read_measure_file(name: str, content: bytes) -> list[list[str]]:
    """The lines of a file of measures (CSV, `;` or `,`, UTF-8; or XLSX, first sheet), header included."""
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook  # noqa: PLC0415

        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        except Exception:
            raise FieldError(message("err_import_file")) from None
        return [["" if cell is None else cell.isoformat()[:10] if isinstance(cell, (date, datetime)) else str(cell)
                 for cell in row] for row in sheet.iter_rows(values_only=True)]
    if not name.lower().endswith(".csv"):
        raise FieldError(message("err_import_file"))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FieldError(message("err_import_encoding")) from None
    delimiter = ";" if text.split("\n", 1)[0].count(";") >= text.split("\n", 1)[0].count(",") else ","
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def check_measure_lines(lines: list[list[str]], indicators: dict[str, dict[str, Any]], me: str  # noqa: PLR0912
                        ) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """Each line checked as the measure form checks its fields: the preview, the errors named by line number
    (the header is line 1), and the rows for `importMeasures` (its `MeasureRowInput`, with the line each came from)."""
    header = [cell.strip().lower().translate(ACCENTS) for cell in (lines[0] if lines else [])]
    if header[:4] != list(IMPORT_COLUMNS):
        return [], [message("import_header", columns=";".join(IMPORT_COLUMNS))], []
    preview, line_errors, rows = [], [], []
    for number, line in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in line):
            continue
        cells = [*line, "", "", "", ""][:4]
        problems: list[str] = []
        indicator = indicators.get(cells[0].strip())
        if indicator is None:
            problems.append(message("import_unknown_indicator", indicator=cells[0].strip()[:40]))
        parsed: dict[str, Any] = {}
        for name, raw in (("period_start", cells[1]), ("period_end", cells[2])):
            try:
                parsed[name] = french_date(raw)
            except FieldError as error:
                problems.append(f"{message('import_col_' + name)} : {error.text}")
        row: dict[str, Any] = {}
        if indicator is not None and indicator["kind"] != "quantitative":
            row["assessment"] = cells[3].strip()
            if not row["assessment"]:
                problems.append(f"{message('import_col_value')} : {message('err_required')}")
        else:
            try:
                row["value"] = french_decimal(cells[3])
            except FieldError as error:
                problems.append(f"{message('import_col_value')} : {error.text}")
        if len(parsed) == 2 and parsed["period_end"] < parsed["period_start"]:
            problems.append(message("err_period_order"))
        for problem in problems:
            line_errors.append(message("import_line_error", line=number, text=problem))
        unit = indicator["unit"] if indicator else ""
        preview.append({"line": number, "indicator": indicator["name"] if indicator else cells[0],
                        "period": french.period(parsed["period_start"], parsed["period_end"])
                        if len(parsed) == 2 else f"{cells[1]} – {cells[2]}",
                        "value": french.quantity(row["value"], unit) if row.get("value") else cells[3],
                        "ok": not problems})
        if not problems and indicator is not None:
            rows.append({"line": number, "indicatorKey": indicator["key"],
                         "memberId": me if indicator["scope"] == "member" else None,
                         "periodStart": parsed["period_start"].isoformat(),
                         "periodEnd": parsed["period_end"].isoformat(), **row})
    if not preview:
        line_errors.append(message("import_empty"))
    return preview, line_errors, rows


MEASURE_ROW_FIELDS = ("indicatorKey", "memberId", "periodStart", "periodEnd", "value", "assessment")
PARTICIPANT_ROWS = 4
# File signatures the minutes are recognised by, before the file's name is asked.
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def document_of(filename: str, content: bytes) -> dict[str, str]:
    """A document as the API designates it: the SHA-256 of its content, its name and its media type (from its
    first bytes, else its name's extension)."""
    name = Path(filename.replace("\\", "/")).name[:200] or "document"
    media_type = next((kind for magic, kind in SIGNATURES if content.startswith(magic)), None)
    if media_type is None:
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return {"sha256": hashlib.sha256(content).hexdigest(), "name": name, "mediaType": media_type}


def parse_proposal(form: dict[str, str], axes: set[str]) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    variables: dict[str, Any] = {}
    for name, variable, allowed in (("axis", "axisKey", axes), ("kind", "kind", set(PROPOSAL_KINDS))):
        if form.get(name) in allowed:
            variables[variable] = form[name]
        else:
            errors[name] = message("err_choice")
    field_errors, fields = parse_fields(form, {
        "title": ("title", required_text), "content": ("content", lambda raw: required_text(raw, 4000)),
        "impact": ("expectedImpact", lambda raw: required_text(raw, 2000)),
        "submitted_on": ("submittedOn", french_date),
        "gain": ("expectedGain", lambda raw: french_decimal(raw) if raw.strip() else None),
    })
    return {**errors, **field_errors}, {**variables, **fields}


def parse_correction(form: dict[str, str], qualitative: bool = False) -> tuple[dict[str, str], dict[str, Any]]:
    """A correction's fields: the new value (a French decimal), or for a qualitative measure its new assessment."""
    observation: tuple[str, tuple[str, Callable[[str], Any]]] = \
        ("assessment", ("assessment", lambda raw: required_text(raw, 4000))) if qualitative else \
        ("value", ("value", french_decimal))
    return parse_fields(form, {
        observation[0]: observation[1], "reason": ("reason", lambda raw: required_text(raw, 2000)),
        "corrected_on": ("correctedOn", french_date),
    })


def moment_of(timestamp: str) -> str:
    try:
        return french.moment(datetime.fromisoformat(timestamp).astimezone(UTC))
    except ValueError:
        return timestamp


def state_counts(plan: Any) -> str:
    """The plan's state after an event (the typed `planState` of a replay step), in a few French words."""
    if not isinstance(plan, dict) or not plan.get("exists"):
        return message("state_no_plan")
    parts = []
    for key, singular, plural in STATE_COUNTS:
        value = plan.get(key)
        total = sum(count["count"] for count in value) if isinstance(value, list) else value
        if isinstance(total, int) and total:
            parts.append(french.count(total, singular, plural))
    if plan.get("currentAmount"):
        parts.append(message("state_amount", amount=french.money(plan["currentAmount"])))
    if plan.get("closed"):
        parts.append(message("state_closed"))
    return ", ".join(parts) or "—"


def recordable(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's quantitative indicators, in the plan's order (what this form records)."""
    return [i for axis in plan["axes"] for objective in axis["objectives"] for i in objective["indicators"]
            if i["kind"] == "quantitative"]


# A refusal's field, as the API names it, and the form's field it belongs to.
API_FIELDS = {"indicatorKey": "indicator", "periodStart": "period_start", "periodEnd": "period_end", "value": "value",
              "source": "source", "declaredOn": "declared_on", "period": "period_start"}


def parse_measure(form: dict[str, str], indicators: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The form's fields as the mutation's variables, or the French error of each field at fault."""
    errors: dict[str, str] = {}
    variables: dict[str, Any] = {}
    if form.get("indicator") not in indicators:
        errors["indicator"] = message("err_indicator")
    else:
        variables["indicatorKey"] = form["indicator"]
    parsers: dict[str, tuple[str, Callable[[str], Any]]] = {
        "period_start": ("periodStart", french_date), "period_end": ("periodEnd", french_date),
        "value": ("value", french_decimal), "source": ("source", required_text),
        "declared_on": ("declaredOn", lambda raw: french_date(raw, required=False)),
    }
    for name, (variable, parse) in parsers.items():
        try:
            parsed = parse(form.get(name, ""))
        except FieldError as error:
            errors[name] = error.text
            continue
        variables[variable] = parsed.isoformat() if isinstance(parsed, date) else parsed
    if "periodStart" in variables and "periodEnd" in variables and variables["periodEnd"] < variables["periodStart"]:
        errors["period_end"] = message("err_period_order")
    return errors, variables


Page = Callable[[Request, Actor], Awaitable[Response]]


def build_console(settings: Settings, services: Services, schema: Schema, validator: TokenValidator) -> Starlette:
    from progres.console.setup import setup_routes  # noqa: PLC0415 - console/setup.py imports this module

    console = Console(settings, services, schema, validator)

    def signed(page: Page) -> Callable[[Request], Awaitable[Response]]:
        """A page for a signed-in party: the actor from the session; a refusal of the API as its French page."""
        async def endpoint(request: Request) -> Response:
            actor = await console.actor(request)
            if actor is None:
                return RedirectResponse("/connexion", 303)
            try:
                return await page(request, actor)
            except Refusal as refusal:
                return console.refused(request, refusal)
        return endpoint

    async def not_found(request: Request, _: Exception) -> Response:
        return console.render(request, "error.html", 404, title=message("not_found_title"),
                              text=message("not_found_message"))

    routes = [
        Route("/", signed(console.home), name="home"),
        Route("/connexion", console.sign_in_page, methods=["GET"], name="sign_in"),
        Route("/connexion", console.sign_in, methods=["POST"]),
        Route("/connexion/oidc", console.oidc_start, methods=["GET"], name="oidc_start"),
        Route("/connexion/retour", console.oidc_callback, methods=["GET"], name="oidc_callback"),
        Route("/connexion/organisation", console.choose_page, methods=["GET"], name="choose"),
        Route("/connexion/organisation", console.choose, methods=["POST"]),
        Route("/deconnexion", console.sign_out, methods=["POST"], name="sign_out"),
        Route("/deconnexion/fin", console.signed_out, methods=["GET"], name="signed_out"),
        Route("/plans/{plan}", signed(console.plan), name="plan"),
        Route("/plans/{plan}/tableau-de-bord", signed(console.my_dashboard), name="my_dashboard"),
        Route("/plans/{plan}/membres/{member}", signed(console.dashboard), name="dashboard"),
        Route("/plans/{plan}/mesures/nouvelle", signed(console.measure_form), methods=["GET"], name="measure"),
        Route("/plans/{plan}/mesures/nouvelle", signed(console.record_measure), methods=["POST"]),
        Route("/plans/{plan}/mesures/import", signed(console.import_form), methods=["GET"], name="import"),
        Route("/plans/{plan}/mesures/import", signed(console.import_preview), methods=["POST"]),
        Route("/plans/{plan}/mesures/import/confirmation", signed(console.import_confirm), methods=["POST"]),
        Route("/plans/{plan}/mesures/{measure}/correction", signed(console.correction_form), methods=["GET"],
              name="correction"),
        Route("/plans/{plan}/mesures/{measure}/correction", signed(console.correct_measure), methods=["POST"]),
        Route("/plans/{plan}/propositions", signed(console.proposals), methods=["GET"], name="proposals"),
        Route("/plans/{plan}/propositions", signed(console.submit_proposal), methods=["POST"]),
        Route("/plans/{plan}/historique", signed(console.timeline), name="timeline"),
        Route("/plans/{plan}/bilan", signed(console.balance), name="bilan"),
        Route("/plans/{plan}/bilan.csv", signed(console.balance_csv), name="bilan_csv"),
        Route("/plans/{plan}/bilan/rapport.{format}", signed(partial(downloads.balance_report, console)),
              name="bilan_report"),
        Route("/marches/{marche}/avenants", signed(console.avenants), methods=["GET"], name="avenants"),
        Route("/marches/{marche}/avenants", signed(console.propose_avenant), methods=["POST"]),
        Route("/marches/{marche}/avenants/{number:int}/abandon", signed(partial(review_pages.abandon_avenant, console)),
              methods=["POST"]),
        Route("/marches/{marche}/avenants/{number:int}/{step}", signed(console.avenant_step), methods=["POST"]),
        Route("/plans/{plan}/revues", signed(console.reviews), methods=["GET"], name="reviews"),
        Route("/plans/{plan}/revues", signed(console.schedule_review), methods=["POST"]),
        Route("/plans/{plan}/revues/{review}", signed(console.review), methods=["GET"], name="review"),
        Route("/plans/{plan}/revues/{review}/tenue", signed(console.hold_review), methods=["POST"]),
        Route("/plans/{plan}/revues/{review}/decision", signed(console.decide), methods=["POST"]),
        Route("/plans/{plan}/revues/{review}/point", signed(partial(review_pages.raise_point, console)),
              methods=["POST"]),
        Route("/plans/{plan}/revues/{review}/cloture", signed(console.close_review), methods=["POST"]),
        *setup_routes(console, signed),
        Mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="console_static"),
    ]
    middleware = [Middleware(SessionMiddleware, secret_key=session_secret(settings), session_cookie=SESSION_COOKIE,
                             max_age=SESSION_SECONDS, same_site="lax",
                             https_only=settings.environment == "production")]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
