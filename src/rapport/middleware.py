"""Request guards that run before any API door."""

import re

from django.http import HttpRequest, HttpResponse, JsonResponse

# A NUL written as a JSON escape (an odd number of backslashes before u0000).
JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_in(request: HttpRequest) -> str | None:
    """Where the request carries a NUL character, if anywhere."""
    if "\x00" in request.path:
        return "path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "")
    for name, value in request.headers.items():
        if "\x00" in value:
            return name
    # An upload is streamed to disk, not read whole here; its importer checks the file.
    if request.content_type == "multipart/form-data":
        return None
    if b"\x00" in request.body or JSON_NUL.search(request.body):
        return "body"
    return None


class RejectNulMiddleware:
    """Refuse API input holding NUL: PostgreSQL can neither store nor compare such text."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request) if request.path.startswith("/api/") else None
        if where is None:
            return self.get_response(request)
        message = "The request contains a NUL character"
        body = {"error": {"code": "invalid", "message": message, "fields": {where: message}}}
        return JsonResponse(body, status=422)
