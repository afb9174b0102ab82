from django.urls import path, re_path

from sandbox import (
    control,
    glance_authorization,
    glance_sessions,
    onsync,
    postmark,
    sms_gateway,
    views,
)
from sandbox.digitalsamba import page as digitalsamba_page
from sandbox.digitalsamba import rooms as digitalsamba_rooms
from sandbox.digitalsamba import sessions as digitalsamba_sessions
from sandbox.digitalsamba import webhooks as digitalsamba_webhooks
from sandbox.digitalsamba.wire import endpoint_not_found as digitalsamba_not_found

app_name = "sandbox"

_ONSYNC_API = r"^onsync/api/(?P<version>[12])/(?P<account>[^/]+)/"
_ONSYNC_FORMAT = r"(?:/format/(?P<fmt>json|xml))?/?$"
_DS_API = r"^digitalsamba/api/v1/"
_DS_ID = r"(?P<{}>[^/]+)"

urlpatterns = [
    path(
        "glance/api/SessionInvitation/smsInvite/",
        views.glance_sms_invite,
        name="glance-sms-invite",
    ),
    # Glance's Authorization Service, at the path Glance's own agent library posts to.
    path(
        "glance/services/AuthorizationService.svc/rest/Authorize",
        glance_authorization.authorize,
        name="glance-authorize",
    ),
    # Glance's Session Service (ASMX) and agent viewer, at the paths Glance's agent library uses.
    path(
        "glance/services/SessionService.asmx/LookupPartnerSession2",
        glance_sessions.lookup_partner_session,
        name="glance-lookup-partner-session",
    ),
    path(
        "glance/services/SessionService.asmx/AgentInSession",
        glance_sessions.agent_in_session,
        name="glance-agent-in-session",
    ),
    path("glance/agentjoin/AgentView.aspx", glance_sessions.agent_view, name="glance-agent-view"),
    path("glance/join/<str:session_key>/", views.glance_join, name="glance-join"),
    # OnSync's API: `/api/1/` (or a white-label host's `/api/2/`), the account, the resource,
    # CodeIgniter-style `/id/<id>` and `/format/json` segments, any trailing slash.
    re_path(
        _ONSYNC_API + r"session" + _ONSYNC_FORMAT,
        onsync.session,
        name="onsync-session",
    ),
    re_path(
        _ONSYNC_API + r"session/id/(?P<session_id>[^/]+)" + _ONSYNC_FORMAT,
        onsync.session_read,
        name="onsync-session-read",
    ),
    re_path(
        _ONSYNC_API + r"invitees/id/(?P<session_id>[^/]+)" + _ONSYNC_FORMAT,
        onsync.invitees,
        name="onsync-invitees",
    ),
    path("onsync/go/<str:account>/<str:friendly_url>/", onsync.join, name="onsync-join"),
    path("onsync/join/<str:token>/", onsync.join_personal, name="onsync-join-personal"),
    # Digital Samba Embedded's REST API (Laravel-style paths, a trailing slash tolerated).
    re_path(_DS_API + r"rooms/?$", digitalsamba_rooms.rooms, name="digitalsamba-rooms"),
    re_path(
        _DS_API + r"rooms/" + _DS_ID.format("room") + r"/?$",
        digitalsamba_rooms.room,
        name="digitalsamba-room-api",
    ),
    re_path(
        _DS_API + r"rooms/" + _DS_ID.format("room") + r"/token/?$",
        digitalsamba_rooms.token,
        name="digitalsamba-room-token",
    ),
    re_path(_DS_API + r"sessions/?$", digitalsamba_sessions.sessions, name="digitalsamba-sessions"),
    re_path(
        _DS_API + r"sessions/" + _DS_ID.format("session_id") + r"/?$",
        digitalsamba_sessions.session,
        name="digitalsamba-session",
    ),
    re_path(
        _DS_API + r"sessions/" + _DS_ID.format("session_id") + r"/participants/?$",
        digitalsamba_sessions.participants,
        name="digitalsamba-session-participants",
    ),
    re_path(
        _DS_API + r"sessions/" + _DS_ID.format("session_id") + r"/end/?$",
        digitalsamba_sessions.end,
        name="digitalsamba-session-end",
    ),
    re_path(_DS_API + r"webhooks/?$", digitalsamba_webhooks.webhooks, name="digitalsamba-webhooks"),
    re_path(
        _DS_API + r"webhooks/" + _DS_ID.format("webhook_id") + r"/?$",
        digitalsamba_webhooks.webhook,
        name="digitalsamba-webhook",
    ),
    re_path(_DS_API + r"events/?$", digitalsamba_webhooks.events, name="digitalsamba-events"),
    # Any other path of the API: Digital Samba's 404 body, logged like the rest.
    re_path(_DS_API, digitalsamba_not_found),
    path(
        "digitalsamba/room/<str:room>",
        digitalsamba_page.room_page,
        name="digitalsamba-room",
    ),
    path("sms-gateway/messages", sms_gateway.messages, name="sms-gateway-messages"),
    path(
        "sms-gateway/messages/<str:message_id>/receipt",
        sms_gateway.receipt,
        name="sms-gateway-receipt",
    ),
    # Postmark's send API (for django-anymail's Postmark backend); no trailing slash either.
    path("postmark/email", postmark.email, name="postmark-email"),
    path("outbox/", views.outbox, name="outbox"),
    # The sandbox's own controls: fault rules and the log of upstream requests.
    path("faults/", control.fault_rules, name="faults"),
    path("requests/", control.request_log, name="requests"),
]
