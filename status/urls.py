from django.urls import path

from status.public import status_page, status_page_json

urlpatterns = [
    path("status/<slug:subdomain>/", status_page, name="status-page"),
    path("status/<slug:subdomain>/index.json", status_page_json, name="status-page-json"),
]
