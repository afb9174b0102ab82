from django.urls import path

from invitations import views

app_name = "invitations"

urlpatterns = [
    path("", views.home, name="home"),
    path("sessions/<int:pk>/", views.session_detail, name="session-detail"),
    path("invitees/<int:pk>/resend/", views.invitee_resend, name="invitee-resend"),
]
