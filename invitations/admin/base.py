"""What the model admins share: the acting user, CSV downloads, paging large tables without an
exact count, and list filters."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from django.contrib import admin
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Field, Model, QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import cached_property

from invitations import states
from invitations.models import (
    AuditEvent,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


Action = AuditEvent.Action


def acting_user(request: HttpRequest) -> User:
    # The admin only runs for a logged-in staff user.
    return cast(User, request.user)


class _Echo:
    """A file for csv.writer that hands back each line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def csv_response(rows: Iterator[list[str]], name: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


class GrowingTablePaginator(Paginator):
    """For the tables that grow with every invitation: an unfiltered list on PostgreSQL takes
    the table's size from the planner's statistics (pg_class.reltuples, kept by ANALYZE and
    autovacuum) instead of counting every row on every page view, and says so ("about N",
    templates/admin/pagination.html); filtered lists, smaller tables and other databases count
    exactly."""

    EXACT_BELOW = 10_000
    # Whether `count` is the planner's estimate (the list then says "about N").
    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if (
            connection.vendor != "postgresql"
            or not isinstance(queryset, QuerySet)
            or queryset.query.where
        ):
            return super().count
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        estimate = int(row[0]) if row else -1
        if estimate < self.EXACT_BELOW:
            return super().count
        self.count_is_estimate = True
        return estimate


class GrowingTableAdmin(admin.ModelAdmin):
    """For the tables that grow with every invitation. They have no date_hierarchy: its links
    come from a SELECT DISTINCT over every row of the list on each page view (PostgreSQL has no
    index skip scan); the date filters (today, past 7 days, this month, this year) query
    nothing. Filters offer fixed choices, for the same reason."""

    paginator = GrowingTablePaginator
    # Filtered lists would otherwise count the whole table a second time, for "N total".
    show_full_result_count = False


class AgentListFilter(admin.RelatedFieldListFilter):
    """Filter by the agent who started the session. Offers every user with an agent profile:
    "only agents who started one" would scan every session (or invitee) to find them."""

    def __init__(
        self,
        field: Field[Any, Any],
        request: HttpRequest,
        params: dict[str, str],
        model: type[Model],
        model_admin: admin.ModelAdmin[Any],
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = "agent"

    def field_choices(
        self, field: Field[Any, Any], request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, StrOrPromise]]:
        agents = User.objects.filter(agent_profile__isnull=False).order_by("username")
        return [(str(agent.pk), agent.get_username()) for agent in agents]


class HttpStatusFilter(admin.SimpleListFilter):
    """The provider's answer by class. Fixed choices: listing the codes that occur would read
    every attempt on every page view."""

    title = "HTTP status"
    parameter_name = "http_status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [
            ("2xx", "2xx accepted"),
            ("4xx", "4xx refused"),
            ("5xx", "5xx provider error"),
            ("none", "no answer"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "none":
            return queryset.filter(http_status__isnull=True)
        if value in ("2xx", "4xx", "5xx"):
            low = int(value[0]) * 100
            return queryset.filter(http_status__gte=low, http_status__lt=low + 100)
        return queryset


class ReceiptStatusFilter(admin.SimpleListFilter):
    """The receipt's status: the ones that settle an invitation, or any other the sender
    reports on the way. Fixed choices, for the reason above."""

    title = "status"
    parameter_name = "status"
    SETTLING = sorted(states.RECEIPT_OUTCOMES)

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [*((status, status) for status in self.SETTLING), ("other", "other")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "other":
            return queryset.exclude(status__in=self.SETTLING)
        if value in self.SETTLING:
            return queryset.filter(status=value)
        return queryset


class ReadOnlyAdmin(GrowingTableAdmin):
    """For records nobody may add, edit or remove in the admin: the audit trail."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
