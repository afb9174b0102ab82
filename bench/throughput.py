"""Invitations per second through real Celery workers.

    .venv/bin/python -m bench.throughput [--runs 3] [--invitees 1000]

PostgreSQL, Redis, gunicorn (portal and sandbox) and one Celery worker with 4 pool processes
(bench/production_stack.py); the sandbox's Glance answers every invitation after 100 ms, so 4
processes can at best deliver 40 invitations per second. Each run is `manage.py bulk_invite` of
a CSV of distinct numbers; deliveries/s counts from the first delivery attempt's start to the
last one's end. Every run checks for duplicates (an SMS sent twice) and losses (an invitee not
sent). Goal: at least 75 % of the ideal 40/s, with none of either.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from bench import stack
from bench.production_stack import production_stack, wait_until

PROCESSES = 4
UPSTREAM_SECONDS = 0.1
IDEAL = PROCESSES / UPSTREAM_SECONDS
GOAL = 0.75


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--invitees", type=int, default=1000)
    parser.add_argument("--prefetch", type=int, default=1, help="CELERY_WORKER_PREFETCH_MULTIPLIER")
    options = parser.parse_args()
    rates: list[float] = []
    duplicates_in_all = lost_in_all = extra_rows_in_all = 0
    with production_stack(
        worker_concurrency=PROCESSES, CELERY_WORKER_PREFETCH_MULTIPLIER=options.prefetch
    ) as portal:
        portal.set_sandbox_delay(UPSTREAM_SECONDS)
        portal.use_database_here()
        from django.db.models import Max, Min, QuerySet

        from invitations import states
        from invitations.models import DeliveryAttempt, DeliveryStatus, Invitee
        from sandbox.models import OutboxMessage

        for run in range(1, options.runs + 1):
            numbers = [f"+1415{2 + run}{n:06d}" for n in range(options.invitees)]
            source = portal.folder / f"run-{run}.csv"
            source.write_text("phone,name\n" + "".join(f"{n},Customer {n}\n" for n in numbers))
            before = Invitee.objects.count()
            started = time.monotonic()
            stack.manage(portal.env, "bulk_invite", str(source), "--agent", "agent")
            queued = time.monotonic()
            batch = Invitee.objects.filter(destination__in=numbers)

            def finished(batch: QuerySet[Invitee] = batch) -> bool:
                return not batch.filter(status__in=states.IN_FLIGHT).exists()

            done = wait_until(finished, timeout=600, what="every delivery of the run")
            span = DeliveryAttempt.objects.filter(invitee__in=batch).aggregate(
                first=Min("started_at"), last=Max("finished_at")
            )
            seconds = (span["last"] - span["first"]).total_seconds()
            # Each attempt's own time: the upstream call and the rows around it.
            attempt_ms = statistics.median(
                latency or 0
                for latency in DeliveryAttempt.objects.filter(invitee__in=batch).values_list(
                    "latency_ms", flat=True
                )
            )
            rate = options.invitees / seconds
            rates.append(rate)
            sent = batch.filter(status=DeliveryStatus.SENT).count()
            messages = Counter(
                OutboxMessage.objects.filter(to__in=numbers).values_list("to", flat=True)
            )
            duplicates = sum(count - 1 for count in messages.values() if count > 1)
            lost = options.invitees - sent
            duplicates_in_all += duplicates
            lost_in_all += lost
            extra_rows_in_all += Invitee.objects.count() - before - options.invitees
            print(
                f"run {run}: {options.invitees} invitees, bulk_invite queued them in "
                f"{queued - started:.1f} s, all final {done - started:.1f} s after the start; "
                f"deliveries {seconds:.1f} s = {rate:.1f}/s ({rate / IDEAL * 100:.0f} % of "
                f"{IDEAL:.0f}/s); sent {sent}, SMS in the sandbox {sum(messages.values())}, "
                f"duplicates {duplicates}, lost {lost}; median attempt {attempt_ms:.0f} ms, "
                f"so {PROCESSES / rate * 1000 - attempt_ms:.0f} ms per task outside it"
            )
    median = statistics.median(rates)
    ok = median / IDEAL >= GOAL and duplicates_in_all == lost_in_all == extra_rows_in_all == 0
    print(
        f"RESULT throughput: median {median:.1f}/s = {median / IDEAL * 100:.0f} % of "
        f"{IDEAL:.0f}/s (goal ≥ {GOAL * 100:.0f} %); in all runs {duplicates_in_all} duplicates, "
        f"{lost_in_all} lost, {extra_rows_in_all} extra invitees (goal: 0 of each) "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    stack.run_main(main)
