"""Test settings: the embedded default (base.py) with the changes every test wants.

pytest loads them (`--ds` in pyproject.toml). Processes the tests start themselves (`manage`,
gunicorn, Celery workers) name their own settings, usually the embedded default.
"""

from agentportal.settings.base import *  # noqa: F403

# Tests create many users; production hashing would dominate the suite's time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The embedded default recovers lost deliveries on the first request of each process
# (invitations/web/recovery.py), which would add queries to whichever request a test counts.
# tests/test_stuck_recovery.py turns it back on.
REQUEUE_STUCK_AUTOMATICALLY = False

# SMS ask for delivery receipts only in tests that point this at their own live server: the
# sandbox's default would post them to whatever runs on port 8000.
SMS_STATUS_CALLBACK_URL = ""
