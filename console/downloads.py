"""The bilan's reports (services/reports: PDF, HTML, XLSX, and the CSV tables in a zip), downloaded from the bilan
page. The `planBalance` query is run first with the session's actor: whoever it refuses is refused the same way (a
plan the actor may not read is "not found", 404). The report is then built as `progres bilan report --as` builds
it, for that reader: the plan read through the access policy (`readable_plan`, as `planBalance` reads it), the
balance filtered by `balance_for` and the trajectories by `visible_members`, so a member's copy is the restricted
one the API would answer it."""

from __future__ import annotations

import asyncio
import copy
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from progres.console.messages import message
from progres.console.operations import BALANCE, Refusal
from progres.domain.errors import DomainError
from progres.services.policy import Actor

if TYPE_CHECKING:
    from progres.console.web import Console
    from progres.graphql.context import Services


@dataclass(frozen=True)
class ReportFormat:
    media_type: str
    extension: str


FORMATS = {
    "pdf": ReportFormat("application/pdf", "pdf"),
    "html": ReportFormat("text/html; charset=utf-8", "html"),
    "xlsx": ReportFormat("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": ReportFormat("application/zip", "zip"),  # one CSV file a table, in a zip (as `bilan report --format csv`)
}


def file_name(title: str, day: str, extension: str, accents: bool) -> str:
    """`bilan-plan-de-progres-bof-des-lycees-de-lens-2023-01-06.pdf` (with its accents for `filename*`)."""
    text = title if accents else unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^\w]+", "-", text.lower()).strip("-")[:80].strip("-") or "plan"
    return f"bilan-{slug}-{day}.{extension}"


def disposition(title: str, day: str, extension: str) -> str:
    """An attachment named in ASCII for every client, and in UTF-8 (RFC 6266 `filename*`) for those that read it."""
    plain = file_name(title, day, extension, accents=False)
    french = file_name(title, day, extension, accents=True)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(french)}"


def report_bytes(services: Services, actor: Actor, plan_id: str, kind: str) -> tuple[bytes, str, str]:
    """The report in `kind` for this reader, with the plan's title and the bilan's day (its file's name)."""
    from progres.projections.ledger import DIRECTORY  # noqa: PLC0415
    from progres.services.audit import link_at  # noqa: PLC0415
    from progres.services.reports import bilan as reports  # noqa: PLC0415

    groupement_id, parties = services.access.readable_plan(actor, plan_id)
    ledgers = services.models.ledgers([groupement_id, DIRECTORY])
    ledger = copy.deepcopy(ledgers[groupement_id])  # the read models' cache is shared: the report works on a copy
    report = reports.build_report(ledger, ledgers.get(DIRECTORY, {}), plan_id,
                                  link_at(services.settings, int(ledger["position"])))
    report = reports.restricted(report, services.access.balance_for(actor, parties, report.balance),
                                services.access.visible_members(actor, parties), actor.role.value)
    if kind == "pdf":
        content = reports.to_pdf(report)
    elif kind == "html":
        content = reports.to_html(report).encode("utf-8")
    elif kind == "xlsx":
        content = reports.to_xlsx(report)
    else:
        content = reports.to_csv(report)
    return content, str(report.plan.get("title") or ""), reports.report_day(report)


async def balance_report(console: Console, request: Request, actor: Actor) -> Response:
    from progres.console.web import PAGE_HEADERS  # noqa: PLC0415

    plan_id, kind = request.path_params["plan"], request.path_params["format"]
    if kind not in FORMATS:
        raise Refusal("not_found", "format")
    await console.executor.read(BALANCE, actor, plan=plan_id)  # the API's policy first: a refusal is the page's
    try:
        content, title, day = await asyncio.to_thread(report_bytes, console.executor.services, actor, plan_id, kind)
    except DomainError as error:  # the policy, asked again for the report: the same answer as the query's
        raise Refusal(error.code, str(error)) from None
    except RuntimeError:  # the PDF is printed by Chromium: absent from this server
        return console.render(request, "error.html", 503, title=message("error_title"),
                              text=message("report_unavailable"))
    found = FORMATS[kind]
    return Response(content, media_type=found.media_type,
                    headers={**PAGE_HEADERS, "content-disposition": disposition(title, day, found.extension)})
