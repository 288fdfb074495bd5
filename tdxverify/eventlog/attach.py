"""Binding an event log to a verified verdict: the replay must equal the quote's RTMRs."""

from __future__ import annotations

import os
from dataclasses import replace

from ..errors import EventLogError
from ..verdict import Verdict
from . import load_event_log
from .model import EventLog

__all__ = ["EventLogInput", "attach_event_log"]

EventLogInput = EventLog | bytes | str | os.PathLike[str]


def attach_event_log(verdict: Verdict, event_log: EventLogInput) -> Verdict:
    """The verdict carrying ``event_log`` once its replay equals the quote's RTMR0-3.

    Called after every cryptographic check passed and before the policy, so a
    policy can appraise the log's named values. Raises ``event_log_invalid``
    (malformed, or not a TD quote) or ``event_log_mismatch`` (first RTMR that differs).
    """
    log = event_log if isinstance(event_log, EventLog) else load_event_log(event_log)
    quoted = (verdict.rtmr0, verdict.rtmr1, verdict.rtmr2, verdict.rtmr3)
    if any(r is None for r in quoted):
        raise EventLogError(
            f"an event log replays RTMRs, which only TD quotes have; this is a {verdict.tee_type} quote"
        )
    log.check([r for r in quoted if r is not None])
    return replace(verdict, event_log=log)
