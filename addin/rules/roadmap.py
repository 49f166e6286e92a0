"""Checks of the roadmap: overdue items, completion evidence, deadlines the parser cannot read."""

from __future__ import annotations

from collections.abc import Iterator

from addin.rules.base import Context, Finding, Severity, rule
from workbook_templates import contract as C

E, W, A = Severity.ERROR, Severity.WARNING, Severity.ADVICE
_CLOSED = (C.STATUS_DONE, C.STATUS_CANCELLED)


@rule("ROAD-001", W, "roadmap", "Мероприятие просрочено",
      "Выполните мероприятие и отметьте статус «выполнено» с датой и документом, или "
      "перенесите срок решением рабочей группы.")
def overdue(ctx: Context) -> Iterator[Finding]:
    road = ctx.having(ctx.t("roadmap"), "roadmap", "status")
    due = ctx.roadmap_due.loc[road.index]
    late = (~road["status"].isin(_CLOSED) & due["due"].notna() & (due["due"] < ctx.ref)
            & ~due["recurring"].astype(bool))
    rows = road[late].assign(due=due["due"][late])
    by_date = rows["due_date"].notna()  # the date column wins over the text (resolve_due)
    for column, part in (("due_date", rows[by_date]), ("deadline_text", rows[~by_date])):
        yield from ctx.findings(
            "ROAD-001", part, column,
            lambda r: f"Срок {r['due']:%d.%m.%Y} прошёл, мероприятие не выполнено.")


@rule("ROAD-002", E, "roadmap", "Выполнено без даты выполнения",
      "Укажите дату выполнения мероприятия.")
def done_without_date(ctx: Context) -> Iterator[Finding]:
    road = ctx.having(ctx.t("roadmap"), "roadmap", "done_date")
    no_date = ctx.raw("roadmap")["done_date"].loc[road.index].isna()
    bad = (road["status"] == C.STATUS_DONE) & no_date
    yield from ctx.findings("ROAD-002", road[bad], "done_date",
                            "Мероприятие отмечено выполненным, но дата выполнения не указана.")


@rule("ROAD-003", W, "roadmap", "Выполнено без подтверждения",
      "Укажите документ (приказ, протокол) или ссылку на страницу сайта.")
def done_without_evidence(ctx: Context) -> Iterator[Finding]:
    road = ctx.having(ctx.t("roadmap"), "roadmap", "evidence")
    bad = (road["status"] == C.STATUS_DONE) & road["evidence"].isna() & road["result"].isna()
    yield from ctx.findings("ROAD-003", road[bad], "evidence",
                            "Мероприятие отмечено выполненным без документа или ссылки.")


@rule("ROAD-004", W, "roadmap", "Срок не распознан",
      "Запишите срок понятнее («до 30.09.2026», «сентябрь 2026», «ежеквартально») или "
      "укажите дату в столбце «Срок (дата)».")
def unreadable(ctx: Context) -> Iterator[Finding]:
    road = ctx.t("roadmap")
    due = ctx.roadmap_due
    kind = due["deadline"].map(lambda d: getattr(d, "kind", None))
    bad = (kind == "unreadable") & road["due_date"].isna()
    yield from ctx.findings("ROAD-004", road[bad], "deadline_text",
                            lambda r: f"Срок «{r['deadline_text']}» не удалось прочитать.")


@rule("ROAD-005", A, "roadmap", "Срок отсчитывается от неизвестной даты",
      "Укажите дату в столбце «Срок (дата)».")
def relative(ctx: Context) -> Iterator[Finding]:
    road = ctx.having(ctx.t("roadmap"), "roadmap", "status")
    due = ctx.roadmap_due.loc[road.index]
    rel = due["deadline"].map(
        lambda d: getattr(d, "kind", None) == "relative" and d.due is None).astype(bool)
    bad = rel & road["due_date"].isna() & ~road["status"].isin(_CLOSED)
    yield from ctx.findings(
        "ROAD-005", road[bad], "deadline_text",
        lambda r: f"Срок «{r['deadline_text']}» зависит от даты, которой нет в книге.")
