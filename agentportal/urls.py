from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

admin.site.site_header = "agentportal"
admin.site.site_title = "agentportal"
admin.site.index_title = "Administration"

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/", include("invitations.api.urls")),
    path("webhooks/", include("invitations.webhooks.urls")),
    path("", include("invitations.web.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
