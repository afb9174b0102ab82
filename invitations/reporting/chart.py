"""The dashboard's stacked bar chart as geometry for the template's SVG (no drawing library)."""

import math
from dataclasses import dataclass

from django.utils import dateformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from invitations.models import Channel
from invitations.reporting.stats import InvitationStats
from invitations.states import Outcome

# Drawing units of the chart's viewBox; the SVG scales to the page's width.
CHART_WIDTH, CHART_HEIGHT = 720, 300
CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 52, 712, 40, 250


@dataclass(frozen=True)
class _Segment:
    outcome: str
    y: float
    height: float
    title: str


@dataclass(frozen=True)
class _Bar:
    x: float
    width: float
    center: float
    label: str  # empty where labels would collide
    title: str
    segments: list[_Segment]


@dataclass(frozen=True)
class _Tick:
    value: int
    y: float


def _tick_step(peak: int) -> int:
    """1, 2 or 5 times a power of ten: at most five gridline intervals up to `peak`."""
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            if peak <= 5 * multiple * magnitude:
                return multiple * magnitude
        magnitude *= 10


def stacked_bar_chart(stats: InvitationStats) -> dict[str, object]:
    """Positions for the dashboard's SVG: one bar per day, stacked by outcome from the
    bottom in the order of the legend."""
    outcomes = [(outcome, str(label)) for outcome, label in Outcome.choices]
    peak = max(figures.tally.total for figures in stats.per_day)
    step = _tick_step(peak)
    top = step * max(math.ceil(peak / step), 1)
    scale = (CHART_BOTTOM - CHART_TOP) / top
    slot = (CHART_RIGHT - CHART_LEFT) / len(stats.per_day)
    label_every = math.ceil(len(stats.per_day) / 10)
    bars = []
    for index, figures in enumerate(stats.per_day):
        day, tally = dateformat.format(figures.day, "j M"), figures.tally
        segments = []
        base = float(CHART_BOTTOM)
        for outcome, label in outcomes:
            count = tally.count(outcome=outcome)
            if not count:
                continue
            channels = ", ".join(
                f"{n} {channel_label}"
                for channel, channel_label in Channel.choices
                if (n := tally.count(channel=channel, outcome=outcome))
            )
            base -= count * scale
            title = _("%(day)s, %(outcome)s: %(count)d (%(channels)s)") % {
                "day": day,
                "outcome": label,
                "count": count,
                "channels": channels,
            }
            segments.append(_Segment(outcome, round(base, 1), round(count * scale, 1), title))
        if tally.total:
            title = ngettext(
                "%(day)s: %(count)d invitation", "%(day)s: %(count)d invitations", tally.total
            ) % {"day": day, "count": tally.total}
        else:
            title = _("%(day)s: no invitations") % {"day": day}
        bars.append(
            _Bar(
                x=round(CHART_LEFT + index * slot + slot * 0.15, 1),
                width=round(slot * 0.7, 1),
                center=round(CHART_LEFT + (index + 0.5) * slot, 1),
                # Counted from the right so that today always has its label.
                label=day if (len(stats.per_day) - 1 - index) % label_every == 0 else "",
                title=title,
                segments=segments,
            )
        )
    legend, x = [], CHART_LEFT
    for outcome, label in outcomes:
        legend.append({"outcome": outcome, "label": label, "x": x})
        # Roughly 7 units a character at the legend's font size.
        x += 18 + 7 * len(label) + 24
    summary = _(
        "Stacked bar chart of invitations per day from %(first)s to %(last)s: %(total)d in "
        "all (%(outcomes)s). The table below has the same numbers."
    ) % {
        "first": dateformat.format(stats.period.first, "j M"),
        "last": dateformat.format(stats.period.last, "j M Y"),
        "total": stats.totals.total,
        "outcomes": ", ".join(
            f"{label}: {stats.totals.count(outcome=outcome)}" for outcome, label in outcomes
        ),
    }
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_RIGHT,
        "bottom": CHART_BOTTOM,
        "plot_middle": (CHART_TOP + CHART_BOTTOM) / 2,
        "x_middle": (CHART_LEFT + CHART_RIGHT) / 2,
        "bars": bars,
        "ticks": [
            _Tick(value=v, y=round(CHART_BOTTOM - v * scale, 1)) for v in range(0, top + 1, step)
        ],
        "legend": legend,
        "summary": summary,
    }
