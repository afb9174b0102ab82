"""The GKEY login key, checked against vectors computed outside Python:

    printf '%s' '<partnerid><puid>1<expiration>' | openssl dgst -sha256 -hmac '<api key>' -binary \
        | base64 | tr '+/' '-_' | tr -d '='
"""

from urllib.parse import unquote

import pytest

from invitations.providers.base import (
    InvitationRequest,
    ProviderAccount,
    UpstreamConfigurationError,
)
from invitations.providers.glance import GlanceClient, gkey_token, login_key


@pytest.mark.parametrize(
    ("partner_user_id", "api_key", "signature"),
    [
        ("agent-1001", "sandbox-demo-api-key-0001", "Yr7VxIKyJT4BignafoZQBYXAGuY6S6Yfbedy2de7TDk"),
        # A puid with a space, a slash and a non-ASCII letter is signed as UTF-8, unencoded.
        ("98 4-ABC/é", "demo-api-key", "kshWs0MlOTehtUgC_RB8vnwdVZjVgfOnaae5JNWIQBE"),
    ],
)
def test_login_key_matches_independently_computed_vector(partner_user_id, api_key, signature):
    key = login_key(
        partner_id=72, partner_user_id=partner_user_id, api_key=api_key, expiration=1700000000
    )
    assert key == f"$1$1700000000${signature}"
    assert len(signature) == 43


def test_gkey_token_url_encodes_the_partner_user_id_only():
    token = gkey_token(partner_id=72, partner_user_id="98 4-ABC/é&x", key="$1$5$sig")
    partner, encoded_puid, key = token.split("&")
    assert partner == "72"
    assert encoded_puid == "98%204-ABC%2F%C3%A9%26x"
    assert unquote(encoded_puid) == "98 4-ABC/é&x"
    assert key == "$1$5$sig"


def _account(secret="k"):
    return ProviderAccount(
        label="t", base_url="https://glance.invalid", group_id=72, auth_type="gkey", secret=secret
    )


def test_authorization_header_carries_a_fresh_short_lived_key():
    client = GlanceClient(account=_account(), login_key_lifetime=300, clock=lambda: 1_000_000.7)
    header = client._authorization("agent 1")
    assert header.startswith("Bearer GKEY 72&agent%201&$1$1000300$")
    expected = login_key(partner_id=72, partner_user_id="agent 1", api_key="k", expiration=1000300)
    assert header == f"Bearer GKEY 72&agent%201&{expected}"


@pytest.mark.parametrize("lifetime", [0, -5, 86_401])
def test_login_key_lifetime_is_bounded_to_one_day(lifetime):
    with pytest.raises(UpstreamConfigurationError, match="GLANCE_LOGIN_KEY_LIFETIME"):
        GlanceClient(account=_account(), login_key_lifetime=lifetime)


def test_missing_api_key_is_a_configuration_error_before_any_request():
    client = GlanceClient(account=_account(secret=""))
    request = InvitationRequest(
        channel="sms", destination="+14155550134", agent_id="a", session_type=1
    )
    with pytest.raises(UpstreamConfigurationError, match="has no API key"):
        client.send_invitation(request)
