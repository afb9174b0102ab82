"""URLs of the JSON API, mounted at /api/v1/. Every pattern here is described in
docs/openapi.json (tests/test_api.py checks both ways)."""

from django.urls import path, re_path

from invitations import api

app_name = "api"

urlpatterns = [
    path("sessions/", api.sessions, name="sessions"),
    path("sessions/<int:session_id>/", api.session_detail, name="session-detail"),
    path("sessions/<int:session_id>/invitees/", api.session_invitees, name="session-invitees"),
    path("sessions/<int:session_id>/end/", api.session_end, name="session-end"),
    path("invitees/<int:invitee_id>/", api.invitee_detail, name="invitee-detail"),
    path("invitees/<int:invitee_id>/resend/", api.invitee_resend, name="invitee-resend"),
    # Last: a JSON 404 for anything else under /api/v1/ (not an endpoint, not documented).
    re_path(r"^(?P<path>.*)$", api.not_found, name="not-found"),
]
