from django.urls import path, re_path

from status.badges import badge
from status.feeds import site_root_feed, status_page_feed
from status.public import site_root, site_root_json, status_page, status_page_json
from status.subscriptions import confirm, subscribe, unsubscribe

urlpatterns = [
    path("status/<slug:subdomain>/", status_page, name="status-page"),
    path("status/<slug:subdomain>/index.json", status_page_json, name="status-page-json"),
    path("status/<slug:subdomain>/subscribe", subscribe, name="status-subscribe"),
    path("status/<slug:subdomain>/confirm/<str:token>/", confirm, name="status-confirm"),
    path("status/<slug:subdomain>/unsubscribe/<str:token>/", unsubscribe, name="status-unsubscribe"),
    # A page's custom domain serves it at its root (deploy/README.md: DNS and proxy).
    path("", site_root, name="site-root"),
    path("index.json", site_root_json, name="site-root-json"),
    path("status/<slug:subdomain>/feed.atom", status_page_feed, name="status-page-feed"),
    path("feed.atom", site_root_feed, name="site-root-feed"),
    # A monitor's or heartbeat's public badge: as an image, or for shields.io's "endpoint" badge.
    re_path(r"^badge/(?P<token>[A-Za-z0-9_-]{1,64})\.(?P<kind>svg|json)$", badge, name="status-badge"),
]
