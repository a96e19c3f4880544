"""What each chart of the page draws, from the same figures as its table (the page script only
hands these to Chart.js). Every chart has its table next to it; the chart is a picture of it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

# Colours with 3:1 contrast against white (WCAG 1.4.11), told apart by more than hue (the
# dashed line, the bar order), and the same in every chart.
BLUE = "#1f5fa8"
ORANGE = "#b35900"
GREEN = "#2e7d32"
RED = "#b00020"


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def specs(figures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rate, lead, stages, overdue = (
        figures["rate"],
        figures["lead-times"],
        figures["stages"],
        figures["overdue"],
    )
    top_stages = stages["stages"][:10]
    return [
        {
            "id": "chart-rate",
            "type": "line",
            "labels": [r["month"] for r in rate["by_month"]],
            "unit": "%",
            "max": 100,
            "datasets": [
                {
                    "label": _("Electronic decision rate"),
                    "color": BLUE,
                    "data": [_percent(r["rate"]) for r in rate["by_month"]],
                },
                {
                    "label": _("Fully digital rate"),
                    "color": GREEN,
                    "dashed": True,
                    "data": [_percent(r["fully_digital_rate"]) for r in rate["by_month"]],
                },
            ],
        },
        {
            "id": "chart-lead",
            "type": "line",
            "labels": [r["month"] for r in lead["by_month"]],
            "unit": _("office hours"),
            "datasets": [
                {
                    "label": _("Median"),
                    "color": BLUE,
                    "data": [r["median_hours"] for r in lead["by_month"]],
                },
                {
                    "label": _("90th percentile"),
                    "color": ORANGE,
                    "dashed": True,
                    "data": [r["p90_hours"] for r in lead["by_month"]],
                },
            ],
        },
        {
            "id": "chart-stages",
            "type": "bar",
            "horizontal": True,
            "stacked": True,
            "labels": [f"{r['route_name']} / {r['stage']}" for r in top_stages],
            "unit": _("office hours"),
            "datasets": [
                {
                    "label": _("Waiting, median"),
                    "color": ORANGE,
                    "data": [r["wait_median_hours"] for r in top_stages],
                },
                {
                    "label": _("Handling after the first look, median"),
                    "color": BLUE,
                    "data": [
                        None
                        if r["handle_median_hours"] is None or r["wait_median_hours"] is None
                        else round(max(r["handle_median_hours"] - r["wait_median_hours"], 0), 1)
                        for r in top_stages
                    ],
                },
            ],
        },
        {
            "id": "chart-overdue",
            "type": "bar",
            "labels": [r["name"] for r in overdue["by_department"]],
            "unit": _("tasks"),
            "datasets": [
                {
                    "label": _("Past the reminder"),
                    "color": ORANGE,
                    "data": [r["overdue"] - r["escalated"] for r in overdue["by_department"]],
                },
                {
                    "label": _("Past the escalation"),
                    "color": RED,
                    "data": [r["escalated"] for r in overdue["by_department"]],
                },
            ],
            "stacked": True,
        },
    ]
