"""Headers every page carries (Content-Security-Policy, no-store for signed-in pages), the
session lifetime, and start-up without development secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from invitations import services

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def session_pages(agent, locmem_upstream, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    session = invitee.session
    return [
        reverse("invitations:home"),
        reverse("invitations:invite") + "?phone=%2B14155550134",
        reverse("invitations:session-list"),
        session.get_absolute_url(),
        reverse("invitations:session-invitees", args=[session.pk]),
        reverse("invitations:message-preview") + f"?session={session.pk}",
    ]


def test_every_page_has_an_enforced_policy_without_inline_script(agent_client, session_pages):
    for url in [*session_pages, reverse("login"), "/admin/login/"]:
        response = Client().get(url) if "login" in url else agent_client.get(url)
        assert response.status_code == 200, url
        policy = response.headers["Content-Security-Policy"]
        assert "Content-Security-Policy-Report-Only" not in response.headers
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval'
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        html = response.content.decode()
        assert "<script>" not in html and " onclick=" not in html and " style=" not in html


def test_signed_in_pages_are_never_stored(agent_client, session_pages):
    for url in session_pages:
        cache_control = agent_client.get(url).headers.get("Cache-Control", "")
        assert "no-store" in cache_control and "private" in cache_control, url


def test_a_session_lasts_a_working_day(agent_client, settings):
    assert settings.SESSION_COOKIE_AGE == 9 * 60 * 60
    response = Client().post(
        reverse("login"), {"username": "ann", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["max-age"] == 9 * 60 * 60


def start(code, **variables):
    """`code` in a fresh interpreter with only PATH, HOME and `variables` (no .env file)."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": "/nonexistent", **variables}
    ignore_dot_env = "import environ\nenviron.Env.read_env = classmethod(lambda c, *a, **k: 0)\n"
    return subprocess.run(
        [sys.executable, "-c", ignore_dot_env + code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "variables",
    [
        # gunicorn agentportal.wsgi with nothing set: the production settings, which need secrets.
        {},
        {"DEBUG": "true"},
        # Explicitly the development settings, but DEBUG off: no development key either.
        {"DJANGO_SETTINGS_MODULE": "agentportal.settings.base", "DEBUG": "false"},
    ],
)
def test_the_wsgi_application_never_starts_with_development_secrets(variables):
    result = start("import agentportal.wsgi", **variables)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last and "SECRET_KEY" in last


def test_manage_py_without_debug_refuses_development_secrets():
    result = start(
        "import runpy, sys\nsys.argv = ['manage.py', 'check']\n"
        "runpy.run_path('manage.py', run_name='__main__')\n",
        DEBUG="false",
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr.strip().splitlines()[-1]


def test_manage_py_with_nothing_set_is_the_embedded_default(tmp_path):
    """`make run` sets nothing: manage.py still starts on the development settings."""
    result = start(
        "import runpy, sys\nsys.argv = ['manage.py', 'check']\n"
        "runpy.run_path('manage.py', run_name='__main__')\n",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
