"""The dashboard's tests (tests/reporting) again on PostgreSQL, the production database:
its grouping by local day and hour, durations and text functions are the database's own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.stack import ROOT

pytestmark = pytest.mark.integration


def test_the_dashboard_tests_pass_on_postgres(postgres_url: str) -> None:
    # A database of its own: pytest-django makes it as test_dashboard beside this session's.
    url = f"{postgres_url.rsplit('/', 1)[0]}/dashboard"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reporting"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
