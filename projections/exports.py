"""Open data of a plan's marché: DECP 2.0.3 (the marché and its avenants as `modifications`) and OCDS 1.1.5
(one release per change, avenants as `contractAmendment`, indicators as metrics), from the read models.

An export is a publication: a member's own measures appear in it only when the groupement's convention
shares member details (`shares_member_details`); otherwise an indicator measured per member is published as
the groupement's figure per period, the aggregate every party of the plan sees."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from progres.domain import rules
from progres.domain.decp import PROPERTIES, decp_properties, schema
from progres.projections.indicators import PeriodFigure, PlanFigures
from progres.projections.ledger import Ledger

OCID_PREFIX = "ocds-progres"


class InvalidExport(ValueError):
    """The document would not validate against its standard's schema: nothing is written. `fields` names each
    field at fault (with the particular of the marché it comes from, when it comes from one)."""

    def __init__(self, standard: str, fields: list[str]) -> None:
        super().__init__(f"{standard}: {'; '.join(fields)}")
        self.standard, self.fields = standard, fields


class MissingParticulars(InvalidExport):
    """The marché lacks what DECP requires and progres cannot know by itself."""


_PARTICULAR_OF = {decp_property: particular for particular, (decp_property, _) in PROPERTIES.items()}


def _path(steps: list[Any]) -> str:
    text = ""
    for step in steps:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def decp_errors(document: dict[str, Any]) -> list[str]:
    """What the DECP 2.0.3 schema (the verbatim copy the domain reads) finds wrong in the document, one line a
    field: its path, the particular it comes from, and the rule (keyword) it breaks."""
    found = []
    for error in Draft7Validator(schema()).iter_errors(document):
        steps = list(error.absolute_path)
        particular = _PARTICULAR_OF.get(steps[3]) if len(steps) > 3 else None
        source = f" (particulars.{particular})" if particular else ""
        found.append(f"{_path(steps) or '(document)'}{source}: {error.validator}")
    return sorted(set(found))


def check_decp(document: dict[str, Any]) -> dict[str, Any]:
    errors = decp_errors(document)
    if errors:
        raise InvalidExport("DECP 2.0.3", errors)
    return document


# OCDS 1.1.5 with the metrics extension: verbatim copies in standards/ (see its README).
STANDARDS = Path(__file__).parent / "standards"
OCDS_URI = "https://standard.open-contracting.org/schema/1__1__5/"


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((STANDARDS / name).read_text(encoding="utf-8"))
    return loaded


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """JSON Merge Patch (RFC 7386): how an OCDS extension is applied to the release schema."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


@cache
def ocds_validators() -> dict[str, Any]:
    release = merge_patch(_load("ocds-1.1.5-release-schema.json"), _load("ocds-metrics-extension-release-schema.json"))
    registry: Registry[Any] = Registry().with_resources([
        (f"{OCDS_URI}release-schema.json", Resource.from_contents(release, default_specification=DRAFT4)),
        (f"{OCDS_URI}versioned-release-validation-schema.json",
         Resource.from_contents(_load("ocds-1.1.5-versioned-release-validation-schema.json"),
                                default_specification=DRAFT4)),
    ])
    return {"release": Draft4Validator(release, registry=registry),
            "release_package": Draft4Validator(_load("ocds-1.1.5-release-package-schema.json"), registry=registry),
            "record_package": Draft4Validator(_load("ocds-1.1.5-record-package-schema.json"), registry=registry)}


def check_ocds(document: dict[str, Any], kind: str) -> dict[str, Any]:
    """The release or record package as written, or InvalidExport naming each field the OCDS schema refuses."""
    found = sorted({f"{_path(list(e.absolute_path)) or '(document)'}: {e.validator}"
                    for e in ocds_validators()[kind].iter_errors(document)})
    if found:
        raise InvalidExport("OCDS 1.1.5", found)
    return document


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _siret(directory: Ledger, organisation_id: str) -> str:
    return str(directory["organisations"][organisation_id]["siret"])


def _titulaires(directory: Ledger, ids: list[str]) -> list[dict[str, Any]]:
    return [{"titulaire": {"typeIdentifiant": "SIRET", "id": _siret(directory, t)}} for t in ids]


def notified_avenants(marche: dict[str, Any]) -> list[dict[str, Any]]:
    """Notified avenants in order of notification: DECP numbers them from 1 in that order."""
    return sorted(rules.notified(marche["avenants"].values(), lambda a: str(a["status"])),
                  key=lambda a: (a["notified_on"], a["number"]))


REQUIRED_PARTICULARS = ("procedure", "ccag", "forme_prix", "types_prix", "techniques", "modalites_execution",
                        "considerations_sociales", "considerations_environnementales", "lieu_execution",
                        "offres_recues", "marche_innovant", "attribution_avance", "type_groupement_operateurs",
                        "sous_traitance_declaree", "date_publication")


def decp_marche(ledger: Ledger, directory: Ledger, plan_id: str) -> dict[str, Any]:
    marche = ledger["marches"][ledger["plans"][plan_id]["marche_id"]]
    p = marche.get("particulars") or {}
    missing = [k for k in REQUIRED_PARTICULARS if k not in p]
    if missing:
        raise MissingParticulars("DECP 2.0.3", [f"particulars.{k}: required" for k in missing])
    duration = marche["duration_months"]
    modifications = []
    avenants = notified_avenants(marche)
    amounts = rules.amounts_after(Decimal(marche["initial_amount"]),
                                  (Decimal(a["changes"]["amount_delta"]) for a in avenants))
    for number, (avenant, amount) in enumerate(zip(avenants, amounts, strict=True), start=1):
        changes = avenant["changes"]
        duration += changes["duration_delta_months"]
        modification: dict[str, Any] = {"id": number, "dateNotificationModification": avenant["notified_on"],
                                         "datePublicationDonneesModification": avenant["notified_on"]}
        if Decimal(changes["amount_delta"]):
            modification["montant"] = _money(amount)
        if changes["duration_delta_months"]:
            modification["dureeMois"] = duration
        if changes.get("titulaire_ids") is not None:
            modification["titulaires"] = _titulaires(directory, changes["titulaire_ids"])
        modifications.append({"modification": modification})
    # The particulars take their DECP form from the domain's one mapping (domain/decp.py).
    record: dict[str, Any] = {
        "id": marche["code"], "acheteur": {"id": _siret(directory, ledger["groupement"]["coordonnateur_id"])},
        "nature": "Marché", "objet": marche["object"], "codeCPV": marche["cpv"],
        **decp_properties(p), "tauxAvance": p.get("taux_avance", 0),
        "dureeMois": marche["duration_months"], "dateNotification": marche["notified_on"],
        "montant": _money(Decimal(marche["initial_amount"])),
        "titulaires": _titulaires(directory, marche["titulaires_initial"] if "titulaires_initial" in marche
                                  else marche["titulaire_ids"]),
    }
    if modifications:
        record["modifications"] = modifications
    return record


def decp(ledger: Ledger, directory: Ledger, plan_id: str) -> dict[str, Any]:
    """The DECP document of the plan's marché; raises InvalidExport rather than return one that does not validate."""
    return check_decp({"marches": {"marche": [decp_marche(ledger, directory, plan_id)]}})


# OCDS
def _party(directory: Ledger, organisation_id: str, roles: list[str]) -> dict[str, Any]:
    org = directory["organisations"][organisation_id]
    return {"id": f"FR-SIRET-{org['siret']}", "name": org["name"], "roles": roles,
            "identifier": {"scheme": "FR-SIRET", "id": org["siret"], "legalName": org["name"]}}


def _datetime(day: str) -> str:
    return f"{day}T00:00:00Z"


def _metric(indicator: dict[str, Any], observations: list[dict[str, Any]]) -> dict[str, Any]:
    metric: dict[str, Any] = {"id": indicator["key"], "title": indicator["name"]}
    if observations:
        metric["observations"] = observations
    return metric


def _targets(indicator: dict[str, Any]) -> list[dict[str, Any]]:
    if indicator["kind"] != "quantitative":
        return []
    steps = indicator.get("trajectory") or []
    targets = [{"id": f"{indicator['key']}-target-{step['from']}", "measure": float(step["target"]),
                "unit": {"name": indicator["unit"]}, "period": {"startDate": _datetime(step["from"])}}
               for step in steps]
    targets.append({"id": f"{indicator['key']}-target", "measure": float(indicator["target"]),
                    "unit": {"name": indicator["unit"]}})
    return targets


def member_identifier(directory: Ledger, member_id: str) -> str:
    """A member as open data names it: its SIRET, or its VAT number for a buyer of another EU state (L2113-8)."""
    org = directory["organisations"].get(member_id, {})
    return str(org.get("siret") or org.get("vat_number") or member_id)


def _observations(indicator: dict[str, Any], measures: list[dict[str, Any]],
                  directory: Ledger) -> list[dict[str, Any]]:
    observations = []
    for m in sorted(measures, key=lambda m: (m["period_start"], m["member_id"] or "")):
        where = member_identifier(directory, m["member_id"]) if m["member_id"] else "groupement"
        observation: dict[str, Any] = {
            "id": f"{indicator['key']}-{where}-{m['period_start']}",
            "period": {"startDate": _datetime(m["period_start"]), "endDate": _datetime(m["period_end"])},
            "measure": float(m["value"]) if m["value"] is not None else m["assessment"],
        }
        if indicator.get("unit"):
            observation["unit"] = {"name": indicator["unit"]}
        observations.append(observation)
    return observations


def published_measures(measures: list[dict[str, Any]], series: list[PeriodFigure],
                       member_details: bool) -> list[dict[str, Any]]:
    """What may be published of one indicator's measures: each member's only when member details are shared;
    otherwise the groupement's own measures and, for measures taken per member, the groupement's aggregate."""
    if member_details or all(m["member_id"] is None for m in measures):
        return measures
    own = [m for m in measures if m["member_id"] is None]
    return own + [{"member_id": None, "period_start": f.period_start, "period_end": f.period_end,
                   "value": str(f.value), "assessment": None} for f in series if f.value is not None]


def ocds_releases(ledger: Ledger, directory: Ledger, plan_id: str, publisher: str) -> list[dict[str, Any]]:
    """One release per change: the award and contract with its agreed metrics, one `contractAmendment`
    release per notified avenant, and an `implementation` release with the measures as observations."""
    plan = ledger["plans"][plan_id]
    marche = ledger["marches"][plan["marche_id"]]
    ocid = f"{OCID_PREFIX}-{marche['id']}"
    buyer = ledger["groupement"]["coordonnateur_id"]
    parties = [_party(directory, buyer, ["buyer", "procuringEntity"])]
    parties += [_party(directory, t, ["supplier"]) for t in marche["titulaire_ids"]]
    initial = Decimal(marche["initial_amount"])
    contract_id = f"{marche['code']}-contract"
    agreed = [_metric(i, _targets(i)) for i in plan["indicators"].values()]
    award_id = f"{marche['code']}-award"
    base: dict[str, Any] = {"ocid": ocid, "language": "fr", "initiationType": "tender",
            "buyer": {"id": parties[0]["id"], "name": parties[0]["name"]}}
    releases: list[dict[str, Any]] = [{
        **base, "id": f"{ocid}-award", "date": _datetime(marche["notified_on"]), "tag": ["award", "contract"],
        "parties": parties,
        "awards": [{"id": award_id, "status": "active", "date": _datetime(marche["notified_on"]),
                    "value": {"amount": _money(initial), "currency": "EUR"},
                    "suppliers": [{"id": p["id"], "name": p["name"]} for p in parties[1:]]}],
        "contracts": [{"id": contract_id, "awardID": award_id, "title": marche["object"], "status": "active",
                       "value": {"amount": _money(initial), "currency": "EUR"},
                       "dateSigned": _datetime(marche["notified_on"])}],
    }]
    if agreed:  # the metrics extension wants at least one metric: a plan without indicators has none to agree
        releases[0]["contracts"][0]["agreedMetrics"] = agreed
    previous = f"{ocid}-award"
    avenants = notified_avenants(marche)
    amounts = rules.amounts_after(initial, (Decimal(a["changes"]["amount_delta"]) for a in avenants))
    for number, (avenant, amount) in enumerate(zip(avenants, amounts, strict=True), start=1):
        release_id = f"{ocid}-avenant-{number}"
        releases.append({
            **base, "id": release_id, "date": _datetime(avenant["notified_on"]), "tag": ["contractAmendment"],
            "contracts": [{"id": contract_id, "awardID": award_id,
                           "value": {"amount": _money(amount), "currency": "EUR"},
                           "amendments": [{"id": str(number), "date": _datetime(avenant["notified_on"]),
                                           "rationale": avenant["reason"],
                                           "description": f"Avenant {number} ({avenant['basis']}): "
                                                          f"{avenant['changes']['amount_delta']} € HT, "
                                                          f"{avenant['cumulative_percent']} % cumulés",
                                           "amendsReleaseID": previous, "releaseID": release_id}]}],
        })
        previous = release_id
    by_indicator: dict[str, list[dict[str, Any]]] = {}
    for m in plan["measures"].values():
        by_indicator.setdefault(m["indicator_key"], []).append(m)
    figures = PlanFigures.of(plan, ledger)
    shared = bool(ledger["groupement"].get("shares_member_details"))
    metrics = [_metric(i, _observations(i, published_measures(by_indicator.get(key, []), figures.series.get(key, []),
                                                              shared), directory))
               for key, i in plan["indicators"].items()]
    last_day = max((m["period_end"] for m in plan["measures"].values()), default=marche["notified_on"])
    if not metrics:  # no indicator, nothing implemented to report (`metrics` needs at least one item)
        return _published(releases, publisher)
    releases.append({**base, "id": f"{ocid}-implementation", "date": _datetime(last_day),
                     "tag": ["implementation"],
                     "contracts": [{"id": contract_id, "awardID": award_id,
                                    "implementation": {"metrics": metrics}}]})
    return _published(releases, publisher)


def _published(releases: list[dict[str, Any]], publisher: str) -> list[dict[str, Any]]:
    for release in releases:
        release["publisher"] = {"name": publisher}
    return releases


def release_package(releases: list[dict[str, Any]], published: str, publisher: str) -> dict[str, Any]:
    for release in releases:
        release.pop("publisher", None)
    return {"uri": f"urn:progres:{releases[0]['ocid']}:releases", "version": "1.1", "publishedDate": published,
            "publisher": {"name": publisher}, "releases": releases,
            "extensions": ["https://raw.githubusercontent.com/open-contracting-extensions/ocds_metrics_extension/"
                           "master/extension.json"]}


def compile_releases(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """The compiled release: the latest value of every field, contracts merged by id (OCDS merge rules,
    simplified to what these releases contain)."""
    compiled: dict[str, Any] = {"ocid": releases[0]["ocid"], "id": f"{releases[0]['ocid']}-compiled",
                                "tag": ["compiled"], "initiationType": "tender"}
    contracts: dict[str, dict[str, Any]] = {}
    for release in sorted(releases, key=lambda r: r["date"]):
        for key, value in release.items():
            if key in ("id", "tag", "contracts", "publisher"):
                continue
            compiled[key] = value
        for contract in release.get("contracts", []):
            merged = contracts.setdefault(contract["id"], {})
            amendments = merged.get("amendments", []) + contract.get("amendments", [])
            merged.update(contract)
            if amendments:
                merged["amendments"] = amendments
    compiled["contracts"] = list(contracts.values())
    return compiled


def record_package(releases: list[dict[str, Any]], published: str, publisher: str) -> dict[str, Any]:
    package_uri = f"urn:progres:{releases[0]['ocid']}:releases"
    return {"uri": f"urn:progres:{releases[0]['ocid']}:record", "version": "1.1", "publishedDate": published,
            "publisher": {"name": publisher},
            "records": [{"ocid": releases[0]["ocid"],
                         "releases": [{"url": f"{package_uri}#{r['id']}", "date": r["date"], "tag": r["tag"]}
                                      for r in releases],
                         "compiledRelease": compile_releases(releases)}]}


