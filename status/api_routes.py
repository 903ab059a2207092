"""The status pages' routes in the v2 router (config.api_urls), nested under their page."""

from typing import Any

from status.api import (
    StatusPageGroupViewSet,
    StatusPageResourceViewSet,
    StatusPageSectionViewSet,
    StatusPageViewSet,
    StatusReportViewSet,
    StatusUpdateViewSet,
)

PAGE = r"status-pages/(?P<status_page_id>[^/]+)"


def register_status_routes(router: Any) -> None:
    router.register("status-pages", StatusPageViewSet, basename="status-page")
    router.register(f"{PAGE}/sections", StatusPageSectionViewSet, basename="status-page-section")
    router.register(f"{PAGE}/resources", StatusPageResourceViewSet, basename="status-page-resource")
    router.register(f"{PAGE}/status-reports", StatusReportViewSet, basename="status-report")
    router.register(
        f"{PAGE}/status-reports/(?P<status_report_id>[^/]+)/status-updates",
        StatusUpdateViewSet,
        basename="status-update",
    )
    router.register("status-page-groups", StatusPageGroupViewSet, basename="status-page-group")
