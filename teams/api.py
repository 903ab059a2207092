"""``/api/v2/on-calls``: on-call calendars, their override events and their rotation.

``default`` stands for the team's default calendar wherever an id goes
(``/api/v2/on-calls/default/events``); it is made on first use. Who is on call comes from
teams.oncall, the rule escalation pages by.
"""

from datetime import UTC, datetime, time, tzinfo
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.jsonapi.errors import BadRequest, Conflict
from config.jsonapi.pagination import Pagination
from config.jsonapi.schema import error_responses
from config.jsonapi.serializers import PaginationLinksSerializer
from config.jsonapi.views import ResourceViewSet
from teams.models import OnCallCalendar, OnCallEvent, OnCallRotation
from teams.oncall import Roster, calendar_zone, default_calendar, on_call_now_of
from teams.serializers import (
    CalendarSerializer,
    EventSerializer,
    RotationOutSerializer,
    RotationSerializer,
    Users,
    included_users,
)

TAGS = ["On-call calendars"]
USER_TYPE_CHOICES = [("user", "user")]


class EventPagination(Pagination):
    # Better Stack answers every event in one list; a page this large keeps clients that
    # never follow ``next`` whole for any real calendar, and still bounds the answer.
    default_per_page = 250
    max_per_page = 250


# --- schema-only serializers: the documents as answered --------------------------------------


class OnCallUserMetaSerializer(serializers.Serializer):
    email = serializers.EmailField()


class OnCallUserRefSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9]+$")
    type = serializers.ChoiceField(choices=["user"])
    meta = OnCallUserMetaSerializer()


class OnCallUsersSerializer(serializers.Serializer):
    data = OnCallUserRefSerializer(many=True)


class CalendarRelationshipsSerializer(serializers.Serializer):
    on_call_users = OnCallUsersSerializer()


class OnCallUserAttributesSerializer(serializers.Serializer):
    first_name = serializers.CharField(allow_null=True)
    last_name = serializers.CharField(allow_null=True)
    email = serializers.EmailField()
    phone_numbers = serializers.ListField(child=serializers.CharField())


class OnCallUserSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9]+$")
    type = serializers.ChoiceField(choices=["user"])
    attributes = OnCallUserAttributesSerializer()


class CalendarResourceSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9]+$")
    type = serializers.ChoiceField(choices=["on_call_calendar"])
    attributes = CalendarSerializer()
    relationships = CalendarRelationshipsSerializer()


class CalendarDocumentSerializer(serializers.Serializer):
    data = CalendarResourceSerializer()
    included = OnCallUserSerializer(many=True)


# many=False: one object, though it answers a list action (drf-spectacular would wrap it).
@extend_schema_serializer(many=False)
class CalendarListSerializer(serializers.Serializer):
    data = CalendarResourceSerializer(many=True)
    included = OnCallUserSerializer(many=True)
    pagination = PaginationLinksSerializer()


class EventOutSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9]+$")
    users = serializers.ListField(child=serializers.EmailField())
    starts_at = serializers.CharField()
    ends_at = serializers.CharField()
    override = serializers.BooleanField()


class EventListSerializer(serializers.Serializer):
    events = EventOutSerializer(many=True)
    pagination = PaginationLinksSerializer()


PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("per_page", int, description="Items per page."),
]
ID_PARAMETER = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="A calendar id, or `default` for the team's default calendar."
)
DATE_PARAMETER = OpenApiParameter(
    "date",
    str,
    description="Who is on call at this instant (ISO 8601) or at 00:00 of this day (YYYY-MM-DD) in the "
    "calendar's time zone, instead of now.",
)


def parse_instant(raw: str, zone: tzinfo) -> datetime:
    """``?date=``: an ISO 8601 instant (UTC when it names no offset) or a day in ``zone``."""
    if len(raw) <= 40:
        try:
            moment = parse_datetime(raw)
            if moment is not None:
                return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            day = parse_date(raw)
            if day is not None:
                return datetime.combine(day, time.min).replace(tzinfo=zone).astimezone(UTC)
        except ValueError:
            pass
    raise BadRequest(f"Invalid date {raw[:40]!r}: use YYYY-MM-DD or an ISO 8601 time")


@extend_schema_view(
    list=extend_schema(parameters=PAGE_PARAMETERS, responses={200: CalendarListSerializer, **error_responses(400)}),
    retrieve=extend_schema(
        parameters=[ID_PARAMETER, DATE_PARAMETER],
        responses={200: CalendarDocumentSerializer, **error_responses(400, 404)},
    ),
    create=extend_schema(
        request=CalendarSerializer, responses={201: CalendarDocumentSerializer, **error_responses(400, 422)}
    ),
    partial_update=extend_schema(
        parameters=[ID_PARAMETER],
        request=CalendarSerializer,
        responses={200: CalendarDocumentSerializer, **error_responses(400, 404, 422)},
    ),
    destroy=extend_schema(parameters=[ID_PARAMETER], responses={204: None, **error_responses(404, 409)}),
)
@extend_schema(tags=TAGS)
class OnCallCalendarViewSet(ResourceViewSet):
    """On-call calendars: who of the team is paged, when."""

    queryset = OnCallCalendar.objects.select_related("team", "rotation").order_by("-is_default", "id")
    serializer_class = CalendarSerializer
    http_method_names = ["get", "post", "patch", "put", "delete"]

    def get_object(self) -> OnCallCalendar:
        if self.kwargs.get("pk") == "default":
            return self.get_queryset().get(pk=default_calendar(self.team).pk)
        return super().get_object()

    # --- the calendar -------------------------------------------------------------------------

    def calendars_answer(
        self,
        calendars: list[OnCallCalendar],
        *,
        at: datetime,
        status_code: int = status.HTTP_200_OK,
        single: bool = True,
        paginated: bool = False,
    ) -> Response:
        roster = Roster.of(self.team.pk)
        users = {m.user_id: m.user for m in roster.memberships}
        phones = {m.user_id: m.phone_number for m in roster.memberships}
        on_call = on_call_now_of(calendars, at=at, roster=roster)
        serializer = self.get_serializer()
        data = [serializer.as_calendar(c, on_call[c.pk], users) for c in calendars]
        included = included_users([uid for c in calendars for uid in on_call[c.pk].user_ids], users, phones)
        if paginated:
            return Response({"data": data, "included": included, "pagination": self.paginator.links()})
        return Response({"data": data[0], "included": included}, status=status_code)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        default_calendar(self.team)  # every team has one, as in Better Stack
        page = self.paginate_queryset(self.get_queryset())
        return self.calendars_answer(list(page), at=timezone.now(), paginated=True)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        calendar = self.get_object()
        raw = request.query_params.get("date")
        at = parse_instant(raw, calendar_zone(calendar)) if raw else timezone.now()
        return self.calendars_answer([calendar], at=at)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        calendar = serializer.save()
        return self.calendars_answer([self.reload(calendar)], at=timezone.now(), status_code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        calendar = self.get_object()
        with transaction.atomic():
            serializer = self.get_serializer(calendar, data=request.data, partial=True)
            serializer.is_valid(raise_exception=True)
            serializer.save()
        return self.calendars_answer([self.reload(calendar)], at=timezone.now())

    def before_delete(self, calendar: OnCallCalendar) -> None:
        if calendar.is_default:
            raise Conflict("The default on-call calendar cannot be deleted")

    # --- events ---------------------------------------------------------------------------------

    def _users(self) -> Users:
        roster = Roster.of(self.team.pk)
        return {m.user_id: m.user for m in roster.memberships}

    @extend_schema(
        methods=["GET"],
        parameters=[ID_PARAMETER, *PAGE_PARAMETERS],
        responses={200: EventListSerializer, **error_responses(400, 404)},
        tags=TAGS,
    )
    @extend_schema(
        methods=["POST"],
        parameters=[ID_PARAMETER],
        request=EventSerializer,
        responses={201: EventOutSerializer, **error_responses(400, 404, 422)},
        tags=TAGS,
    )
    @action(detail=True, methods=["get", "post"])
    def events(self, request: Request, pk: str | None = None) -> Response:
        calendar = self.get_object()
        serializer = EventSerializer(data=request.data, context=self.get_serializer_context())
        if request.method == "POST":
            serializer.is_valid(raise_exception=True)
            fields = serializer.validated_data
            event = OnCallEvent.objects.create(
                calendar=calendar, user_ids=fields["users"], starts_at=fields["starts_at"], ends_at=fields["ends_at"]
            )
            return Response(serializer.represent(event, self._users()), status=status.HTTP_201_CREATED)
        paginator = EventPagination()
        page = paginator.paginate_queryset(calendar.events.order_by("starts_at", "id"), request, view=self)
        users = self._users()
        return Response(
            {"events": [serializer.represent(event, users) for event in page], "pagination": paginator.links()}
        )

    def _event(self, calendar: OnCallCalendar, event_id: str) -> OnCallEvent:
        if not (event_id.isascii() and event_id.isdigit() and len(event_id) <= 18):
            raise Http404
        event = calendar.events.filter(pk=int(event_id)).first()
        if event is None:
            raise Http404
        return event

    @extend_schema(
        methods=["GET"],
        parameters=[ID_PARAMETER],
        responses={200: EventOutSerializer, **error_responses(404)},
        tags=TAGS,
        operation_id="v2_on_calls_event_retrieve",
    )
    @extend_schema(
        methods=["PATCH"],
        operation_id="v2_on_calls_event_partial_update",
        parameters=[ID_PARAMETER],
        request=EventSerializer,
        responses={200: EventOutSerializer, **error_responses(400, 404, 422)},
        tags=TAGS,
    )
    @extend_schema(
        methods=["DELETE"], parameters=[ID_PARAMETER], responses={204: None, **error_responses(404)}, tags=TAGS
    )
    @action(detail=True, methods=["get", "patch", "delete"], url_path=r"events/(?P<event_id>[^/]+)")
    def event(self, request: Request, pk: str | None = None, event_id: str = "") -> Response:
        calendar = self.get_object()
        with transaction.atomic():
            event = self._event(calendar, event_id)
            if request.method == "DELETE":
                event.delete()
                return Response(status=status.HTTP_204_NO_CONTENT)
            serializer = EventSerializer(event, data=request.data, partial=True, context=self.get_serializer_context())
            if request.method == "PATCH":
                serializer.is_valid(raise_exception=True)
                fields = serializer.validated_data
                for name, column in (("users", "user_ids"), ("starts_at", "starts_at"), ("ends_at", "ends_at")):
                    if name in fields:
                        setattr(event, column, fields[name])
                event.save()
        return Response(serializer.represent(event, self._users()))

    # --- the rotation -----------------------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        parameters=[ID_PARAMETER],
        responses={200: RotationOutSerializer, **error_responses(404)},
        tags=TAGS,
    )
    @extend_schema(
        methods=["POST", "PUT"],
        parameters=[ID_PARAMETER],
        request=RotationSerializer,
        responses={200: RotationOutSerializer, 201: RotationOutSerializer, **error_responses(400, 404, 422)},
        tags=TAGS,
    )
    @extend_schema(
        methods=["DELETE"], parameters=[ID_PARAMETER], responses={204: None, **error_responses(404)}, tags=TAGS
    )
    @action(detail=True, methods=["get", "post", "put", "delete"])
    def rotation(self, request: Request, pk: str | None = None) -> Response:
        calendar = self.get_object()
        if request.method in ("POST", "PUT"):
            body = RotationSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            with transaction.atomic():
                # Serialised per calendar: two replacements at once leave one rotation, not an error.
                OnCallCalendar.objects.select_for_update().filter(pk=calendar.pk).first()
                fields = dict(body.validated_data)
                fields["user_ids"] = fields.pop("users")
                fields.setdefault("end_rotations_at", None)
                rotation, created = OnCallRotation.objects.update_or_create(calendar=calendar, defaults=fields)
            code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
            return Response(RotationSerializer.represent(rotation, self._users()), status=code)
        rotation = OnCallRotation.objects.filter(calendar=calendar).first()
        if rotation is None:
            raise Http404
        if request.method == "DELETE":
            rotation.delete()
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(RotationSerializer.represent(rotation, self._users()))
