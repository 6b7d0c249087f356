"""Invite links as QR codes for phones: an SVG drawn on the server (segno), put
inline in the page, so nothing is loaded from another host (see the CSP)."""

import segno
from django.utils.safestring import mark_safe


def qr_svg(text: str) -> str:
    # Medium error correction survives a screen's glare; segno's SVG is paths only.
    code = segno.make(text, error="m", micro=False)
    svg = code.svg_inline(scale=5, border=4, light="#fff", title=None)
    return mark_safe(svg)  # noqa: S308 - segno escapes nothing it did not draw itself
