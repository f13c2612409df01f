"""Capitalisation: what the plan taught, written for the next consultation (the seed's last paragraph)."""

from __future__ import annotations

from typing import Any

from progres.projections.ledger import Ledger
from progres.projections.plan_balance import plan_balance
from progres.services import french
from progres.services.reports.labels import label, status


def capitalisation(ledger: Ledger, directory: Ledger, plan_id: str) -> str:
    plan = ledger["plans"][plan_id]
    balance = plan_balance(ledger, plan_id)
    names = {o["id"]: o["name"] for o in directory.get("organisations", {}).values()}
    points = [(r, p) for r in plan["reviews"].values() for p in r["points"]]
    lines = [f"# {label('capitalisation')} — {plan['title']}", "",
             f"{label('provenance_text').format(position=balance['position'])}", ""]

    def section(title: str, items: list[str]) -> None:
        lines.extend([f"## {title}", ""])
        lines.extend(f"- {item}" for item in items or ["—"])
        lines.append("")

    def raised(point: dict[str, Any], review: dict[str, Any]) -> str:
        who = point["raised_by"]
        return f"{point['text']} ({who['name']}, {status(who['function'])}, {review['title']})"

    section(label("needs"), [raised(p, r) for r, p in points if p["kind"] in ("need", "idea")])
    section(label("constraints"), [raised(p, r) for r, p in points if p["kind"] in ("constraint", "difficulty")])
    for title, wanted in ((label("accepted_proposals"), "accepted"), (label("rejected_proposals"), "rejected")):
        section(title, [f"{p['title']} — {names.get(p['author_id'], p['author_id'])} : "
                        + " ; ".join(d["reasons"] for d in p["decisions"] if d["outcome"] == wanted)
                        for p in plan["proposals"].values() if p["status"] == wanted])
    section(label("avenants_why"), [f"{label('avenant')} {a['number']} ({a['basis']}, "
                                    f"{french.plain(french.money(a['amount_delta'], 'HT'))}, "
                                    f"{status(a['status'])}) : {a['reason']}" for a in balance["avenants"]])
    keep, rework = [], []
    for axis in balance["axes"]:
        for objective in axis["objectives"]:
            for i in objective["indicators"]:
                measured = i["measures"] > 0
                periods = french.plain(french.count(i["measures"], "période mesurée", "périodes mesurées"))
                text = (f"{i['name']} — {periods}, {status(i['status'])}"
                        + (f", {french.plain(french.percent(i['achievement']))} de l'objectif"
                           if i.get("achievement") else ""))
                (keep if measured else rework).append(text)
    section(label("indicators_to_keep"), keep)
    section(label("indicators_to_rework"), rework)
    return "\n".join(lines)
