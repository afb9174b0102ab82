"""gunicorn with the production settings, on the real PostgreSQL and Redis of this session."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests
from cryptography.fernet import Fernet

from bench import stack
from bench.stack import ROOT, free_port, serving

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def production_server(redis_url, tmp_path, settings):
    from django.db import connection

    database = connection.settings_dict
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "agentportal.settings.production",
        "SECRET_KEY": "production-test-" + "k" * 50,
        # The same keys as this session, so secrets stored by the tests can be read.
        "FIELD_ENCRYPTION_KEYS": ",".join(
            [*settings.FIELD_ENCRYPTION_KEYS, Fernet.generate_key().decode()]
        ),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "CELERY_BROKER_URL": f"{redis_url}/0",
        "CACHE_URL": f"{redis_url}/1",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    command = stack.gunicorn(
        port,
        "--config",
        "python:agentportal.gunicorn_conf",
        "--workers",
        "2",
        "--log-level",
        "warning",
    )
    with (
        (tmp_path / "access.log").open("w") as access_log,
        serving(
            command,
            port=port,
            timeout=30,
            what="gunicorn",
            cwd=ROOT,
            env=env,
            stdout=access_log,
        ),
    ):
        yield f"http://127.0.0.1:{port}"


def test_gunicorn_serves_the_portal_over_https_only(
    production_server, make_agent, credential, settings
):
    from django.conf import global_settings

    # The server checks the password with the production hashers.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    base = production_server
    https = {"X-Forwarded-Proto": "https"}
    plain = requests.get(f"{base}/accounts/login/", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

    login_page = requests.get(f"{base}/accounts/login/", headers=https, timeout=10)
    assert login_page.status_code == 200
    assert "Strict-Transport-Security" in login_page.headers
    csrf_cookie = login_page.cookies["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
    assert token

    make_agent(username="ann", password="a-long-password-42", credential=credential)
    logged_in = requests.post(
        f"{base}/accounts/login/",
        data={
            "username": "ann",
            "password": "a-long-password-42",
            "csrfmiddlewaretoken": token.group(1),
        },
        headers={
            **https,
            "Cookie": f"csrftoken={csrf_cookie}",
            "Referer": f"https://127.0.0.1:{base.rsplit(':', 1)[1]}/accounts/login/",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert logged_in.status_code == 302, logged_in.text[:500]
    session = logged_in.cookies["sessionid"]
    home = requests.get(f"{base}/", headers={**https, "Cookie": f"sessionid={session}"}, timeout=10)
    assert home.status_code == 200
    assert "Send SMS" in home.text  # the agent, profile and credential come from PostgreSQL

    css = requests.get(f"{base}/static/admin/css/base.css", headers=https, timeout=10)
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
    assert requests.get(f"{base}/sandbox/outbox/", headers=https, timeout=10).status_code == 404


def test_the_access_log_keeps_no_query_string(production_server, tmp_path):
    """A CRM deep link carries the customer's number and name in its query string."""
    https = {"X-Forwarded-Proto": "https"}
    deep_link = f"{production_server}/invite/?phone=%2B447911123456&name=Ann+Lee"
    response = requests.get(deep_link, headers=https, allow_redirects=False, timeout=10)
    assert response.status_code == 302  # to the login page, which keeps it in `next`
    log = tmp_path / "access.log"
    deadline = time.monotonic() + 5
    while "/invite/" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    text = log.read_text()
    assert '"GET /invite/ HTTP/1.1" 302' in text
    assert "447911123456" not in text and "Ann" not in text
