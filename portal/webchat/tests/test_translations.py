"""Every string the portal shows has a Russian translation in the committed catalogue."""

import re
import shutil

from django.conf import settings as django_settings
from django.core.management import call_command

PORTAL_DIR = django_settings.BASE_DIR
CATALOGUE = "locale/ru/LC_MESSAGES/django.po"


def read_catalogue(path) -> dict[str, tuple[str, bool]]:
    """msgid -> (msgstr, fuzzy) for every entry but the header."""
    entries = {}
    for block in path.read_text().split("\n\n"):
        fuzzy = bool(re.search(r"^#,.*\bfuzzy\b", block, re.M))
        parts = re.split(r"^(msgid|msgstr|msgid_plural|msgstr\[\d\]) ", block, flags=re.M)
        fields = dict(zip(parts[1::2], parts[2::2], strict=True))
        if "msgid" not in fields:
            continue
        text = {k: "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', v)) for k, v in fields.items()}
        if text["msgid"]:
            entries[text["msgid"]] = (text.get("msgstr", text.get("msgstr[0]", "")), fuzzy)
    return entries


def test_every_portal_string_has_a_russian_translation(tmp_path, settings, monkeypatch):
    # Extract the strings afresh from a copy of the portal, merged into a copy of
    # the catalogue: a string nobody translated yet shows up empty or fuzzy.
    copy = tmp_path / "portal"
    shutil.copytree(PORTAL_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(copy)
    settings.LOCALE_PATHS = [copy / "locale"]
    call_command(
        "makemessages",
        locale=["ru"],
        no_obsolete=True,
        no_location=True,
        ignore_patterns=["*/tests/*"],
        verbosity=0,
    )
    catalogue = read_catalogue(copy / CATALOGUE)
    assert "Chat" in catalogue
    missing = [msgid for msgid, (msgstr, fuzzy) in catalogue.items() if not msgstr or fuzzy]
    assert not missing, f"no Russian translation for: {missing}"
