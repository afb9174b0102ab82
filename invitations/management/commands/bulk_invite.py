import csv
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from tqdm import tqdm

from invitations import services
from invitations.errors import InvitationError
from invitations.management.commands._shared import agent_named, credential_named

RESULT_COLUMNS = ["line", "destination", "status", "session_key", "error"]


class Command(BaseCommand):
    help = (
        "Invite everyone listed in a CSV file as one agent. The first line names the columns: "
        "phone and/or email (the phone number is used when the credential sends SMS), "
        "optionally name and ticket. Bad rows are reported and skipped; running the same file "
        "again sends nothing to people it already invited. Writes one result line per row to "
        "--results and exits 1 if any row was bad."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("csv", type=Path, metavar="CSV")
        parser.add_argument("--agent", required=True, metavar="USERNAME")
        parser.add_argument("--credential", metavar="LABEL")
        parser.add_argument(
            "--results", type=Path, metavar="PATH", help="default: <CSV>.results.csv"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="validate every row; write nothing to the database and send nothing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["csv"]
        results_path: Path = options["results"] or source.with_name(source.name + ".results.csv")
        if results_path.resolve() == source.resolve():
            raise CommandError("--results must not be the input file.")
        agent = agent_named(options["agent"])
        credential = credential_named(options["credential"])
        try:
            with source.open(encoding="utf-8-sig", newline="") as stream:
                rows = services.bulk_rows_read(stream=stream)
        except OSError as err:
            raise CommandError(f"Cannot read {source}: {err.strerror or err}.") from err
        except UnicodeDecodeError as err:
            raise CommandError(f"{source} is not UTF-8 text.") from err
        except InvitationError as err:
            raise CommandError(f"{source}: {err.message}") from err
        if not rows:
            raise CommandError(f"{source} has no rows below the column names.")

        try:
            results_file = results_path.open("w", encoding="utf-8", newline="")
        except OSError as err:
            raise CommandError(f"Cannot write {results_path}: {err.strerror or err}.") from err
        with results_file, _progress(self.stderr, total=len(rows)) as bar:
            writer = csv.writer(results_file)
            writer.writerow(RESULT_COLUMNS)

            def record(result: services.BulkRowResult) -> None:
                # Written as each row finishes, so an interrupted run still says what it did.
                writer.writerow(
                    [
                        result.line,
                        result.destination,
                        result.status,
                        result.session_key,
                        result.error,
                    ]
                )
                results_file.flush()
                bar.update(1)

            try:
                report = services.invitations_bulk_create(
                    agent=agent,
                    rows=rows,
                    credential=credential,
                    dry_run=options["dry_run"],
                    source=source.name,
                    on_row=record,
                )
            except InvitationError as err:
                # Raised before any row (the agent cannot send): no results to keep.
                results_file.close()
                results_path.unlink(missing_ok=True)
                raise CommandError(err.message) from err

        not_accepted = (services.BulkOutcome.INVALID, services.BulkOutcome.REFUSED)
        for result in report.results:
            if result.outcome in not_accepted:
                self.stdout.write(f"line {result.line}: {result.error}")
        self.stdout.write(report.summary)
        self.stdout.write(f"results: {results_path}")
        if report.not_accepted:
            raise CommandError(
                f"{report.not_accepted} of {len(rows)} rows were not accepted; fix them and run "
                "the same file again (rows already invited are skipped)."
            )


class _TqdmStream:
    """Lets tqdm draw on a command's stderr, which would otherwise end every write with a
    newline and turn the redrawn bar into a scroll of lines."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        # Unstyled: Django colours everything written to stderr as an error on a terminal.
        self.wrapper.write(text, style_func=str, ending="")

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()


def _progress(stderr: OutputWrapper, *, total: int) -> tqdm:
    stream = _TqdmStream(stderr)
    # Only on a terminal: in logs and pipes the redrawn bar is noise.
    return tqdm(total=total, file=stream, unit="row", disable=not stream.isatty())
