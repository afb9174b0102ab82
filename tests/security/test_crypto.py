import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from invitations.models import PartnerCredential
from invitations.security import crypto


def test_secret_is_encrypted_at_rest_and_readable_back(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    credential = PartnerCredential()
    credential.set_secret("the-api-key")
    assert "the-api-key" not in credential.secret_ciphertext
    assert credential.reveal_secret() == "the-api-key"


def test_old_keys_keep_decrypting_after_a_new_key_is_put_first(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    ciphertext = crypto.encrypt("s3cret")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(ciphertext) == "s3cret"
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(ciphertext)


def test_a_malformed_key_is_a_clear_configuration_error_that_does_not_echo_it(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), "not-a-key-xyz"]
    with pytest.raises(ImproperlyConfigured, match="key #2") as caught:
        crypto.encrypt("x")
    assert "not-a-key-xyz" not in str(caught.value)


def test_system_check_reports_bad_keys(settings):
    from invitations.checks import check_encryption_keys

    settings.FIELD_ENCRYPTION_KEYS = []
    [error] = check_encryption_keys()
    assert error.id == "invitations.E001"
