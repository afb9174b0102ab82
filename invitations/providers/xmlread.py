"""Reading one value out of a provider's XML answer, safely and tolerantly.

Glance's ASMX services answer XML (facts.md §3.3, §3.5). The reader below takes the first
element of a given local name wherever it is, under any root element and in any namespace, so
that a renamed root or a namespace change upstream does not break it.

Parsing is defused as defusedxml does it (which the portal does not depend on): an answer that
declares an entity, or refers to an external one, is refused before anything is expanded, so a
"billion laughs" or an external entity cannot cost memory or reach a file or the network. A
DOCTYPE without declarations is harmless and read like any other answer.
"""

from __future__ import annotations

from xml.parsers import expat


class UnsafeXml(ValueError):
    """The answer declares or refers to entities, which are never expanded."""


def first_text(body: bytes, local_name: str) -> str | None:
    """The text of the first element named `local_name` (any namespace, any depth; compared
    without regard to case), stripped; None when there is none. Raises ValueError for a
    body that is not well-formed XML, UnsafeXml for one with entity declarations."""
    wanted = local_name.lower()
    # Namespaced names arrive as "uri local"; the separator cannot occur in either part.
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    inside: int | None = None  # depth of the element being read
    found: list[str] | None = None

    def refuse(*_args: object) -> None:
        raise UnsafeXml("the answer declares or refers to XML entities")

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal depth, inside, found
        depth += 1
        if found is None and name.rpartition(" ")[2].lower() == wanted:
            inside, found = depth, []

    def end(_name: str) -> None:
        nonlocal depth, inside
        if inside == depth:
            inside = None
        depth -= 1

    def text(data: str) -> None:
        # Only the element's own text, not that of elements inside it.
        if inside is not None and inside == depth and found is not None:
            found.append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    try:
        parser.Parse(body, True)
    except expat.ExpatError as err:
        raise ValueError(f"not well-formed XML ({err})") from err
    return "".join(found).strip() if found is not None else None
