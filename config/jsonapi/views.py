"""``ResourceViewSet``: list/create/retrieve/partial_update/destroy in the contract's shapes.

Every queryset is scoped to the token's team (``scope_queryset``), so another team's
object is indistinguishable from a missing one: 404 for every method. Path ids that are
not digits are 404 too, never a routing 404 page. Creates and updates run in one
transaction with everything they write (a monitor and its request headers), so a 422 or a
crash leaves nothing half-written.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from config.jsonapi.auth import HasTeamToken, TeamTokenAuthentication
from config.jsonapi.errors import jsonapi_exception_handler
from config.jsonapi.media import PARSERS, RENDERERS
from config.jsonapi.pagination import Pagination
from config.jsonapi.ratelimit import TokenRateThrottle

if TYPE_CHECKING:
    from teams.models import Team


class ApiView:
    """The plumbing alone, for views that are not resources (``sla``, ``availability``)."""

    authentication_classes = [TeamTokenAuthentication]
    permission_classes = [HasTeamToken]
    throttle_classes = [TokenRateThrottle]
    parser_classes = PARSERS
    renderer_classes = RENDERERS
    request: Request  # set by the DRF view this is mixed into

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return jsonapi_exception_handler

    @property
    def team(self) -> "Team":
        team: Team = self.request.auth.team
        return team


class ResourceViewSet(ApiView, viewsets.GenericViewSet):
    pagination_class = Pagination
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete"]
    team_field = "team"
    # The envelopes describing it (config.jsonapi.schema.document_resource).
    document_serializer: type[BaseSerializer]
    list_document_serializer: type[BaseSerializer]

    def scope_queryset(self, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.team_field: self.team})

    def get_queryset(self) -> QuerySet:
        return self.scope_queryset(super().get_queryset())

    def get_object(self) -> Any:
        raw = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise Http404
        obj = self.get_queryset().filter(pk=int(raw)).first()
        if obj is None:
            raise Http404
        return obj

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if getattr(self.request, "auth", None) is not None:
            context["team"] = self.team
        return context

    def document(
        self, instance: Model, *, status_code: int = status.HTTP_200_OK, serializer: BaseSerializer | None = None
    ) -> Response:
        serializer = serializer or self.get_serializer(instance)
        return Response({"data": serializer.as_resource(instance)}, status=status_code)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer()
        return self.get_paginated_response([serializer.as_resource(item) for item in page])

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.document(self.get_object())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        with transaction.atomic():
            # Validated inside the transaction: what it checked (a policy of the team) is
            # what the insert refers to.
            serializer.is_valid(raise_exception=True)
            instance = serializer.save()
        return self.document(self.reload(instance), status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            # Locked so that two PATCHes of one object validate against what the other wrote.
            instance = self.get_queryset().select_for_update(of=("self",)).filter(pk=self.get_object().pk).first()
            if instance is None:
                raise Http404
            serializer = self.get_serializer(instance, data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            instance = serializer.save()
        return self.document(self.reload(instance))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            instance = self.get_object()
            self.before_delete(instance)
            instance.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def before_delete(self, instance: Any) -> None:
        """Hook run in the delete's transaction (monitors resolve their open incident here)."""

    def actor(self) -> str:
        """Who a change made through this token is recorded as (``acknowledged_by`` …)."""
        token = self.request.auth
        return f"API token {token.name}" if token.name else "API token"

    def reload(self, instance: Model) -> Any:
        """The object as a later GET would show it (related rows, database defaults)."""
        return self.get_queryset().get(pk=instance.pk)
