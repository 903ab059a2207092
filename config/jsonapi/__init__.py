"""The JSON:API-like plumbing every Pharos REST endpoint shares (docs/api.md, "General").

Building a new endpoint (say ``/api/v3/channels``) takes three pieces:

1. An attributes serializer deriving from ``config.jsonapi.serializers.AttributesSerializer``:
   its fields are the resource's ``attributes``; ``resource_type`` names the envelope's
   ``type``; ``relationships(instance)`` returns the envelope's ``relationships``. Unknown
   request attributes are rejected with 422 automatically; ``TimestampField`` renders
   ``2026-11-28T06:17:46.000Z``; ``IdField`` reads ids given as numbers or strings and
   writes them as strings.
2. A viewset deriving from ``config.jsonapi.views.ResourceViewSet``: set ``queryset`` (it is
   scoped to the token's team through its ``team`` field — override ``scope_queryset`` when
   the path to the team differs), ``serializer_class`` and, when the defaults do not suit,
   ``pagination_class`` (``Pagination`` is 50/250; ``IncidentPagination`` 10/50). It answers
   list/create/retrieve/partial_update/destroy with the envelope, the status codes of docs/api.md,
   Bearer-token authentication, the per-token rate limit and the error shapes below; creates
   and updates run in one transaction.
3. Decorate the viewset with ``@document_resource(Serializer, "type")`` from
   ``config.jsonapi.schema`` so that /api/schema/ describes the real envelope, then route it
   in ``config/api_urls.py`` with ``config.jsonapi.routers.ResourceRouter``.

Also at hand: ``ResourceViewSet.before_delete(instance)`` runs inside the delete's
transaction; ``actor()`` names the token for ``*_by`` columns; extra ``@action`` views
answer ``self.document(instance)`` or, for computed figures, a document described by
``serializers.singleton_document`` and ``schema.error_responses(400, 404)``;
``ranges.day_range`` parses ``?from=&to=`` days; ``ApiView`` carries the plumbing alone
for a view that is not a resource.

Error bodies (``config.jsonapi.errors``): 401 ``{"errors": "Invalid Team API token"}``,
404 ``{"errors": "Resource with provided ID was not found"}``, 422
``{"errors": {"attribute": ["message"]}}`` (``base`` for errors of the whole object), 400
and 409 a string ``errors``, 429 with ``Retry-After``. Raise ``BadRequest`` or ``Conflict``
from a view for the string-shaped ones.
"""
