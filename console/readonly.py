"""Admins of rows Pharos writes itself (results, rollups, rounds, lone failures): they can
be looked at, never added or edited by hand — a hand-made result would be a vote nobody
cast. Durations stored in seconds are shown in milliseconds."""

from typing import Any

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


def milliseconds(field: str, description: str) -> Any:
    """A read-only column showing ``field`` (seconds) in milliseconds."""

    @admin.display(description=description, ordering=field)
    def show(self: Any, row: Any) -> str:
        seconds = getattr(row, field)
        return "—" if seconds is None else f"{seconds * 1000:.1f} ms"

    show.__name__ = f"{field}_ms"
    return show
