from invitations.redaction import REDACTED, redact


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
