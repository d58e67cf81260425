"""The public pages of consent, mounted at the site's root by rapport.urls."""

from django.urls import path

from rapport.consent import views

app_name = "consent"

urlpatterns = [
    path("unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"),
    path("confirm/<str:token>", views.confirm, name="confirm"),
]
