"""Settings loaded in fresh interpreters with an explicit environment.

Settings are computed at import from the environment, so each case runs `manage.py` or a short
script in a subprocess whose environment holds only PATH, HOME, the variables every production
start needs (`REQUIRED`) and the variables under test.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]

# base.py loads BASE_DIR/.env into the environment for variables that are not set; a
# developer's .env must not fill in the variables these tests leave out on purpose.
IGNORE_DOT_ENV = "import environ\nenviron.Env.read_env = classmethod(lambda cls, *a, **k: None)\n"
RUN_MANAGE = (
    IGNORE_DOT_ENV
    + "import runpy, sys\n"
    + "sys.argv = ['manage.py', *sys.argv[1:]]\n"
    + "runpy.run_path('manage.py', run_name='__main__')\n"
)

FERNET_KEY = Fernet.generate_key().decode()
REQUIRED = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "FIELD_ENCRYPTION_KEYS": FERNET_KEY,
    "ALLOWED_HOSTS": "portal.example.com",
    # Nothing listens on port 1: a test that connected would fail loudly.
    "DATABASE_URL": "postgres://u:p@127.0.0.1:1/db",
    "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    "CACHE_URL": "redis://127.0.0.1:1/1",
}


def make_env(settings_module: str = "production", **variables: str | None) -> dict[str, str]:
    """PATH, HOME, the required variables, then `variables` (None removes one)."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "DJANGO_SETTINGS_MODULE": f"agentportal.settings.{settings_module}",
        **REQUIRED,
    }
    for name, value in variables.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(["-c", RUN_MANAGE, *args], env)


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run(["-c", IGNORE_DOT_ENV + "import django\ndjango.setup()\n" + code], env)


def python_json(code: str, env: dict[str, str]) -> dict:
    result = python(code, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
