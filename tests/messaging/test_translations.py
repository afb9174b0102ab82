"""The German catalogue is complete, compiled, and used for the service layer's messages; and
a string marked for translation in the code or a template that the catalogue lacks fails here
(as `make messages` would add it untranslated)."""

import gettext
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

from invitations.errors import InvalidInput
from invitations.phone import normalise_phone

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale" / "de" / "LC_MESSAGES"
# What `make messages` reads; the sandbox, tests and benchmarks are not translated.
TRANSLATED_SOURCES = ("agentportal", "invitations", "templates", "static", "manage.py")


def _po_entries(path: Path) -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) for each entry of a .po file, header left out."""
    entries = []
    for block in path.read_text().split("\n\n"):
        lines = block.strip().splitlines()
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                fields[current] += json.loads(line)  # type: ignore[index]
                continue
            current, _, value = line.partition(" ")
            fields[current] = json.loads(value)
        if fields.get("msgid"):
            strings = [v for k, v in fields.items() if k.startswith("msgstr")]
            entries.append((fields["msgid"], strings, fuzzy))
    return entries


def test_every_german_entry_is_translated_and_none_is_fuzzy():
    entries = _po_entries(LOCALE / "django.po")
    assert len(entries) > 100
    untranslated = [msgid for msgid, strings, fuzzy in entries if fuzzy or not all(strings)]
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_po_file():
    with (LOCALE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    stale = [
        msgid
        for msgid, strings, _fuzzy in _po_entries(LOCALE / "django.po")
        if len(strings) == 1 and catalogue.gettext(msgid) != strings[0]
    ]
    assert stale == [], "run `make messages` to recompile locale/de/LC_MESSAGES/django.mo"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "is not a valid phone number"), ("de", "ist keine gültige Telefonnummer")],
)
def test_service_errors_are_in_the_agents_language(language, expected):
    with translation.override(language), pytest.raises(InvalidInput) as raised:
        normalise_phone("12345", default_region="US")
    assert expected in raised.value.message


def test_every_string_in_the_code_and_templates_has_a_german_translation(tmp_path):
    """`make messages` on a copy of the sources: any new or changed string comes out
    untranslated or fuzzy, and names itself here."""
    if shutil.which("xgettext") is None:
        pytest.skip("GNU gettext is not installed (CI installs it in .ci/run)")
    for name in TRANSLATED_SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    shutil.copytree(ROOT / "locale", tmp_path / "locale")
    made = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "de"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        # The copy comes first on the path; the sandbox app, not copied, loads from here.
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "agentportal.settings.test",
        },
        check=False,
    )
    assert made.returncode == 0, made.stderr
    entries = _po_entries(tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po")
    missing = [msgid for msgid, strings, fuzzy in entries if fuzzy or not all(strings)]
    assert missing == [], "translate these in locale/de/LC_MESSAGES/django.po (`make messages`)"
