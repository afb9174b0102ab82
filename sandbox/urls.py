from django.urls import path

from sandbox import control, onsync, postmark, sms_gateway, views

app_name = "sandbox"

urlpatterns = [
    path(
        "glance/api/SessionInvitation/smsInvite/",
        views.glance_sms_invite,
        name="glance-sms-invite",
    ),
    path("glance/join/<str:session_key>/", views.glance_join, name="glance-join"),
    # OnSync's paths have no trailing slash, as the contract writes them.
    path("onsync/session", onsync.session_create, name="onsync-session-create"),
    path("onsync/session/<str:session_id>", onsync.session_detail, name="onsync-session"),
    path(
        "onsync/session/<str:session_id>/invitees",
        onsync.session_invitees,
        name="onsync-session-invitees",
    ),
    path("onsync/join/<str:session_id>/", onsync.join, name="onsync-join"),
    path(
        "onsync/join/<str:session_id>/p/<str:token>/",
        onsync.join_personal,
        name="onsync-join-personal",
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
