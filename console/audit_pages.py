"""What the auditors' timeline says of the log's integrity: the `logVerification` answer for the session's actor
(the API decides who may read it), in French sentences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from progres.console.messages import LOG_FAULT_KINDS, message
from progres.console.operations import LOG_VERIFICATION, Executor, Refusal
from progres.services import french
from progres.services.policy import Actor


def moment(value: str) -> str:
    return french.moment(datetime.fromisoformat(value).astimezone(UTC))


def events(count: int) -> str:
    return french.count(count, message("log_events_word"))


async def log_status(executor: Executor, actor: Actor, plan_id: str) -> dict[str, Any]:
    """`{"intact": bool, "lines": [...]}`: the verification's result, its checks and the latest signed head; or
    the refusal's code when it could not be read (the page stays readable)."""
    try:
        status = (await executor.run(LOG_VERIFICATION, actor, plan=plan_id))["logVerification"]
    except Refusal as refused:
        return {"intact": False, "lines": [message("log_unavailable", code=refused.code)]}
    checkpoint = status["latestCheckpoint"]
    latest = message("log_checkpoint", size=events(checkpoint["size"]),
                     position=french.number(checkpoint["lastPosition"]), moment=moment(checkpoint["signedAt"]),
                     key_id=checkpoint["keyId"]) if checkpoint else message("log_no_checkpoint")
    fault = status["fault"]
    if fault is None:
        lines = [message("log_intact", position=french.number(status["verifiedPosition"]),
                         moment=moment(status["verifiedAt"]), count=events(status["checkedEvents"]),
                         key_id=status["activeKeyId"]),
                 message("log_checks", heads=french.number(status["headsChecked"]),
                         records=french.number(status["adoptionRecordsChecked"])),
                 latest]
        return {"intact": True, "lines": lines}
    lines = [message("log_fault", position=french.number(fault["position"]),
                     kind=LOG_FAULT_KINDS.get(fault["kind"], fault["kind"]), detail=fault["detail"]),
             message("log_fault_before", moment=moment(status["verifiedAt"]),
                     position=french.number(status["verifiedPosition"]), count=events(status["checkedEvents"]),
                     head=french.number(status["logHeadPosition"])),
             latest]
    return {"intact": False, "lines": lines, "fault_position": fault["position"]}
