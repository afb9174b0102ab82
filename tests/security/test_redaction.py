import base64
import re
from urllib.parse import quote, quote_plus

import pytest
import responses

from invitations.providers.base import UpstreamAuthError
from invitations.providers.http import JsonApi
from invitations.security.redaction import REDACTED, redact


def test_known_secret_is_removed_everywhere():
    assert redact("key=abc123 and again abc123", "abc123") == f"key={REDACTED} and again {REDACTED}"


def test_login_keys_and_bearer_tokens_are_removed_without_knowing_them():
    key = "$1$1589912963$z5H7IXHSBEkxbAnDO5wlkuNno4ZgkFcqhAyJnJ577iU"
    text = f"sent Authorization: Bearer GKEY 72&a&{key}"
    scrubbed = redact(text)
    assert "z5H7IX" not in scrubbed
    assert "Bearer GKEY [redacted]" in scrubbed


def test_gssnid_header_value_is_removed():
    scrubbed = redact("{'X-GSSNID': '208859.1588190775.HIM-TWY0'}")
    assert "208859" not in scrubbed


def test_empty_secret_changes_nothing():
    assert redact("plain text", "") == "plain text"


# A secret with characters that URL-encoding changes, long enough for its base64 to be told
# apart from ordinary text.
ODD_SECRET = "Tok+en/with=odd&chars 9%"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    "form",
    [
        quote(ODD_SECRET, safe=""),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(ODD_SECRET, safe="")),
        quote(ODD_SECRET),
        quote_plus(ODD_SECRET),
        base64.b64encode(ODD_SECRET.encode()).decode(),
        base64.urlsafe_b64encode(ODD_SECRET.encode()).decode().rstrip("="),
        _basic("partner", ODD_SECRET),
        base64.urlsafe_b64encode(b"xy" + ODD_SECRET.encode()).decode(),
    ],
    ids=["url", "url-lower", "url-path", "form", "b64", "b64url", "basic-auth", "b64-offset"],
)
def test_url_encoded_and_base64_forms_of_a_secret_are_removed(form):
    assert form != ODD_SECRET
    scrubbed = redact(f"the service said: {form} is wrong", ODD_SECRET)
    assert REDACTED in scrubbed
    assert form not in scrubbed
    # What is left is at most the encoding's edges, never a secret's length of it.
    leftover = scrubbed.removeprefix("the service said: ").removesuffix(" is wrong")
    assert len(leftover.replace(REDACTED, "")) <= len(form) - len(ODD_SECRET)


@responses.activate
def test_an_error_that_echoes_the_url_encoded_token_shows_no_form_of_it():
    url = "https://gateway.invalid/messages"
    echoed = (
        f"token {quote(ODD_SECRET, safe='')} (base64 {base64.b64encode(ODD_SECRET.encode())!r})"
    )
    responses.post(url, status=401, json={"error": echoed})
    api = JsonApi(
        provider="sms-gateway",
        display_name="The SMS gateway",
        label="SMS_GATEWAY_URL",
        secret=ODD_SECRET,
        timeout=(1, 1),
        auth_advice="Check SMS_GATEWAY_TOKEN.",
    )
    with pytest.raises(UpstreamAuthError) as caught:
        api.call("POST", url, json={})
    message = str(caught.value)
    assert "Check SMS_GATEWAY_TOKEN" in message and REDACTED in message
    assert quote(ODD_SECRET, safe="") not in message
    assert base64.b64encode(ODD_SECRET.encode()).decode() not in message
