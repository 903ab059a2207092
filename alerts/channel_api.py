"""``/api/v3/channels``: the team's notification channels (a Pharos addition, in docs/api.md).

Attributes: ``name``, ``kind`` (one of the registry's kinds, fixed at creation),
``config`` (shown back), ``secrets`` (write-only: never in any response; ``secret_names``
says which are set), ``enabled``, ``user_id`` (a member's own channel, reached by the
simple ``push`` flag), ``created_at``, ``updated_at``, ``team_name``.

A PATCH replaces ``config`` and merges ``secrets`` key by key (a key set to null is
removed), because a client cannot read the secrets it would otherwise have to resend.
The kind's handler validates the result, so the API accepts exactly what delivery sends.
"""

import json
from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from alerts import channels as registry
from alerts.models import Channel, ChannelKind
from config.jsonapi.fields import NameField
from config.jsonapi.schema import document_resource
from config.jsonapi.serializers import AttributesSerializer, IdField
from config.jsonapi.timestamps import TimestampField
from config.jsonapi.views import ResourceViewSet


class ChannelSerializer(AttributesSerializer):
    resource_type = "channel"

    name = NameField(max_length=200, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=ChannelKind.values)
    config = serializers.DictField(required=False)
    secrets = serializers.DictField(required=False, write_only=True)
    secret_names = serializers.SerializerMethodField()
    enabled = serializers.BooleanField(required=False)
    user_id = IdField(required=False, allow_null=True)
    created_at = TimestampField(read_only=True)
    updated_at = TimestampField(read_only=True)
    team_name = serializers.CharField(source="team.name", read_only=True)

    def get_secret_names(self, channel: Channel) -> list[str]:
        return sorted(channel.secrets or {})

    def validate_kind(self, kind: str) -> str:
        if self.instance is not None and kind != self.instance.kind:
            raise serializers.ValidationError("can't be changed; create a new channel instead")
        return kind

    def validate_user_id(self, user_id: int | None) -> int | None:
        if (
            user_id is not None
            and not get_user_model().objects.filter(pk=user_id, memberships__team=self.team).exists()
        ):
            raise serializers.ValidationError("is not a member of this team")
        return user_id

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = self.current(attrs, "kind")
        config = self.current(attrs, "config", {}) or {}
        secrets = dict(self.instance.secrets) if self.instance is not None else {}
        for name, value in (attrs.get("secrets") or {}).items():
            if value is None:
                secrets.pop(name, None)
            else:
                secrets[name] = value
        bounded = _unstorable(config=config, secrets=secrets)
        if bounded:
            raise serializers.ValidationError(bounded)
        errors = registry.validate(kind, config, secrets)
        if errors:
            raise serializers.ValidationError(errors)
        attrs["secrets"] = secrets
        return attrs

    def create(self, validated: dict[str, Any]) -> Channel:
        channel: Channel = Channel.objects.create(team=self.team, **validated)
        return channel

    def update(self, channel: Channel, validated: dict[str, Any]) -> Channel:
        for name, value in validated.items():
            setattr(channel, name, value)
        channel.save()
        return channel


@document_resource(ChannelSerializer, "channel", tags=["Notification channels"])
class ChannelViewSet(ResourceViewSet):
    """Where alerts go besides team members' email and phones: webhooks, chat, PagerDuty, push."""

    queryset = Channel.objects.select_related("team").order_by("id")
    serializer_class = ChannelSerializer


CHANNEL_JSON_LIMIT = 10_000


def _unstorable(**documents: object) -> dict[str, list[str]]:
    """Free-form JSON the database cannot hold (PostgreSQL's jsonb refuses NUL) or that
    is larger than any real channel needs, as errors by attribute."""
    errors = {}
    for name, document in documents.items():
        text = json.dumps(document)
        if "\\u0000" in text:
            errors[name] = ["must not contain NUL characters"]
        elif len(text) > CHANNEL_JSON_LIMIT:
            errors[name] = [f"must be at most {CHANNEL_JSON_LIMIT} characters of JSON"]
    return errors
