"""Model validation the services share: which fields people set, and full_clean's problems as
InvalidInput."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model

from invitations.errors import InvalidInput


def editable_fields(model: type[Model], *, kept_by_portal: Collection[str] = ()) -> tuple[str, ...]:
    """The fields of `model` that people set, in model order: its editable concrete and
    many-to-many fields, less the primary key and those the portal keeps itself."""
    meta = model._meta
    return tuple(
        field.name
        for field in (*meta.concrete_fields, *meta.many_to_many)
        if field.editable and not field.primary_key and field.name not in kept_by_portal
    )


def full_clean(instance: Any, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as err:
        problems = "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in err.message_dict.items()
        )
        raise InvalidInput(problems) from err
