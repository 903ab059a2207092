"""Domain expiry: a monitor with ``domain_expiration`` set opens an incident when the
registration of its domain expires within that many days, and resolves it once renewed.

A registration is the same from every region and changes rarely, so this is not a probe
but a central periodic job (``monitors.check_domain_expiry``, hourly):

1. Every monitor with ``domain_expiration`` set is mapped to its registrable domain
   (``registrable_domain``); IP literals and single-label hosts have none.
2. Each distinct domain is looked up over RDAP (RFC 9082/9083, ``{PHAROS_RDAP_URL}/domain/
   {name}``) at most once per ``LOOKUP_INTERVAL``, whatever the number of monitors on it;
   the answer is stored in ``DomainRegistration``. A failed lookup (timeout, 5xx, bad
   JSON) changes nothing it knew before and is retried on the next run.
3. Every run decides from the stored expiry, so a warning also opens or resolves when the
   clock or the monitor's window moves, without a new lookup.

A domain warning is an incident of kind ``domain`` (Incident.kind), with a slot of its
own: at most one open per monitor (partial unique index), beside the monitor's outage if
it has one — neither waits for the other, and an outage always pages.

- a domain warning opens on a monitor that is watched: never on a paused or in-maintenance
  one (it opens on the first run after);
- a renewal, a wider-than-needed window or ``domain_expiration`` set back to null resolves
  only the domain warning, never an outage, and a passing round never resolves it.
"""

import ipaddress
import logging
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from alerts.alertable import ALERTING_FIELDS
from alerts.incidents import Alerting, IncidentFacts, open_incident, resolve_incident
from alerts.models import Incident, IncidentKind, IncidentSource
from monitors.models import DomainRegistration, Monitor, MonitorStatus

logger = logging.getLogger(__name__)

KIND = "domain_expiration"  # Incident.metadata["kind"] of a domain warning, as the API shows it
LOOKUP_INTERVAL = timedelta(hours=12)
LOOKUP_TIMEOUT = 10.0  # seconds per RDAP request (redirect included)
LOOKUPS_PER_RUN = 200  # bounds one run to LOOKUPS_PER_RUN × LOOKUP_TIMEOUT; the rest wait an hour
RENEWED_BY = "Pharos (domain renewed)"
UNWATCHED_BY = "Pharos (domain expiry no longer watched)"

# Second-level labels under which registries sell names (example.co.uk, example.com.au,
# example.ac.jp …). A deliberately small rule instead of the Public Suffix List: it is
# right for gTLDs and the common ccTLD second levels, and where it is wrong (a private
# suffix such as user.github.io) it names the domain whose expiry takes the site down.
SECOND_LEVELS = frozenset({"co", "com", "org", "net", "gov", "ac", "edu"})


class LookupFailed(Exception):
    """RDAP gave no usable answer this time (network, 5xx, not JSON, bad date)."""


@dataclass(frozen=True)
class Registration:
    found: bool  # False: the registry does not know the domain (404)
    expires_at: datetime | None = None


def host_of(url: str) -> str | None:
    """The host a monitor's URL (or bare ``host[:port]`` target) names, lowercased."""
    if "://" not in url and url.count(":") > 1 and not url.startswith("["):
        return url.strip().lower()  # a bare IPv6 literal, which urlsplit would cut at its first colon
    try:
        host = urlsplit(url if "://" in url else f"//{url}").hostname
    except ValueError:
        return None
    return (host or "").rstrip(".") or None


def registrable_domain(url: str) -> str | None:
    """The domain whose registration a monitor depends on, or None (IP literal, one label).

    The last two labels of the host, or the last three when the second-to-last is one of
    ``SECOND_LEVELS``: api.example.com → example.com, shop.example.co.uk → example.co.uk.
    Internationalised names are returned in their ASCII (``xn--``) form, as RDAP wants.
    """
    host = host_of(url)
    if host is None:
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = [label for label in host.split(".") if label]
    if len(labels) < 2:
        return None
    take = 3 if len(labels) >= 3 and labels[-2] in SECOND_LEVELS else 2
    return ".".join(labels[-take:])


def parse_rdap_date(value: object) -> datetime:
    if not isinstance(value, str):
        raise LookupFailed(f"eventDate is not a string: {value!r}"[:200])
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LookupFailed(f"eventDate is not RFC 3339: {value!r}"[:200]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def expiration_of(document: object) -> datetime | None:
    """The ``expiration`` event of an RDAP domain object (RFC 9083 §4.5), or None.

    Should a registry list several, the latest is the one in force after a renewal."""
    if not isinstance(document, dict):
        raise LookupFailed("the RDAP answer is not a JSON object")
    events = document.get("events") or []
    if not isinstance(events, list):
        raise LookupFailed("RDAP events is not a list")
    dates = [
        parse_rdap_date(event.get("eventDate"))
        for event in events
        if isinstance(event, dict) and event.get("eventAction") == "expiration"
    ]
    return max(dates) if dates else None


def lookup(domain: str, *, client: httpx.Client, base_url: str) -> Registration:
    """Ask RDAP about ``domain``. Raises LookupFailed when there is no usable answer."""
    url = f"{base_url.rstrip('/')}/domain/{domain}"
    try:
        # rdap.org answers with a redirect to the registry's own RDAP server.
        response = client.get(url, headers={"Accept": "application/rdap+json, application/json"})
    except httpx.HTTPError as exc:
        raise LookupFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
    if response.status_code == 404:
        return Registration(found=False)
    if response.status_code != 200:
        raise LookupFailed(f"RDAP answered {response.status_code}")
    try:
        document = response.json()
    except ValueError:
        raise LookupFailed("the RDAP answer is not JSON") from None
    return Registration(found=True, expires_at=expiration_of(document))


def days_left(expires_at: datetime, now: datetime) -> int:
    """Whole days left, rounded up (as probes.tls counts a certificate's); 0 once expired."""
    return max(0, math.ceil((expires_at - now).total_seconds() / 86400))


def cause_for(expires_at: datetime, now: datetime) -> str:
    days = days_left(expires_at, now)
    if days == 0:
        return "Domain expired"
    return f"Domain expires in {days} day{'s' if days != 1 else ''}"


def check_domain_expiry(
    *,
    now: datetime,
    base_url: str | None = None,
    timeout: float = LOOKUP_TIMEOUT,
    lookups_per_run: int = LOOKUPS_PER_RUN,
) -> dict[str, int]:
    """One run: refresh stale registrations, then open or resolve every monitor's warning.
    Returns counts for the task's log line."""
    watched = Monitor.objects.filter(domain_expiration__isnull=False).only(
        "pk",
        "team_id",
        "url",
        "status",
        "paused_at",
        "pronounceable_name",
        "domain_expiration",
        *ALERTING_FIELDS,
    )
    by_domain: dict[str, list[Monitor]] = {}
    for monitor in watched:
        domain = registrable_domain(monitor.url)
        if domain is not None:
            by_domain.setdefault(domain, []).append(monitor)
    looked_up, failed = refresh(
        by_domain, now=now, base_url=base_url or settings.PHAROS_RDAP_URL, timeout=timeout, limit=lookups_per_run
    )
    registrations = {r.domain: r for r in DomainRegistration.objects.filter(domain__in=by_domain)}
    opened = resolved = 0
    for domain, monitors in by_domain.items():
        for monitor in monitors:
            try:
                change = decide(monitor, registrations.get(domain), domain=domain, now=now)
            except Exception:
                # One monitor that cannot be decided must not stop every other warning.
                logger.exception("monitor %s: domain expiry decision failed", monitor.pk, extra={"monitor": monitor.pk})
                continue
            opened += change == "opened"
            resolved += change == "resolved"
    resolved += resolve_unwatched({m.pk for monitors in by_domain.values() for m in monitors}, now=now)
    return {"domains": len(by_domain), "looked_up": looked_up, "failed": failed, "opened": opened, "resolved": resolved}


def refresh(domains: Collection[str], *, now: datetime, base_url: str, timeout: float, limit: int) -> tuple[int, int]:
    """Look up the domains whose last answer is older than LOOKUP_INTERVAL. Returns
    ``(answered, failed)``."""
    DomainRegistration.objects.bulk_create(
        [DomainRegistration(domain=domain, next_lookup_at=now) for domain in domains], ignore_conflicts=True
    )
    due = list(
        DomainRegistration.objects.filter(domain__in=domains, next_lookup_at__lte=now)
        .order_by("next_lookup_at")
        .values_list("domain", flat=True)[:limit]
    )
    answered = failed = 0
    with httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=3) as client:
        for domain in due:
            # Claim before the (slow) lookup: of two runs overlapping, one asks RDAP.
            claimed = DomainRegistration.objects.filter(domain=domain, next_lookup_at__lte=now).update(
                next_lookup_at=now + LOOKUP_INTERVAL
            )
            if not claimed:
                continue
            try:
                registration = lookup(domain, client=client, base_url=base_url)
            except LookupFailed as exc:
                failed += 1
                logger.warning("RDAP lookup of %s failed, retrying next run: %s", domain, exc)
                DomainRegistration.objects.filter(domain=domain).update(next_lookup_at=now, last_error=str(exc)[:300])
                continue
            answered += 1
            if not registration.found:
                logger.info("RDAP does not know the domain %s: no expiry to watch", domain)
            elif registration.expires_at is None:
                logger.info("RDAP lists no expiration for %s", domain)
            DomainRegistration.objects.filter(domain=domain).update(
                expires_at=registration.expires_at, checked_at=now, last_error=""
            )
    return answered, failed


def open_warning(monitor_id: int) -> Incident | None:
    warning: Incident | None = (
        Incident.objects.open().for_source(IncidentSource.MONITOR, monitor_id, kind=IncidentKind.DOMAIN).first()
    )
    return warning


Change = Literal["opened", "resolved"]


def decide(monitor: Monitor, registration: DomainRegistration | None, *, domain: str, now: datetime) -> Change | None:
    """Open or resolve the monitor's domain warning. Returns "opened", "resolved" or None."""
    if registration is None or registration.checked_at is None:
        return None  # never answered yet: nothing known, nothing to say
    expires_at = registration.expires_at
    if expires_at is None:
        # A 404 or no expiration event is no proof of renewal (an expired name may be
        # deleted): an open warning stays until an expiry outside the window is seen.
        return None
    incident = open_warning(monitor.pk)
    if days_left(expires_at, now) > monitor.domain_expiration:
        if incident is not None:
            return "resolved" if resolve_incident(incident.pk, by=RENEWED_BY, now=now) else None
        return None
    # Already open, or a monitor nobody is to be paged about now: wait for a later run.
    quiet = monitor.status in (MonitorStatus.PAUSED, MonitorStatus.MAINTENANCE) or monitor.paused_at is not None
    if incident is not None or quiet:
        return None
    cause = cause_for(expires_at, now)
    facts = IncidentFacts(
        cause=cause,
        name=str(monitor),
        url=monitor.url,
        metadata={"kind": KIND, "domain": domain, "expires_at": expires_at.isoformat()},
    )
    # open_incident returns None to the loser of a race on the one-open-incident index.
    created = open_incident(
        team_id=monitor.team_id,
        source_type=IncidentSource.MONITOR,
        source_id=monitor.pk,
        facts=facts,
        alerting=Alerting.of(monitor),
        now=now,
        kind=IncidentKind.DOMAIN,
    )
    if created is not None:
        logger.info(
            "monitor %s: %s (%s, %s)",
            monitor.pk,
            cause,
            domain,
            expires_at.date().isoformat(),
            extra={"monitor": monitor.pk, "incident": created.pk, "team": monitor.team_id, "domain": domain},
        )
    return "opened" if created is not None else None


def resolve_unwatched(watched_ids: Iterable[int], *, now: datetime) -> int:
    """Resolve domain warnings of monitors not in ``watched_ids``: ``domain_expiration``
    set back to null, an IP host now, or the monitor is gone."""
    stale = (
        Incident.objects.open()
        .filter(source_type=IncidentSource.MONITOR, kind=IncidentKind.DOMAIN)
        .exclude(source_id__in=list(watched_ids))
        .values_list("pk", flat=True)
    )
    return sum(resolve_incident(pk, by=UNWATCHED_BY, now=now) for pk in list(stale))
