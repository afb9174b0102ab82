from django.urls import path

from invitations.web import views

app_name = "invitations"

urlpatterns = [
    path("", views.home, name="home"),
    path("invite/", views.home, name="invite"),
    path("sessions/", views.session_list, name="session-list"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("sessions/<int:pk>/invite/", views.session_invite, name="session-invite"),
    path("sessions/<int:pk>/invitees/", views.session_invitees, name="session-invitees"),
    path("sessions/<int:pk>/end/", views.session_end, name="session-end"),
    path("sessions/<int:pk>/join/", views.session_join, name="session-join"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("preview/", views.message_preview, name="message-preview"),
    path("invitees/<int:pk>/resend/", views.invitee_resend, name="invitee-resend"),
]
