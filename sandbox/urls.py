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

app_name = "sandbox"

_ONSYNC_API = r"^onsync/api/(?P<version>[12])/(?P<account>[^/]+)/"
_ONSYNC_FORMAT = r"(?:/format/(?P<fmt>json|xml))?/?$"

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
