"""The monitor admin's console parts: the list's columns and the page above the form.

The list's columns: status and for how long, last response time, a 24 h
sparkline, 24 h / 30 d availability and a dot per region's last outcome.

The figures of a whole page come from console.monitor_list in a fixed number of queries;
``get_changelist_instance`` hangs them on the page's rows, where the columns read them.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from config.adminkit import status_badge
from console import svg
from console.monitor_list import MonitorFigures, figures_for, status_since
from console.monitor_page import monitor_page
from monitors.models import Monitor

LIST_COLUMNS = [
    "status_for",
    "last_response",
    "response_sparkline",
    "availability_24h",
    "availability_30d",
    "region_dots",
]


def _figures(monitor: Monitor) -> MonitorFigures:
    # A row shown outside the changelist (none today) simply has no figures.
    return getattr(monitor, "console_figures", None) or MonitorFigures()


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} %"


class MonitorListColumns(admin.ModelAdmin):
    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        figures = figures_for(rows, now=timezone.now())
        for row in rows:
            row.console_figures = figures[row.pk]
        changelist.result_list = rows
        return changelist

    change_form_template = "console/monitor_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        monitor = self.get_object(request, object_id)
        if monitor is not None:
            extra_context = {
                **(extra_context or {}),
                "console": monitor_page(monitor, now=timezone.now()),
                "console_status": self.status_for(monitor),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="status", ordering="status")
    def status_for(self, monitor: Monitor) -> SafeString:
        since = status_since(monitor)
        if since is None:
            return status_badge(monitor.status)
        return format_html(
            '{} <span class="console-muted" title="since {}">for {}</span>',
            status_badge(monitor.status),
            timezone.localtime(since).strftime("%Y-%m-%d %H:%M:%S %Z"),
            timesince(since),
        )

    @admin.display(description="last response")
    def last_response(self, monitor: Monitor) -> str:
        milliseconds = _figures(monitor).last_response_ms
        return "—" if milliseconds is None else f"{milliseconds:g} ms"

    @admin.display(description="response time, 24 h")
    def response_sparkline(self, monitor: Monitor) -> SafeString:
        return svg.sparkline(_figures(monitor).hourly_ms, label=f"hourly mean response time of {monitor}")

    @admin.display(description="24 h")
    def availability_24h(self, monitor: Monitor) -> str:
        return _percent(_figures(monitor).availability_day)

    @admin.display(description="30 d")
    def availability_30d(self, monitor: Monitor) -> str:
        return _percent(_figures(monitor).availability_month)

    @admin.display(description="regions")
    def region_dots(self, monitor: Monitor) -> SafeString:
        last = _figures(monitor).last_by_region

        def title(region: str) -> str:
            if region not in last:
                return f"{region}: no answer in the last round"
            outcome, code, seconds = last[region]
            ms = "" if seconds is None else f", {seconds * 1000:.0f} ms"
            return f"{region}: {outcome}{'' if code is None else f' ({code})'}{ms}"

        return format_html(
            '<span class="console-dots">{}</span>',
            format_html_join(
                " ",
                '<span class="console-dot">{} {}</span>',
                (
                    (svg.dot(last.get(region, (None,))[0], title=title(region)), region)
                    for region in monitor.effective_regions
                ),
            ),
        )
