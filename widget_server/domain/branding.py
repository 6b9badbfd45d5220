"""Branding values: safe fonts, colour parsing, WCAG contrast, and the partner's wording."""

from __future__ import annotations

import re

SAFE_FONTS = {
    "system-ui": 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    "sans-serif": "Helvetica, Arial, sans-serif",
    "serif": 'Georgia, "Times New Roman", serif',
    "rounded": '"Trebuchet MS", "Segoe UI", system-ui, sans-serif',
    "monospace": 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    "condensed": '"Arial Narrow", "Roboto Condensed", system-ui, sans-serif',
}
HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
AA_TEXT_CONTRAST = 4.5

DEFAULT_BRANDING = {
    "primary_color": "#0b5cad",
    "accent_color": "#e8a317",
    "background_color": "#ffffff",
    "text_color": "#1b1f24",
    "font_family": "system-ui",
    "corner_radius": 8,
    "logo_url": None,
    "color_scheme": "light",
}


def normalize_hex(color: str) -> str:
    """`#abc` -> `#aabbcc`, lower case."""
    color = color.lower()
    if len(color) == 4:
        color = "#" + "".join(ch * 2 for ch in color[1:])
    return color


def relative_luminance(color: str) -> float:
    """WCAG 2.2 relative luminance of a hex colour."""
    color = normalize_hex(color)
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio between two hex colours (1 to 21)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable_text_on(background: str) -> str:
    """Black or white, whichever reads better on `background` (button labels). Pure black or
    white always reaches at least 4.58:1 on any colour, so the label always passes WCAG AA."""
    return max(("#000000", "#ffffff"), key=lambda color: contrast_ratio(color, background))


# The words a partner may put on the widget's first page, per language, instead of ours.
WORDING_KEYS = {"headline": 120, "intro": 300}  # key -> maximum length


def wording_for(wording: dict | None, locale: str) -> dict[str, str | None]:
    """The partner's headline and intro in `locale` ({"headline": None, ...} for what the
    partner left unset there: the page shows the product's own words then)."""
    words = (wording or {}).get(locale)
    words = words if isinstance(words, dict) else {}
    return {
        key: words[key] if isinstance(words.get(key), str) and words[key] else None
        for key in WORDING_KEYS
    }
