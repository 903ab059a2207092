from django.urls import re_path

from teams import views

urlpatterns = [
    # Feed tokens are URL-safe base64; anything else falls through to the 404.
    re_path(r"^on-call/(?P<token>[A-Za-z0-9_-]{16,64})\.ics$", views.calendar_feed, name="on-call-feed"),
]
