from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver, include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

admin.site.site_header = "agentportal"
admin.site.site_title = "agentportal"
admin.site.index_title = "Administration"

urlpatterns: list[URLPattern | URLResolver] = [
    # Browsers ask for /favicon.ico where a page names no icon (the API's docs, error pages).
    # Looked up per request: production's static file names carry a hash from the manifest.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("portal/favicon.svg"))),
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
