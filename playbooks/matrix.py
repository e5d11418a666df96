"""Reads about the intervention matrix: what each row drives, so the pages can say it.

A row's "respond within" is the due time of every new task of its risk level that has none of its
own: the steps left empty in the playbooks of that level, and the tasks of rules that set that
level without a due time. Steps and rules with their own due time override it; open tasks keep
the due time they were created with.
"""

from dataclasses import dataclass, field

from .business_time import SlaUnit
from .models import OPEN_STATUSES, MatrixRow, PlaybookStep, Rule, Task


@dataclass
class Impact:
    """What a row's response time reaches, and what it leaves alone."""

    row: MatrixRow
    amount: int
    unit: str
    following: list[PlaybookStep] = field(default_factory=list)
    overriding: list[PlaybookStep] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    open_tasks: int = 0

    @property
    def changes(self) -> bool:
        return (self.amount, self.unit) != (self.row.response_amount, self.row.response_unit)

    @property
    def unit_label(self) -> str:
        return SlaUnit(self.unit).label

    @property
    def reaches_anything(self) -> bool:
        return bool(self.following or self.rules)


def impact_of(row: MatrixRow, *, amount: int | None = None, unit: str | None = None) -> Impact:
    """What saving `row` with this response time would change (three queries)."""
    impact = Impact(row=row, amount=amount or row.response_amount, unit=unit or row.response_unit)
    steps = (
        PlaybookStep.objects.filter(playbook__risk_level=row.risk_level)
        .select_related("playbook")
        .order_by("playbook__name", "position")
    )
    for step in steps:
        (impact.following if step.due_offset_hours is None else impact.overriding).append(step)
    impact.rules = list(
        Rule.objects.filter(set_risk_level=row.risk_level, task_due_amount__isnull=True)
        .exclude(task_title="")
        .order_by("name")
    )
    impact.open_tasks = Task.objects.filter(risk_level=row.risk_level, status__in=OPEN_STATUSES).count()
    return impact
