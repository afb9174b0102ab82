"""Encryption of partner secrets at rest (Fernet, with a key list for rotation)."""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: set at least one Fernet key.")
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError as err:
            # Never echo the key itself: say which one is wrong.
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key #{position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)."
            ) from err
    return MultiFernet(fernets)


def configured_fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return configured_fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return configured_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as err:
        raise SecretUnreadable(
            "The stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
            "was a key removed before the secret was re-encrypted?"
        ) from err


def rotate(ciphertext: str) -> str:
    """`ciphertext` re-encrypted with the first key of FIELD_ENCRYPTION_KEYS, so that the keys
    after it can be removed; raises SecretUnreadable if no configured key decrypts it."""
    try:
        return configured_fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as err:
        raise SecretUnreadable(
            "The stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."
        ) from err
