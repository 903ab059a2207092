"""Routes without trailing slashes, as Better Stack's API spells them (``/api/v2/monitors/1``)."""

from rest_framework.routers import SimpleRouter


class ResourceRouter(SimpleRouter):
    def __init__(self) -> None:
        super().__init__(trailing_slash=False)
