"""Checks on meetings and satisfaction surveys."""

from __future__ import annotations

from collections.abc import Iterator

from addin.model import ROW, SCHOOL
from addin.rules.base import Context, Finding, Severity, lookup, member, rule
from workbook_templates import contract as C

E, W = Severity.ERROR, Severity.WARNING
#: Meeting types in the order a pair lives through them; рабочая repeats.
MEETING_ORDER = {t: i for i, t in enumerate(C.dictionary_values("meeting_types"))}


@rule("MEET-001", E, "meetings", "Встреча несуществующей пары",
      "Впишите ID пары или группы с листа «Пары и группы».")
def unknown_pair(ctx: Context) -> Iterator[Finding]:
    m = ctx.having(ctx.t("meetings"), "pairs", "id")
    bad = m["pair_id"].notna() & ~member(m, "pair_id", ctx.t("pairs"))
    yield from ctx.findings("MEET-001", m[bad], "pair_id",
                            lambda r: f"Пары или группы «{r['pair_id']}» нет на листе "
                                      "«Пары и группы».")


@rule("MEET-002", W, "meetings", "Встреча вне срока работы пары",
      "Проверьте дату встречи и даты начала и окончания пары.")
def outside_pair_dates(ctx: Context) -> Iterator[Finding]:
    m, pairs = ctx.t("meetings"), ctx.t("pairs")
    start = lookup(m, "pair_id", pairs, "start_date")
    end = lookup(m, "pair_id", pairs, "end_date")
    bad = m["date"].notna() & ((m["date"] < start) | (m["date"] > end))
    yield from ctx.findings("MEET-002", m[bad], "date",
                            lambda r: f"Встреча пары {r['pair_id']} вне дат её работы.")


@rule("MEET-003", W, "meetings", "Нарушен порядок этапов",
      "Этапы идут по порядку: знакомство, пробная, планирование, рабочие встречи, итоговая. "
      "Проверьте вид или дату встречи.")
def stage_order(ctx: Context) -> Iterator[Finding]:
    m = ctx.t("meetings")
    m = m[m["pair_id"].notna() & m["date"].notna() & m["meeting_type"].isin(list(MEETING_ORDER))]
    # Meetings of one day are taken in stage order: their order within the day is unknown.
    m = m.assign(step=m["meeting_type"].map(MEETING_ORDER).astype("int64"))
    m = m.sort_values([SCHOOL, "pair_id", "date", "step"], kind="stable")
    reached = m.groupby([SCHOOL, "pair_id"], sort=False)["step"].cummax()
    bad = m[m["step"] < reached].sort_values([SCHOOL, ROW])
    yield from ctx.findings("MEET-003", bad, "meeting_type",
                            lambda r: f"Встреча «{r['meeting_type']}» пары {r['pair_id']} "
                                      "проведена после более позднего этапа.")


@rule("MON-001", E, "monitoring", "Анкета неизвестного участника",
      "Впишите ID участника с листа «Наставники» или «Наставляемые».")
def unknown_participant(ctx: Context) -> Iterator[Finding]:
    mon = ctx.having(ctx.having(ctx.t("monitoring"), "mentors", "id"), "mentees", "id")
    pid = mon["participant_id"]
    is_mentor = member(mon, "participant_id", ctx.t("mentors"))
    is_mentee = member(mon, "participant_id", ctx.t("mentees"))
    # A role outside the list (CELL-003 reports it) accepts a participant of either sheet.
    known = ((mon["role"] == "наставник") & is_mentor) | (
        (mon["role"] == "наставляемый") & is_mentee) | (
        ~mon["role"].isin(["наставник", "наставляемый"]) & (is_mentor | is_mentee))
    bad = pid.notna() & ~known
    among = {"наставник": "наставников", "наставляемый": "наставляемых"}
    yield from ctx.findings("MON-001", mon[bad], "participant_id",
                            lambda r: f"Участника «{r['participant_id']}» нет среди "
                                      f"{among.get(r['role'], 'участников')}.")
