"""Bearer tokens (invitations/services/tokens.py), the API's only authentication.

Cookies are ignored, so a browser's login session cannot be used here and the endpoints need
no CSRF token. A token acts as its user, read afresh on every request.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer

from invitations.api.errors import unauthorized
from invitations.services.tokens import TokenRefused, api_token_user


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`; anything else is a 401 saying what was wrong."""

    def __call__(self, request: HttpRequest) -> User:
        header = request.headers.get("Authorization", "")
        scheme, _space, raw = header.strip().partition(" ")
        if not header or scheme.lower() != "bearer" or not raw.strip():
            raise unauthorized(
                "not_authenticated", "Send an API token: Authorization: Bearer <token>."
            )
        return self.authenticate(request, raw.strip())

    def authenticate(self, request: HttpRequest, token: str) -> User:
        try:
            return api_token_user(token)
        except TokenRefused as err:
            raise unauthorized("invalid_token", err.message) from err
