"""Queries compiled to SQL once per process, then run with new values.

Turning a queryset into SQL costs Django more than running it: the signed-in user with their
profile and credential takes about 0.6 ms to compile and 0.04 ms to run on SQLite. The reads
and writes that every invitation and every signed-in request make are declared once, as
ordinary querysets, and compiled the first time they run on a database; later runs put the new
values into the same SQL and read the rows as Django would. `bench.profile_invitation` shows
the difference.

A query is declared with its parameters' types; it is compiled with a distinctive value of
each type standing in for each parameter, and those values are found again among the compiled
parameters. So only values that Django passes to the database as parameters can be declared
(filtered and updated values), not ones that change the SQL (`__in` lists, slices, None in a
filter).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet, sql
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

# Stand-ins for the parameters while compiling: values no real query carries.
_FIRST_INT = 2_109_876_543


def _stand_in(kind: type, index: int) -> Any:
    if kind is int:
        return _FIRST_INT + index
    if kind is str:
        return f"\x1fprepared-parameter-{index}\x1f"
    if kind is datetime:
        return datetime(1901, 2, 3, 4, 5, 6, 100 + index, tzinfo=UTC)
    raise TypeError(f"a prepared query's parameter is int, str or datetime, not {kind!r}")


def _same(value: Any) -> Any:
    return value


def _as(kind: type) -> Callable[[Any], Any]:
    """As a filter would take a value: an int from "42", a str from a lazy string; None stays
    None (SQL NULL, for an updated value)."""
    if kind not in (int, str):
        return _same
    return lambda value: None if value is None else kind(value)


@dataclass(frozen=True)
class _Statement:
    sql: str
    # The compiled parameters, and each declared parameter's place in them.
    params: tuple[Any, ...]
    places: tuple[tuple[int, str, Callable[[Any], Any]], ...]

    def bind(self, values: Mapping[str, Any]) -> list[Any]:
        params = list(self.params)
        for index, name, convert in self.places:
            params[index] = convert(values[name])
        return params


class _Prepared:
    def __init__(self, parameters: Mapping[str, type]) -> None:
        self._parameters = dict(parameters)
        self._stand_ins = {
            name: _stand_in(kind, index) for index, (name, kind) in enumerate(parameters.items())
        }
        self._lock = threading.Lock()

    def _statement(self, sql_text: str, params: Iterable[Any], using: str) -> _Statement:
        params = tuple(params)
        ops = connections[using].ops
        places = []
        for name, value in self._stand_ins.items():
            forms: dict[Any, Callable[[Any], Any]] = {value: _as(self._parameters[name])}
            if isinstance(value, datetime):
                forms[ops.adapt_datetimefield_value(value)] = ops.adapt_datetimefield_value
            found = [(i, forms[p]) for i, p in enumerate(params) if _hashable(p) and p in forms]
            if len(found) != 1:
                raise ValueError(
                    f"parameter {name!r} appears {len(found)} times in the compiled query; "
                    "a prepared query's parameters appear once each"
                )
            index, convert = found[0]
            places.append((index, name, convert))
        return _Statement(sql=sql_text, params=params, places=tuple(places))


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


@dataclass(frozen=True)
class _Reader:
    """A compiled SELECT and how Django turns its rows into model instances."""

    statement: _Statement
    model: type[Model]
    # Where the model's own columns are in a row, and their attribute names.
    start: int
    end: int
    attnames: list[str]
    # Column position -> (Django's converters for it, its expression).
    converters: dict[int, tuple[list[Any], Any]]
    populators: list[Any]


class PreparedSelect(_Prepared, Generic[M]):
    """`build(**parameters)` returns a queryset of model instances (select_related allowed,
    prefetch_related not); `all(**values)` and `first(**values)` run it."""

    def __init__(self, build: Callable[..., QuerySet[M]], **parameters: type) -> None:
        super().__init__(parameters)
        self._build = build
        self._built: QuerySet[M] | None = None
        self._readers: dict[str, _Reader] = {}

    @property
    def _queryset(self) -> QuerySet[M]:
        # Built at first use, not at import: models may not all be loaded then.
        if self._built is None:
            queryset = self._build(**self._stand_ins)
            # Django's own attributes: either would need more statements than one.
            if queryset._prefetch_related_lookups or queryset._known_related_objects:  # type: ignore[attr-defined]
                raise ValueError("a prepared query reads its rows in one statement")
            self._built = queryset
        return self._built

    def _reader(self, using: str) -> _Reader:
        reader = self._readers.get(using)
        if reader is None:
            with self._lock:
                reader = self._readers.get(using) or self._compile(using)
                self._readers[using] = reader
        return reader

    def _compile(self, using: str) -> _Reader:
        compiler = self._queryset.query.get_compiler(using=using)
        sql_text, params = compiler.as_sql()
        klass_info, select = compiler.klass_info, compiler.select
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        return _Reader(
            statement=self._statement(sql_text, params, using),
            model=klass_info["model"],
            start=start,
            end=end,
            attnames=[column[0].target.attname for column in select[start:end]],
            converters=compiler.get_converters([column[0] for column in select]),
            populators=get_related_populators(klass_info, select, using),
        )

    def all(self, **values: Any) -> list[M]:
        using = router.db_for_read(self._queryset.model)
        reader = self._reader(using)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(reader.statement.sql, reader.statement.bind(values))
            rows = cursor.fetchall()
        instances: list[M] = []
        for fetched in rows:
            row = list(fetched)
            # As Django's SQLCompiler.apply_converters does.
            for position, (converters, expression) in reader.converters.items():
                value = row[position]
                for converter in converters:
                    value = converter(value, expression, connection)
                row[position] = value
            instance: Any = reader.model.from_db(
                using, reader.attnames, row[reader.start : reader.end]
            )
            for populator in reader.populators:
                populator.populate(row, instance)
            instances.append(instance)
        return instances

    def first(self, **values: Any) -> M | None:
        rows = self.all(**values)
        return rows[0] if rows else None


class PreparedUpdate(_Prepared):
    """`build(**parameters)` returns `(queryset, {field: value or expression})`, the arguments
    of `queryset.update(...)`; `run(**values)` makes the update and returns the rows changed."""

    def __init__(
        self, build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]], **parameters: type
    ) -> None:
        super().__init__(parameters)
        self._build = build
        self._model_class: type[Model] | None = None
        self._statements: dict[str, _Statement] = {}

    def _compile(self, using: str) -> _Statement:
        queryset, changes = self._build(**self._stand_ins)
        query: Any = queryset.query.chain(sql.UpdateQuery)
        query.add_update_values(changes)
        if query.related_updates:
            raise ValueError("a prepared update changes one table")
        sql_text, params = query.get_compiler(using=using).as_sql()
        return self._statement(sql_text, params, using)

    @property
    def _model(self) -> type[Model]:
        if self._model_class is None:
            self._model_class = self._build(**self._stand_ins)[0].model
        return self._model_class

    def run(self, **values: Any) -> int:
        using = router.db_for_write(self._model)
        statement = self._statements.get(using)
        if statement is None:
            with self._lock:
                statement = self._statements.get(using) or self._compile(using)
                self._statements[using] = statement
        with connections[using].cursor() as cursor:
            cursor.execute(statement.sql, statement.bind(values))
            return int(cursor.rowcount)


class PreparedInsert(Generic[M]):
    """`insert(instance)`: the INSERT of `Model.objects.create`, its SQL compiled once. Sets the
    instance's primary key and its `auto_now`/`auto_now_add` fields as `save()` would; sends
    no signals (the portal has no receivers for these models)."""

    def __init__(self, model: type[M]) -> None:
        self._model = model
        self._statements: dict[str, tuple[str, list[Any]]] = {}
        self._lock = threading.Lock()

    def _compile(self, instance: M, using: str) -> tuple[str, list[Any]]:
        meta = self._model._meta
        fields = [
            field
            for field in meta.local_concrete_fields
            if not field.generated and field is not meta.auto_field
        ]
        query = sql.InsertQuery(self._model)
        query.insert_values(fields, [instance])
        compiler: Any = query.get_compiler(using=using)
        compiler.returning_fields = [meta.pk]
        [(sql_text, params)] = compiler.as_sql()
        if len(params) != len(fields):
            raise ValueError(f"an INSERT of {meta.label} that a prepared one cannot repeat")
        return sql_text, fields

    def insert(self, instance: M) -> M:
        using = router.db_for_write(self._model, instance=instance)
        compiled = self._statements.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._statements.get(using) or self._compile(instance, using)
                self._statements[using] = compiled
        sql_text, fields = compiled
        connection = connections[using]
        params = [
            field.get_db_prep_save(field.pre_save(instance, True), connection=connection)
            for field in fields
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql_text, params)
            (instance.pk,) = cursor.fetchone()
        instance._state.adding = False
        instance._state.db = using
        return instance
