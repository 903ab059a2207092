"""Proper widgets for the monitor form: region checkboxes, the expected status codes as a
comma-separated list, weekday checkboxes for maintenance, time inputs that name their zone,
a zone picker, and help text where a field's meaning is not obvious.

The columns stay JSON lists; the fields below turn the widgets' input into those lists
with the API's rules (monitors.serializers): codes 100–599, known regions, known days.
"""

from typing import Any

from django import forms
from django.conf import settings

from config.jsonapi.fields import DAY_NAMES
from config.zones import known_zone_names

MAX_STATUS_CODES = 100  # as the API's list


class StatusCodesField(forms.CharField):
    """``200, 201, 301`` ⇄ ``[200, 201, 301]``."""

    widget = forms.TextInput(attrs={"placeholder": "e.g. 200, 204, 301", "size": 40})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(code) for code in value)
        return value

    def to_python(self, value: Any) -> list[int]:
        text = super().to_python(value)
        if isinstance(text, list):  # initial data already in list form
            return text
        codes: list[int] = []
        for part in filter(None, (piece.strip() for piece in text.replace(";", ",").split(","))):
            if not part.isdigit() or not 100 <= int(part) <= 599:
                raise forms.ValidationError(f"{part!r} is not an HTTP status code (100–599).")
            codes.append(int(part))
        if len(codes) > MAX_STATUS_CODES:
            raise forms.ValidationError(f"At most {MAX_STATUS_CODES} status codes.")
        return list(dict.fromkeys(codes))


class ListOfChoicesField(forms.MultipleChoiceField):
    """Checkboxes whose ticked values are stored as a JSON list, in the choices' order."""

    widget = forms.CheckboxSelectMultiple

    def clean(self, value: Any) -> list[str]:
        ticked = set(super().clean(value))
        return [choice for choice, _ in self.choices if choice in ticked]


def region_choices() -> list[tuple[str, str]]:
    return [(region, region) for region in settings.PHAROS_REGIONS]


def zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(known_zone_names())]


class MonitorFormFields(forms.ModelForm):
    regions = ListOfChoicesField(
        choices=region_choices,
        required=False,
        help_text="The regions that check this monitor. None ticked: every configured region, "
        "including regions added later.",
    )
    expected_status_codes = StatusCodesField(
        required=False,
        help_text="Comma-separated. For the expected_status_code type: the codes that count as up.",
    )
    maintenance_days = ListOfChoicesField(
        choices=[(day, day.capitalize()) for day in DAY_NAMES],
        required=False,
        help_text="The weekdays of the maintenance window, in its time zone.",
    )
    maintenance_timezone = forms.ChoiceField(choices=zone_choices, initial="UTC")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        for name in ("maintenance_from", "maintenance_to"):
            if name in fields:
                fields[name].widget = forms.TimeInput(attrs={"type": "time", "step": 1}, format="%H:%M:%S")
                zone = self.instance.maintenance_timezone if self.instance.pk else "UTC"
                fields[name].help_text = f"Time of day in the window's zone ({zone}, below)."
        if "quorum" in fields:
            regions = len(self.instance.effective_regions)
            effective = self.instance.effective_quorum
            fields["quorum"].widget.attrs["placeholder"] = f"{effective} (majority)"
            fields["quorum"].help_text = (
                f"How many regions must see the target down in one round. Blank: a majority of "
                f"the monitor's regions — now {effective} of {regions}."
            )
        for name, text in HELP_TEXTS.items():
            if name in fields and not fields[name].help_text:
                fields[name].help_text = text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        quorum, regions = cleaned.get("quorum"), cleaned.get("regions")
        count = len(regions or settings.PHAROS_REGIONS)
        if quorum is not None and quorum > count:
            self.add_error("quorum", f"At most the number of regions ({count}).")
        return cleaned


HELP_TEXTS = {
    "url": "The address to check: a URL for HTTP types, a host for ping, tcp, udp, dns, smtp, pop and imap.",
    "monitor_type": "What counts as up: status (2xx/3xx), expected_status_code, keyword, ping, tcp, …",
    "check_frequency": "Seconds between rounds.",
    "request_timeout": "Seconds for HTTP types; milliseconds for tcp, udp, ping, dns, smtp, pop, imap.",
    "confirmation_period": "Seconds the target must keep failing before an incident opens.",
    "recovery_period": "Seconds the target must pass again before the incident resolves; meanwhile the "
    "monitor is 'validating'.",
    "ssl_expiration": "Days before the certificate expires to open an incident; blank: never.",
    "domain_expiration": "Days before the domain registration expires to open an incident; blank: never.",
    "required_keyword": "For keyword types: the text the response must (or must not) contain.",
    "team_wait": "Seconds to wait before escalating to the whole team; blank: never.",
}
