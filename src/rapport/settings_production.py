"""The production profile: rapport's settings with every deployment safeguard switched on.

Use it with DJANGO_SETTINGS_MODULE=rapport.settings_production; it needs RAPPORT_SECRET_KEY
and ALLOWED_HOSTS, and expects HTTPS in front (a proxy setting X-Forwarded-Proto).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from rapport.settings import *  # noqa: F403

DEBUG = False
if not os.environ.get("RAPPORT_SECRET_KEY"):
    raise ImproperlyConfigured("RAPPORT_SECRET_KEY must be set in production")
if not os.environ.get("ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production (comma-separated)")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Run `rapport collectstatic --noinput` once per release to fill it.
STATIC_ROOT = DATA_DIR / "static"  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
