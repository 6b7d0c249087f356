"""Text as people type it and as XMPP clients send it (names, descriptions, reasons,
notes): one normal form for every app."""

import re
import unicodedata

_CONTROL = {"Cc", "Cs", "Co", "Cn"}
# Bidirectional overrides let a name display as something it is not.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPACES = re.compile(r"\s+")


def clean_text(value: str, *, multiline: bool, max_length: int | None = None) -> str:
    """Drop control characters and bidi overrides (keeping line breaks where
    allowed), collapse a one-line value's whitespace, trim, and cut to length."""
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n"))
    kept = "".join(
        c
        for c in value
        if (multiline and c in "\n\t")
        or (unicodedata.category(c) not in _CONTROL and c not in _BIDI)
    )
    if not multiline:
        kept = _SPACES.sub(" ", kept)
    kept = kept.strip()
    return kept[:max_length].rstrip() if max_length else kept
