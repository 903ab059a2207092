"""``/api/v2/status-pages`` and what hangs under a page (sections, resources, status reports
and their status updates), and ``/api/v2/status-page-groups`` (docs/api.md).

A nested path names its page (and report) first; another team's page is a 404 for every
path under it, exactly as a missing one.
"""

from typing import Any

from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema

from config.jsonapi.schema import document_resource
from config.jsonapi.views import ResourceViewSet
from status.figures import resource_figures
from status.models import StatusPage, StatusPageGroup, StatusPageResource, StatusPageSection, StatusReport, StatusUpdate
from status.serializers import (
    StatusPageGroupSerializer,
    StatusPageSectionSerializer,
    StatusPageSerializer,
    StatusReportSerializer,
    StatusResourceSerializer,
    StatusUpdateSerializer,
)

PAGE_ID = OpenApiParameter("status_page_id", str, OpenApiParameter.PATH, description="The status page's id.")
REPORT_ID = OpenApiParameter("status_report_id", str, OpenApiParameter.PATH, description="The status report's id.")
ID = OpenApiParameter("id", str, OpenApiParameter.PATH)


def _digits(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise Http404
    return int(raw)


@document_resource(StatusPageGroupSerializer, "status_page_group", tags=["Status pages"])
class StatusPageGroupViewSet(ResourceViewSet):
    """Status page groups: pages organised together."""

    queryset = StatusPageGroup.objects.order_by("sort_index", "id")
    serializer_class = StatusPageGroupSerializer


@document_resource(StatusPageSerializer, "status_page", tags=["Status pages"])
class StatusPageViewSet(ResourceViewSet):
    """Status pages: what a team's customers see at /status/<subdomain>/."""

    queryset = StatusPage.objects.order_by("id")
    serializer_class = StatusPageSerializer


class PageChildViewSet(ResourceViewSet):
    """A resource that belongs to one of the team's pages, named by ``status_page_id``."""

    team_field = "status_page__team"

    @property
    def status_page(self) -> StatusPage:
        if not hasattr(self, "_status_page"):
            page = StatusPage.objects.filter(pk=_digits(self.kwargs["status_page_id"]), team=self.team).first()
            if page is None:
                raise Http404
            self._status_page = page
        return self._status_page

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.filter(status_page=self.status_page)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if getattr(self.request, "auth", None) is not None and "status_page_id" in self.kwargs:
            context["status_page"] = self.status_page
        return context


@extend_schema(parameters=[PAGE_ID])
@document_resource(StatusPageSectionSerializer, "status_page_section", tags=["Status pages"], nested=True)
class StatusPageSectionViewSet(PageChildViewSet):
    queryset = StatusPageSection.objects.order_by("position", "id")
    serializer_class = StatusPageSectionSerializer


@extend_schema(parameters=[PAGE_ID])
@document_resource(StatusResourceSerializer, "status_page_resource", tags=["Status pages"], nested=True)
class StatusPageResourceViewSet(PageChildViewSet):
    queryset = StatusPageResource.objects.select_related("status_page").order_by("position", "id")
    serializer_class = StatusResourceSerializer

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        page = self.paginate_queryset(self.get_queryset())
        serializer = self.get_serializer()
        # One pass over the page of resources, not one per resource.
        serializer.context["figures"] = resource_figures(self.status_page, list(page), now=timezone.now())
        return self.get_paginated_response([serializer.as_resource(item) for item in page])


@extend_schema(parameters=[PAGE_ID])
@document_resource(StatusReportSerializer, "status_report", tags=["Status pages"], nested=True)
class StatusReportViewSet(PageChildViewSet):
    queryset = StatusReport.objects.prefetch_related("status_updates").order_by("-starts_at", "-id")
    serializer_class = StatusReportSerializer


@extend_schema(parameters=[PAGE_ID, REPORT_ID])
@document_resource(StatusUpdateSerializer, "status_update", tags=["Status pages"], nested=True)
class StatusUpdateViewSet(PageChildViewSet):
    queryset = StatusUpdate.objects.order_by("published_at", "id")
    serializer_class = StatusUpdateSerializer

    @property
    def status_report(self) -> StatusReport:
        if not hasattr(self, "_status_report"):
            report = self.status_page.reports.filter(pk=_digits(self.kwargs["status_report_id"])).first()
            if report is None:
                raise Http404
            self._status_report = report
        return self._status_report

    def scope_queryset(self, queryset: Any) -> Any:
        return queryset.filter(status_report=self.status_report)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if "status_page" in context and "status_report_id" in self.kwargs:
            context["status_report"] = self.status_report
        return context
