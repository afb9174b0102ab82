"""OnSync's wire format: request bodies in either encoding, answers in XML or JSON.

OnSync looks like a CodeIgniter `REST_Controller` application (facts.md §1.4), and answers the
way that framework does: XML (root `<xml>`, list entries as `<item>`) unless the path ends in
`/format/json`. Bodies of PUT, POST and DELETE are read as form data whatever their
Content-Type, either `input_type=json&rest_data=<JSON>` or plain fields (facts.md §1.3).
"""

import json
import re
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

from django.http import HttpResponse, JsonResponse

from sandbox.wire import Invalid

JSON = "json"
XML = "xml"
# `rest_data=` starting the body or following another field.
_REST_DATA = re.compile(r"(?:^|&)rest_data=")
# A PHP-style form key: `invited_participants[0][email]`.
_BRACKETED = re.compile(r"(?P<name>[^\[\]]+)(?P<keys>(?:\[[^\[\]]*\])+)")
_KEY = re.compile(r"\[([^\[\]]*)\]")


def request_fields(body: bytes) -> dict[str, Any]:
    """The fields a PUT, POST or DELETE body carries; raises Invalid for an unreadable one.

    With a `rest_data` field, its JSON object and nothing else (`input_type` and any other
    field are ignored); otherwise the plain form fields, nested PHP-style (`a[0][b]=x`).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Invalid("body is not UTF-8") from err
    found = _REST_DATA.search(text)
    if found is None:
        return _php_form(parse_qsl(text, keep_blank_values=True))
    data = _rest_data(text, text[found.end() :])
    if not isinstance(data, dict):
        raise Invalid("rest_data must be a JSON object")
    return data


def _rest_data(body: str, tail: str) -> object:
    # Clients send the JSON as it is, `&` and `+` included, so it is read up to where it ends;
    # only when that fails is it form-decoded (a client that URL-encoded it).
    try:
        value, end = json.JSONDecoder().raw_decode(tail.lstrip())
    except ValueError:
        pass
    else:
        rest = tail.lstrip()[end:].strip()
        if not rest or rest.startswith("&"):
            return value
    encoded = dict(parse_qsl(body, keep_blank_values=True)).get("rest_data", "")
    try:
        return json.loads(encoded)
    except ValueError as err:
        raise Invalid("rest_data is not valid JSON") from err


def _php_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form fields as PHP's parse_str nests them; numbered keys become lists, in key order."""
    fields: dict[str, Any] = {}
    for key, value in pairs:
        bracketed = _BRACKETED.fullmatch(key)
        if bracketed is None:
            fields[key] = value
            continue
        path = [bracketed["name"], *_KEY.findall(bracketed["keys"])]
        node = fields
        for depth, part in enumerate(path):
            name = part or str(len(node))  # `a[]=x` appends
            if depth == len(path) - 1:
                node[name] = value
                break
            child = node.setdefault(name, {})
            if not isinstance(child, dict):
                raise Invalid(f"form field {key} conflicts with an earlier field")
            node = child
    return {name: _as_lists(value) for name, value in fields.items()}


def _as_lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    nested = {name: _as_lists(inner) for name, inner in value.items()}
    if nested and all(name.isdigit() for name in nested):
        return [nested[name] for name in sorted(nested, key=int)]
    return nested


def answer(data: dict[str, Any], *, status: int = 200, fmt: str = XML) -> HttpResponse:
    """`data` in the format the path asked for."""
    if fmt == JSON:
        return JsonResponse(data, status=status)
    return HttpResponse(to_xml(data), status=status, content_type="application/xml; charset=utf-8")


def failure(status: int, message: str, *, fmt: str) -> HttpResponse:
    """An error as REST_Controller writes one."""
    return answer({"status": False, "error": message}, status=status, fmt=fmt)


def to_xml(data: dict[str, Any]) -> bytes:
    """`<xml>` with a child per key; list entries are `<item>`s, booleans 1 and 0."""
    root = ElementTree.Element("xml")
    _fill(root, data)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _fill(element: ElementTree.Element, value: object) -> None:
    if isinstance(value, dict):
        for name, inner in value.items():
            _fill(ElementTree.SubElement(element, name), inner)
    elif isinstance(value, list):
        for inner in value:
            _fill(ElementTree.SubElement(element, "item"), inner)
    elif isinstance(value, bool):
        element.text = "1" if value else "0"
    elif value is not None:
        element.text = str(value)
