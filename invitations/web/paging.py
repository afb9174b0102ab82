"""Paging a list that may hold millions of rows without counting them all on every view."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CountAheadPaginator(Paginator):
    """Counts the rows only as far as `PAGES_AHEAD` pages past the page asked for: a list's
    first pages cost the same with a thousand sessions as with a million (an exact count
    reads every matching row). Below that the count is exact; beyond it the page says "of N
    or more" (`count_is_partial`). Any page can still be reached: asking for page 300 counts
    as far as page 320."""

    PAGES_AHEAD = 20
    LAST_PAGE_COUNTED = 1_000_000

    def __init__(self, rows: QuerySet[Any], per_page: int, *, asked: str | None) -> None:
        super().__init__(rows, per_page)
        self.rows = rows
        try:
            number = max(int(asked or 1), 1)
        except ValueError:
            number = 1
        # A page number past the end of any list (`get_page` then gives the last page), kept
        # small enough that the LIMIT below stays a 64-bit integer.
        number = min(number, self.LAST_PAGE_COUNTED)
        self.count_limit = (number + self.PAGES_AHEAD) * per_page

    @cached_property
    def count(self) -> int:
        # COUNT(*) over a subquery with LIMIT: it stops after count_limit + 1 rows.
        return self.rows[: self.count_limit + 1].count()

    @property
    def count_is_partial(self) -> bool:
        """Whether there are more rows than were counted (num_pages is then a lower bound)."""
        return self.count > self.count_limit
