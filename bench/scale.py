"""Page times with 100,000 sessions against 1,000, on PostgreSQL.

    .venv/bin/python -m bench.scale [--repeats 5] [--sessions 100000]

Starts a throw-away PostgreSQL (bench/stack.py), loads 1,000 sessions with 3 invitees and one
delivery attempt each (COPY, bench/load_data.py), times the agent pages and the admin
changelists in-process (Django's test client: the server's own work), grows the data to
100,000 sessions and 300,000 invitees, times them again, and prints each page's ratio, then
EXPLAIN ANALYZE of the slowest query of the slowest page. Goal: every page ≤ 2x its 1k time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from bench import stack

GOAL = 2.0


def setup_django(database_url: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="agentportal.settings.base",
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdef",
        FIELD_ENCRYPTION_KEYS="pJ2FhQ0m1Wq7Yx4nZ8cV6bT3rS5uI9oL2kJ1hG0fE7w=",
        ALLOWED_HOSTS="testserver,127.0.0.1",
        CONN_MAX_AGE="600",
        LOG_LEVEL="ERROR",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def pages() -> dict[str, tuple[str, str]]:
    """name -> (who looks, URL)."""
    admin = {
        f"admin {model}": ("admin", f"/admin/invitations/{model}/")
        for model in ("session", "invitee", "deliveryattempt", "auditevent", "agentprofile")
    }
    return {
        "session list (supervisor)": ("supervisor", "/sessions/"),
        "session list (admin)": ("admin", "/sessions/"),
        "session search (admin)": ("admin", "/sessions/?q=T-4242"),
        "dashboard (supervisor)": ("supervisor", "/dashboard/"),
        "dashboard (admin)": ("admin", "/dashboard/?days=30"),
        "home (agent)": ("agent", "/"),
        **admin,
    }


def time_pages(clients: dict[str, Any], repeats: int) -> dict[str, float]:
    medians = {}
    for name, (who, url) in pages().items():
        client = clients[who]
        assert client.get(url).status_code == 200, url  # warm: caches, plans
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(url)
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200, url
        medians[name] = statistics.median(samples)
    return medians


def slowest_query(client: Any, url: str) -> tuple[float, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    return float(slowest["time"]), slowest["sql"]


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=100_000)
    options = parser.parse_args()
    with stack.postgres(options="-c shared_buffers=256MB") as url:
        import psycopg

        server, name = url.rsplit("/", 1)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin_connection:
            admin_connection.execute(f'CREATE DATABASE "{name}"')
        setup_django(url)
        from django.test import Client

        from bench import load_data

        people = load_data.people()
        clients = {}
        for who in ("supervisor", "agent", "admin"):
            user = people[who]
            clients[who] = Client()
            clients[who].force_login(user)

        started = time.monotonic()
        load_data.sessions(1_000, people)
        print(f"loaded 1,000 sessions / 3,000 invitees in {time.monotonic() - started:.1f} s")
        small = time_pages(clients, options.repeats)

        started = time.monotonic()
        load_data.sessions(options.sessions - 1_000, people)
        loaded = time.monotonic() - started
        print(
            f"loaded {options.sessions - 1_000:,} more sessions / "
            f"{3 * (options.sessions - 1_000):,} invitees in {loaded:.1f} s (with ANALYZE)"
        )
        large = time_pages(clients, options.repeats)

        print(f"\n{'page':32} {'1k ms':>8} {f'{options.sessions // 1000}k ms':>9} {'ratio':>6}")
        ratios = {}
        for page in pages():
            ratios[page] = large[page] / small[page]
            print(
                f"{page:32} {small[page] * 1000:8.1f} {large[page] * 1000:9.1f} {ratios[page]:6.2f}"
            )
        worst = max(ratios, key=lambda page: ratios[page])
        slowest_page = max(large, key=lambda page: large[page])
        who, page_url = pages()[slowest_page]
        seconds, sql = slowest_query(clients[who], page_url)
        print(f"\nslowest page: {slowest_page}; its slowest query ({seconds * 1000:.1f} ms):")
        print(sql)
        print(explain(sql))
        ok = ratios[worst] <= GOAL
        print(
            f"RESULT scale: worst ratio {ratios[worst]:.2f}x ({worst}) at "
            f"{options.sessions:,} sessions (goal ≤ {GOAL}x) {'PASS' if ok else 'FAIL'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
