"""URL routes: the API under /api/, the admin under /admin/."""

from django.apps import apps
from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView

from rapport.api import api

admin.site.site_header = "rapport administration"
admin.site.site_title = "rapport"

urlpatterns = [
    path("", RedirectView.as_view(url="/api/docs", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
] + (
    # The public unsubscribe and confirmation pages, reached from links sent to customers
    [path("", include("rapport.consent.urls"))] if apps.is_installed("rapport.consent") else []
)


def not_found(request, exception=None):
    """Unknown URLs get the API's JSON error body."""
    return JsonResponse(
        {"error": {"code": "not_found", "message": f"No route {request.path}", "fields": {}}},
        status=404,
    )


handler404 = not_found
