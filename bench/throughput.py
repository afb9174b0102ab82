"""Invitations per second through real Celery workers, with Glance and with Digital Samba.

    .venv/bin/python -m bench.throughput [--rounds 2] [--invitees 2000] [--case glance ...]

PostgreSQL, Redis, gunicorn (portal and sandbox), one Celery worker with 4 pool processes for
the deliveries (`-Q celery`) and one with 2 for Glance's presence lookups (`-Q presence`), as
docs/production.md runs them (bench/production_stack.py). Every upstream request the
sandbox receives is answered after 100 ms. Each round runs `manage.py bulk_invite` of a CSV
of distinct numbers once per case, the cases alternating:

- glance: the demo Glance credential; one upstream call per invitee (smsInvite, Glance sends
  the SMS), so 4 processes can at best deliver 4 / 0.1 s = 40 invitations per second.
- digitalsamba: the demo Digital Samba credential; two upstream calls per invitee (a private
  room, whose link the portal signs, then the SMS with it through the SMS gateway), so at
  best 4 / 0.2 s = 20 per second.

The rate counts from the first delivery attempt's start to the last one's end; `bulk_invite`
queues invitations while the workers deliver them (it is printed how long it took). Every
round checks the outcome twice, in the portal's database (an invitee and a session per
number, each sent once) and in the sandbox's own records (the SMS it received per number, the
upstream requests per invitee). Goals (median of rounds): glance ≥ 90 % of its ideal rate,
digitalsamba ≥ 85 %, and in every round 0 duplicates, 0 lost and 0 extra rows.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from dataclasses import dataclass

from bench import stack
from bench.production_stack import ProductionStack, production_stack, wait_until

PROCESSES = 4
PRESENCE_PROCESSES = 2
UPSTREAM_SECONDS = 0.1


@dataclass(frozen=True)
class Case:
    name: str
    credential: str
    # The calls one delivery makes, once each, to the sandbox's upstream APIs (target: a part
    # of the path called); each of these targets answers after UPSTREAM_SECONDS.
    upstream: dict[str, str]
    goal: float  # the share of the ideal rate to reach

    @property
    def ideal(self) -> float:
        return PROCESSES / (len(self.upstream) * UPSTREAM_SECONDS)


CASES = (
    Case("glance", "demo-glance", {"glance": "/smsInvite/"}, 0.90),
    Case(
        "digitalsamba",
        "demo-digitalsamba",
        {"digitalsamba": "/rooms", "sms-gateway": "/messages"},
        0.85,
    ),
)


@dataclass
class Round:
    rate: float
    duplicates: int
    lost: int
    extra_rows: int


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, choices=range(1, 8))
    parser.add_argument("--invitees", type=int, default=2000)
    parser.add_argument(
        "--case", choices=[case.name for case in CASES], action="append", help="default: all"
    )
    options = parser.parse_args()
    cases = [case for case in CASES if options.case is None or case.name in options.case]
    measured: dict[str, list[Round]] = {case.name: [] for case in cases}
    with production_stack(
        worker_concurrency=PROCESSES, presence_worker_concurrency=PRESENCE_PROCESSES
    ) as portal:
        portal.use_database_here()
        for number in range(1, options.rounds + 1):
            for index, case in enumerate(cases):
                # +1415 3 0 00000: a valid exchange (its first digit 2 to 9) per round and case.
                batch = f"{2 + number}{index}"
                measured[case.name].append(run(portal, case, options.invitees, batch))
    ok = True
    for case in cases:
        rounds = measured[case.name]
        median = statistics.median(r.rate for r in rounds)
        duplicates = sum(r.duplicates for r in rounds)
        lost = sum(r.lost for r in rounds)
        extra = sum(r.extra_rows for r in rounds)
        passed = median / case.ideal >= case.goal and duplicates == lost == extra == 0
        ok = ok and passed
        print(
            f"RESULT throughput {case.name}: median {median:.1f}/s = "
            f"{median / case.ideal * 100:.0f} % of {case.ideal:.0f}/s (goal ≥ "
            f"{case.goal * 100:.0f} %) over {len(rounds)} rounds of {options.invitees}; "
            f"{duplicates} duplicates, {lost} lost, {extra} extra rows (goal: 0 of each) "
            f"{'PASS' if passed else 'FAIL'}"
        )
    return 0 if ok else 1


def run(portal: ProductionStack, case: Case, invitees: int, batch: str) -> Round:
    """One `bulk_invite` of `invitees` new numbers with `case`'s credential, checked."""
    from django.db.models import Max, Min, QuerySet
    from django.utils import timezone

    from invitations import states
    from invitations.models import AttemptOutcome, DeliveryAttempt, Invitee, Session
    from sandbox.models import OutboxMessage, SandboxRequest

    portal.set_sandbox_delay(UPSTREAM_SECONDS, targets=tuple(case.upstream))
    numbers = [f"+1415{batch}{n:05d}" for n in range(invitees)]
    source = portal.folder / f"{case.name}-{batch}.csv"
    source.write_text("phone,name\n" + "".join(f"{n},Customer {n}\n" for n in numbers))
    invitees_before, sessions_before = Invitee.objects.count(), Session.objects.count()
    last_request = SandboxRequest.objects.aggregate(last=Max("id"))["last"] or 0
    started = time.monotonic()
    stack.manage(
        portal.env, "bulk_invite", str(source), "--agent", "agent", "--credential", case.credential
    )
    queued = time.monotonic()
    invited = Invitee.objects.filter(destination__in=numbers)

    def finished(invited: QuerySet[Invitee] = invited) -> bool:
        return not invited.filter(status__in=states.IN_FLIGHT).exists()

    done = wait_until(finished, timeout=1200, what=f"every {case.name} delivery")
    attempts = DeliveryAttempt.objects.filter(invitee__in=invited)
    span = attempts.aggregate(first=Min("started_at"), last=Max("finished_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    rate = invitees / seconds
    # Each attempt's own time: the upstream calls and the rows around them.
    attempt_ms = statistics.median(
        latency or 0 for latency in attempts.values_list("latency_ms", flat=True)
    )

    # The portal's database: one invitee and one session per number, each sent, once.
    rows_per_number = Counter(invited.values_list("destination", flat=True))
    sends = Counter(
        attempts.filter(outcome=AttemptOutcome.SENT).values_list("invitee_id", flat=True)
    )
    sent = len(sends)
    sent_twice = sum(count - 1 for count in sends.values())
    extra_rows = (
        sum(count - 1 for count in rows_per_number.values())
        + (Invitee.objects.count() - invitees_before - invitees)
        + (Session.objects.count() - sessions_before - invitees)
    )
    # The sandbox's own records: an SMS per number, each delivery call once per invitee.
    messages = Counter(OutboxMessage.objects.filter(to__in=numbers).values_list("to", flat=True))
    sms_twice = sum(count - 1 for count in messages.values() if count > 1)
    requests = SandboxRequest.objects.filter(id__gt=last_request)
    received = {
        target: requests.filter(target=target, path__contains=path).count()
        for target, path in case.upstream.items()
    }
    extra_calls = sum(max(count - invitees, 0) for count in received.values())
    # Glance's session lookups (is the customer in yet?), which run on the same workers.
    lookups = requests.filter(path__contains="LookupPartnerSession").count()
    # Ending the round's sessions stops their presence lookups, so that the next round works
    # beside its own lookups only, not also those of every round before it.
    Session.objects.filter(invitees__in=invited).update(ended_at=timezone.now())
    duplicates = sent_twice + sms_twice + extra_calls
    lost = max(invitees - sent, len(set(numbers) - set(messages)))
    print(
        f"{case.name} {batch}: {invitees} invitees, bulk_invite queued them in "
        f"{queued - started:.1f} s ({invitees / (queued - started):.0f}/s), all final "
        f"{done - started:.1f} s after its start; deliveries {seconds:.1f} s = {rate:.1f}/s "
        f"({rate / case.ideal * 100:.0f} % of {case.ideal:.0f}/s); median attempt "
        f"{attempt_ms:.0f} ms, so {PROCESSES / rate * 1000 - attempt_ms:.0f} ms per task "
        f"outside it.\n  database: sent {sent}, sent twice {sent_twice}, extra rows "
        f"{extra_rows}; sandbox: SMS {sum(messages.values())} to {len(messages)} numbers, "
        f"delivery requests {received}, presence lookups meanwhile {lookups}",
        flush=True,
    )
    return Round(rate=rate, duplicates=duplicates, lost=lost, extra_rows=extra_rows)


if __name__ == "__main__":
    stack.run_main(main)
