from django.urls import path

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
]
