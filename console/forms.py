"""French input of the console's forms: decimals written `31,5` or `1 234,5`, dates written `15/03/2025`.

Each parser answers the value in the API's form (a decimal string with a point, an ISO date) or raises
`FieldError` with the French message shown next to the field."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from progres.console.messages import message

SHOWN = 40  # characters of a rejected value quoted back, no more
SPACES = re.compile(r"[\s\u00a0\u202f]")
FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class FieldError(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def quoted(value: str) -> str:
    return value if len(value) <= SHOWN else value[:SHOWN] + "…"


def french_decimal(raw: str) -> str:
    """`31,5` → `31.5`; thousands separated by spaces (ordinary or no-break) are accepted; a point too."""
    text = SPACES.sub("", raw.strip())
    if not text:
        raise FieldError(message("err_required"))
    if text.count(",") > 1 or ("," in text and "." in text):
        raise FieldError(message("err_decimal", value=quoted(raw.strip())))
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise FieldError(message("err_decimal", value=quoted(raw.strip()))) from None
    if not value.is_finite() or not re.fullmatch(r"[+-]?\d+(\.\d+)?", text.replace(",", ".")):
        raise FieldError(message("err_decimal", value=quoted(raw.strip())))
    return str(value)


def french_date(raw: str, required: bool = True) -> date | None:
    """`15/03/2025` (or the ISO `2025-03-15` a date picker sends) → a date."""
    text = raw.strip()
    if not text:
        if required:
            raise FieldError(message("err_required"))
        return None
    found = FRENCH_DATE.match(text)
    try:
        if found:
            day, month, year = (int(part) for part in found.groups())
            return date(year, month, day)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise FieldError(message("err_date", value=quoted(text)))


def required_text(raw: str, limit: int = 200) -> str:
    text = raw.strip()
    if not text:
        raise FieldError(message("err_required"))
    if len(text) > limit:
        raise FieldError(message("err_too_long", limit=limit))
    return text


def position_param(request: Request, name: str) -> int | None:
    """A log position passed back in the query string after a write (a page showing its own write), if well formed."""
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def parse_fields(form: dict[str, str], parsers: dict[str, tuple[str, Callable[[str], Any]]]
                 ) -> tuple[dict[str, str], dict[str, Any]]:
    """The form's fields as a mutation's variables (dates in ISO), or the French error of each field at fault."""
    errors: dict[str, str] = {}
    variables: dict[str, Any] = {}
    for name, (variable, parse) in parsers.items():
        try:
            parsed = parse(form.get(name, ""))
        except FieldError as error:
            errors[name] = error.text
            continue
        variables[variable] = parsed.isoformat() if isinstance(parsed, date) else parsed
    return errors, variables
