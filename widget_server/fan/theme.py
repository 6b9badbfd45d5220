"""The partner's branding as the widget's CSS values, made readable (WCAG 2.2 AA).

Partner files are validated on the way in (`domain.partners.BrandingSchema` rejects a
text/background pair below 4.5:1). Here every value is checked again, because partners also
change branding through the API, and colours that would be unreadable where the widget uses them
are replaced, each replacement explained in `Theme.adjustments`:

- button labels are black or white, whichever reads better on `primary_color` (always >= 4.5:1,
  since pure black or white reaches at least 4.58:1 on any colour);
- links use `primary_color` only when it reaches 4.5:1 on the background, else `text_color`;
- the focus ring and the progress bar need 3:1 (non-text contrast), else they fall back.

Nothing from the partner reaches the page as raw CSS: colours must be hex, the font is a key of
`SAFE_FONTS`, the radius a whole number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from widget_server.domain.branding import (
    AA_TEXT_CONTRAST,
    DEFAULT_BRANDING,
    HEX_COLOR,
    SAFE_FONTS,
    contrast_ratio,
    normalize_hex,
    readable_text_on,
)

AA_NON_TEXT_CONTRAST = 3.0


@dataclass(frozen=True)
class Theme:
    primary: str
    on_primary: str
    background: str
    text: str
    link: str
    focus: str
    fill: str
    font: str
    radius: str
    scheme: str
    logo_url: str | None
    adjustments: list[str] = field(default_factory=list)


def _color(branding: dict, key: str) -> str:
    value = branding.get(key)
    if isinstance(value, str) and HEX_COLOR.match(value):
        return normalize_hex(value)
    return DEFAULT_BRANDING[key]


def _first_readable(background: str, minimum: float, candidates: list[tuple[str, str]]):
    """The first (name, colour) reaching `minimum` contrast on `background`."""
    for name, color in candidates:
        if contrast_ratio(color, background) >= minimum:
            return name, color
    return candidates[-1]


def widget_theme(branding: dict, *, uploaded_logo: str | None = None) -> Theme:
    """Validated, readable CSS values for a partner's `branding` mapping. `uploaded_logo`: the
    address of the partner's uploaded logo, shown instead of `logo_url` when there is one."""
    notes: list[str] = []
    background, text = _color(branding, "background_color"), _color(branding, "text_color")
    if contrast_ratio(text, background) < AA_TEXT_CONTRAST:
        ratio = contrast_ratio(text, background)
        notes.append(
            f"text_color {text} on background_color {background} has contrast {ratio:.2f}:1 "
            f"(WCAG AA needs {AA_TEXT_CONTRAST}:1): the default colours are used instead"
        )
        background, text = DEFAULT_BRANDING["background_color"], DEFAULT_BRANDING["text_color"]
    primary, accent = _color(branding, "primary_color"), _color(branding, "accent_color")

    link_name, link = _first_readable(
        background, AA_TEXT_CONTRAST, [("primary_color", primary), ("text_color", text)]
    )
    if link_name != "primary_color":
        notes.append(
            f"primary_color {primary} on background_color {background} has contrast "
            f"{contrast_ratio(primary, background):.2f}:1, below {AA_TEXT_CONTRAST}:1 for "
            "text: links use text_color"
        )
    focus_name, focus = _first_readable(
        background, AA_NON_TEXT_CONTRAST, [("primary_color", primary), ("text_color", text)]
    )
    if focus_name != "primary_color":
        notes.append(
            f"primary_color {primary} has contrast below {AA_NON_TEXT_CONTRAST}:1 on the "
            "background: the focus ring uses text_color"
        )
    fill_name, fill = _first_readable(
        background,
        AA_NON_TEXT_CONTRAST,
        [("accent_color", accent), ("primary_color", primary), ("text_color", text)],
    )
    if fill_name != "accent_color":
        notes.append(
            f"accent_color {accent} on background_color {background} has contrast "
            f"{contrast_ratio(accent, background):.2f}:1, below {AA_NON_TEXT_CONTRAST}:1: "
            f"progress bars use {fill_name}"
        )
    on_primary = readable_text_on(primary)
    font_key = branding.get("font_family")
    radius = branding.get("corner_radius")
    if not isinstance(radius, int) or isinstance(radius, bool) or not 0 <= radius <= 24:
        radius = DEFAULT_BRANDING["corner_radius"]
    scheme = "dark" if branding.get("color_scheme") == "dark" else "light"
    typed = branding.get("logo_url")
    typed = typed if isinstance(typed, str) and typed.startswith(("https://", "/w/")) else None
    # An uploaded logo's address is ours (url_for), never typed: shown as it is.
    logo = uploaded_logo or typed
    return Theme(
        primary=primary,
        on_primary=on_primary,
        background=background,
        text=text,
        link=link,
        focus=focus,
        fill=fill,
        font=SAFE_FONTS.get(font_key, SAFE_FONTS[DEFAULT_BRANDING["font_family"]]),
        radius=f"{radius}px",
        scheme=scheme,
        logo_url=logo,
        adjustments=notes,
    )
