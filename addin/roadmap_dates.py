"""Due dates of roadmap items: the «Срок (дата)» cell when filled, else the parsed text."""

from __future__ import annotations

from datetime import date

import pandas as pd

from addin.deadlines import Deadline, parse_deadline


def resolve_due(roadmap: pd.DataFrame, anchor: date | None = None) -> pd.DataFrame:
    """Per roadmap row: the parsed Deadline, a one-off due date (NaT if none) and whether
    the item recurs (recurring items are never "overdue" as a whole).

    Each distinct text is parsed once: a roadmap repeats the same phrases many times.
    """
    texts = roadmap["deadline_text"]
    parsed = {t: parse_deadline(t, anchor=anchor) for t in texts.dropna().unique()}
    deadlines = texts.map(lambda t: parsed.get(t) if isinstance(t, str) else None)
    text_due = deadlines.map(_one_off_due)
    due = roadmap["due_date"].where(roadmap["due_date"].notna(), pd.to_datetime(text_due))
    recurring = deadlines.map(lambda d: d is not None and d.kind == "recurrence")
    return pd.DataFrame({"deadline": deadlines, "due": pd.to_datetime(due),
                         "recurring": recurring & roadmap["due_date"].isna()},
                        index=roadmap.index)


def _one_off_due(d: Deadline | None) -> pd.Timestamp | None:
    if d is None or d.kind not in ("date", "range", "relative") or d.due is None:
        return None
    return pd.Timestamp(d.due)
