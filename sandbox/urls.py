from django.urls import path

from sandbox import views

app_name = "sandbox"

urlpatterns = [
    path(
        "glance/api/SessionInvitation/smsInvite/",
        views.glance_sms_invite,
        name="glance-sms-invite",
    ),
    path("glance/join/<str:session_key>/", views.glance_join, name="glance-join"),
    path("outbox/", views.outbox, name="outbox"),
]
