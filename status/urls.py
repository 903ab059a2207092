from django.urls import path

from status.public import site_root, site_root_json, status_page, status_page_json

urlpatterns = [
    path("status/<slug:subdomain>/", status_page, name="status-page"),
    path("status/<slug:subdomain>/index.json", status_page_json, name="status-page-json"),
    # A page's custom domain serves it at its root (deploy/README.md: DNS and proxy).
    path("", site_root, name="site-root"),
    path("index.json", site_root_json, name="site-root-json"),
]
