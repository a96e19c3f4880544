"""Every table of every figure, with its columns in Japanese and English: the page shows them,
the CSV export writes them. One list, so that what is seen and what is downloaded agree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from analytics import leadtimes, overdue, rate, stages
from analytics.filters import Filters


@dataclass(frozen=True)
class Table:
    name: str
    title: Any  # a lazy translation
    columns: tuple[tuple[str, Any], ...]  # (key, label)
    rows: Callable[[dict[str, Any]], list[dict[str, Any]]]


_LEAD = (
    ("count", _("Decisions")),
    ("median_hours", _("Median (office hours)")),
    ("p90_hours", _("90th percentile (office hours)")),
    ("median_days", _("Median (calendar days)")),
    ("p90_days", _("90th percentile (calendar days)")),
)
_RATE = (
    ("electronic", _("Decided electronically")),
    ("paper", _("Decided on paper")),
    ("with_paper_attachments", _("Electronic, with papers on paper")),
    ("total", _("All decisions")),
    ("rate", _("Electronic decision rate")),
    ("fully_digital_rate", _("Fully digital rate")),
)


def _key(name: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    return lambda data: list(data[name])


FIGURES: dict[str, tuple[Callable[[Filters], dict[str, Any]], tuple[Table, ...]]] = {
    "lead-times": (
        leadtimes.lead_times,
        (
            Table(
                "by_month",
                _("Lead time by month"),
                (("month", _("Month")), *_LEAD),
                _key("by_month"),
            ),
            Table(
                "by_type",
                _("Lead time by document type"),
                (("name", _("Document type")), *_LEAD),
                _key("by_type"),
            ),
            Table(
                "by_department",
                _("Lead time by department"),
                (("name", _("Department")), *_LEAD),
                _key("by_department"),
            ),
            Table(
                "by_route",
                _("Lead time by route"),
                (("name", _("Route")), *_LEAD),
                _key("by_route"),
            ),
            Table(
                "slowest",
                _("The slowest decisions of the period"),
                (
                    ("number", _("Document number")),
                    ("title", _("Title")),
                    ("department", _("Department")),
                    ("doc_type", _("Document type")),
                    ("submitted_at", _("Submitted")),
                    ("decided_at", _("Decided")),
                    ("lead_hours", _("Office hours")),
                    ("lead_days", _("Calendar days")),
                    ("send_backs", _("Send-backs")),
                ),
                _key("slowest"),
            ),
        ),
    ),
    "stages": (
        stages.stages,
        (
            Table(
                "stages",
                _("Stages ranked by handling time"),
                (
                    ("rank", _("Rank")),
                    ("route_name", _("Route")),
                    ("stage", _("Stage")),
                    ("tasks", _("Tasks")),
                    ("wait_median_hours", _("Waiting, median (office hours)")),
                    ("wait_p90_hours", _("Waiting, 90th percentile")),
                    ("handle_median_hours", _("Handling, median (office hours)")),
                    ("handle_p90_hours", _("Handling, 90th percentile")),
                    ("send_backs", _("Send-backs")),
                    ("send_back_rate", _("Send-back rate")),
                    ("questions", _("Questions (質疑)")),
                ),
                _key("stages"),
            ),
            Table(
                "approvers",
                _("Approver load"),
                (
                    ("name", _("Approver")),
                    ("department", _("Department")),
                    ("approvals", _("Approvals")),
                    ("consultations", _("Consultations")),
                    ("deputy_decisions", _("Deputy decisions (代決)")),
                    ("post_reviews", _("Post-reviews (後閲)")),
                    ("circulations", _("Circulations")),
                    ("send_backs", _("Send-backs")),
                    ("handle_median_hours", _("Handling, median (office hours)")),
                ),
                _key("approvers"),
            ),
            Table(
                "rework",
                _("Rework caused by send-backs"),
                (
                    ("documents", _("Documents decided")),
                    ("documents_sent_back", _("Sent back at least once")),
                    ("sent_back_share", _("Share sent back")),
                    ("send_backs", _("Send-backs")),
                    ("resubmissions", _("Resubmissions")),
                    ("questions", _("Questions (質疑)")),
                ),
                lambda data: [data["rework"]],
            ),
        ),
    ),
    "overdue": (
        overdue.overdue,
        (
            Table(
                "by_approver",
                _("Overdue tasks by approver"),
                (
                    ("name", _("Approver")),
                    ("department", _("Department")),
                    ("overdue", _("Past the reminder")),
                    ("escalated", _("Past the escalation")),
                    ("oldest_hours", _("Oldest (office hours)")),
                ),
                _key("by_approver"),
            ),
            Table(
                "by_department",
                _("Overdue tasks by department"),
                (
                    ("name", _("Department")),
                    ("overdue", _("Past the reminder")),
                    ("escalated", _("Past the escalation")),
                ),
                _key("by_department"),
            ),
            Table(
                "tasks",
                _("Overdue tasks"),
                (
                    ("title", _("Title")),
                    ("department", _("Department")),
                    ("stage", _("Stage")),
                    ("assignee_name", _("Approver")),
                    ("since", _("Waiting since")),
                    ("calendar_hours", _("Hours")),
                    ("office_hours", _("Office hours")),
                    ("level", _("Level")),
                ),
                _key("tasks"),
            ),
        ),
    ),
    "rate": (
        rate.rate,
        (
            Table("overall", _("Electronic decision rate"), _RATE, lambda data: [data["overall"]]),
            Table("by_month", _("By month"), (("month", _("Month")), *_RATE), _key("by_month")),
            Table(
                "by_department",
                _("By department"),
                (("name", _("Department")), *_RATE),
                _key("by_department"),
            ),
        ),
    ),
}


def table(figure: str, name: str) -> Table | None:
    entry = FIGURES.get(figure)
    if entry is None:
        return None
    return next((t for t in entry[1] if t.name == name), None)
