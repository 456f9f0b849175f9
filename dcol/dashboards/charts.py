"""The dashboards' charts: SVG drawn on the server by pygal and inlined in the page.

No JavaScript and no network: pygal's tooltip script is not referenced (``js=[]``), and its
inline configuration script and comments (links to pygal's site) are removed from the SVG before
it is written. Each chart is an image labelled with its title; its figures are also in a table
beside it (see ``templates/dashboards/_figures.html``). The palette prints well in grey: dark
tones, no transparency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pygal
from flask_babel import gettext as _
from markupsafe import Markup
from pygal.style import Style

from dcol.dashboards.figures import (
    CallEnvelopes,
    Count,
    Dashboard,
    FunnelStage,
    StageDuration,
    StateCounts,
)
from dcol.i18n import format_number

ACCENT, GREEN, AMBER, GREY, INK = "#00507a", "#1d6b2f", "#a35f00", "#c4c8d0", "#1b1b1f"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
WIDTH = 760
BAR_HEIGHT = 30
LEGEND_HEIGHT = 70
LABEL_CHARACTERS = 42  # longer labels are cut in the chart (the table has them in full)


@dataclass(frozen=True)
class Chart:
    title: str  # French, also the image's accessible name
    svg: Markup | None  # None: nothing to draw (the table says so)


def _style(*colors: str) -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground=INK,
        foreground_strong=INK,
        foreground_subtle="#4a4a55",
        font_family=FONT,
        label_font_size=13,
        major_label_font_size=13,
        value_font_size=13,
        legend_font_size=13,
        title_font_size=15,
        no_data_font_size=18,
        opacity="1",
        opacity_hover="1",
        guide_stroke_color="#8a8f99",
        major_guide_stroke_color="#8a8f99",
        colors=colors or (ACCENT,),
    )


def _local(tag) -> str | None:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else None


def _strip_scripts_and_comments(root):
    """pygal always writes a configuration script and comments linking to its site: remove them
    (the page must run no script and reference nothing outside)."""
    for parent in [root, *root.iter()]:
        for child in list(parent):
            if callable(child.tag) or _local(child.tag) == "script":
                parent.remove(child)
    return root


def _values_after_bars(root):
    """Printed values start just after the end of their bar (pygal centres them on it, which
    hides the first digits under the bar)."""
    for node in root.iter():
        if _local(node.tag) == "text" and "value" in (node.get("class") or "").split():
            node.set("text-anchor", "start")
            node.set("style", "text-anchor: start")  # over pygal's stylesheet
    return root


def _labelled(title: str):
    def label(root):
        root.set("role", "img")
        root.set("aria-label", title)
        for child in root:
            if _local(child.tag) == "title":
                child.text = title
        return root

    return label


def _chart(kind, title: str, *, height: int, formatter: Callable, colors=(ACCENT,),
           **options):
    chart = kind(
        style=_style(*colors),
        width=WIDTH,
        height=height,
        js=[],
        disable_xml_declaration=True,
        no_data_text=_("Aucune donnée"),
        value_formatter=formatter,
        truncate_legend=-1,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        print_zeroes=False,
        margin=10,
        margin_right=30,
        **options,
    )
    for xml_filter in (_strip_scripts_and_comments, _values_after_bars, _labelled(title)):
        chart.add_xml_filter(xml_filter)
    return chart


def _render(chart) -> Markup:
    # pygal escapes the labels and values it writes into the SVG.
    return Markup(chart.render(is_unicode=True))


def _short(label: str) -> str:
    if len(label) <= LABEL_CHARACTERS:
        return label
    return label[: LABEL_CHARACTERS - 1].rstrip() + "…"


def _count(value) -> str:
    return format_number(int(round(value))) if value is not None else ""


def _days(value) -> str:
    if value is None:
        return ""
    return _("%(days)s j", days=format_number(Decimal(str(value))))


def _thousands_of_euros(value) -> str:
    if value is None:
        return ""
    return _("%(amount)s k€", amount=format_number(Decimal(str(value)) / 1000))


def _ticks(maximum: float, integers: bool) -> list[float]:
    """Five or six round ticks from 0, the last one leaving room after the longest bar for its
    printed value."""
    top = max(float(maximum), 1.0) * 1.15
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integers:
        step = max(1, math.ceil(step))
    count = math.ceil(top / step)
    return [round(step * index, 6) for index in range(count + 1)]


def _height(labels: int, per_label: int = BAR_HEIGHT, legend: bool = False) -> int:
    return 50 + per_label * max(labels, 1) + (LEGEND_HEIGHT if legend else 0)


def horizontal_counts(title: str, items: Sequence[tuple[str, int]], series: str) -> Chart:
    """One bar per item, the first at the top, its count printed after it."""
    chart = _chart(pygal.HorizontalBar, title, height=_height(len(items)), formatter=_count,
                   show_legend=False, print_values=True, print_values_position="top",
                   y_labels=_ticks(max((count for _label, count in items), default=0), True))
    # pygal draws the first label at the bottom: give them bottom up.
    chart.x_labels = [_short(label) for label, _count_ in reversed(items)]
    chart.add(series, [count for _label, count in reversed(items)])
    return Chart(title, _render(chart))


def counts_chart(title: str, counts: Sequence[Count]) -> Chart:
    if not counts:
        return Chart(title, None)
    return horizontal_counts(title, [(item.label, item.count) for item in counts],
                             _("Dossiers déposés"))


def states_chart(states: StateCounts) -> Chart:
    title = _("Dossiers déposés par état actuel")
    if not states.deposited:
        return Chart(title, None)
    return horizontal_counts(
        title, [(item.label, item.count) for item in states.by_state if item.count],
        _("Dossiers"))


def funnel_chart(stages: Sequence[FunnelStage]) -> Chart:
    title = _("Dossiers ayant atteint chaque étape")
    if not stages or not stages[0].reached:
        return Chart(title, None)
    return horizontal_counts(title, [(stage.label, stage.reached) for stage in stages],
                             _("Dossiers"))


def durations_chart(durations: Sequence[StageDuration]) -> Chart:
    """The median and the mean stay in each stage that has completed stays."""
    title = _("Temps passé dans chaque étape (en jours)")
    timed = [item for item in durations if item.stays]
    if not timed:
        return Chart(title, None)
    longest = max(max(item.median_days, item.mean_days) for item in timed)
    chart = _chart(pygal.HorizontalBar, title, height=_height(len(timed), 44, legend=True),
                   formatter=_days, colors=(ACCENT, AMBER), print_values=True,
                   print_values_position="top", y_labels=_ticks(longest, False))
    chart.x_labels = [item.label for item in reversed(timed)]
    chart.add(_("Médiane"), [float(item.median_days) for item in reversed(timed)])
    chart.add(_("Moyenne"), [float(item.mean_days) for item in reversed(timed)])
    return Chart(title, _render(chart))


@dataclass(frozen=True)
class EnvelopeBar:
    """One stacked bar: an envelope split into what is paid, committed but not paid yet,
    reserved and still available."""

    label: str
    paid: Decimal
    committed_unpaid: Decimal
    reserved: Decimal
    available: Decimal  # never below zero in the chart (the table shows an overrun)


def envelope_bars(calls_envelopes: Sequence[CallEnvelopes], per_funder: bool
                  ) -> list[EnvelopeBar]:
    """Per funder (one call's page: each of its envelopes), or per call (its envelope as a
    whole, or its funders' together when it has only those)."""
    bars = []
    for item in calls_envelopes:
        if per_funder:
            lines = [(line.funder.name if line.funder else _("Enveloppe de l'appel"), [line])
                     for line in item.lines]
        else:
            whole = item.whole
            lines = [(item.call.code, [whole] if whole else list(item.lines))] if item.lines \
                else []
        for label, parts in lines:
            amount = sum((line.amount for line in parts), Decimal(0))
            reserved = sum((line.reserved for line in parts), Decimal(0))
            committed = sum((line.committed for line in parts), Decimal(0))
            paid = sum((line.paid for line in parts), Decimal(0))
            bars.append(EnvelopeBar(label, paid, max(committed - paid, Decimal(0)), reserved,
                                    max(amount - reserved - committed, Decimal(0))))
    return bars


def envelope_chart(bars: Sequence[EnvelopeBar]) -> Chart:
    title = _("Consommation des enveloppes (en milliers d'euros)")
    if not bars:
        return Chart(title, None)
    series = (
        (_("Payé"), "paid"),
        (_("Engagé, non payé"), "committed_unpaid"),
        (_("Réservé"), "reserved"),
        (_("Disponible"), "available"),
    )
    longest = max(sum((getattr(bar, attribute) for _t, attribute in series), Decimal(0))
                  for bar in bars)
    chart = _chart(pygal.HorizontalStackedBar, title,
                   height=_height(len(bars), 40, legend=True),
                   formatter=_thousands_of_euros, colors=(GREEN, ACCENT, AMBER, GREY),
                   y_labels=_ticks(longest, False))
    chart.x_labels = [_short(bar.label) for bar in reversed(bars)]
    for name, attribute in series:
        chart.add(name, [float(getattr(bar, attribute)) for bar in reversed(bars)])
    return Chart(title, _render(chart))


@dataclass(frozen=True)
class Charts:
    states: Chart
    funnel: Chart
    kinds: Chart
    regions: Chart
    tracks: Chart
    themes: Chart
    envelopes: Chart
    envelope_bars: tuple[EnvelopeBar, ...]
    durations: Chart


def dashboard_charts(board: Dashboard) -> Charts:
    """The charts of a dashboard page (without an image where there is nothing to draw)."""
    bars = tuple(envelope_bars(board.envelopes, per_funder=board.scope.call is not None))
    return Charts(
        states=states_chart(board.states),
        funnel=funnel_chart(board.funnel),
        kinds=counts_chart(_("Dossiers déposés par type de collectivité"), board.kinds),
        regions=counts_chart(_("Dossiers déposés par région"), board.regions),
        tracks=counts_chart(_("Dossiers déposés par volet"), board.tracks),
        themes=counts_chart(_("Dossiers déposés par thème"), board.themes),
        envelopes=envelope_chart(bars),
        envelope_bars=bars,
        durations=durations_chart(board.durations),
    )
