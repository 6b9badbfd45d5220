"""The widget's theme: partner colours made readable (WCAG 2.2 AA), never raw CSS."""

import pytest

from widget_server.domain.branding import DEFAULT_BRANDING, contrast_ratio
from widget_server.domain.partners import BrandingSchema
from widget_server.fan.theme import widget_theme


def branding(**values) -> dict:
    return {**DEFAULT_BRANDING, **values}


@pytest.mark.parametrize(
    "primary", ["#0b5cad", "#e63946", "#777777", "#ffff00", "#000000", "#ffffff", "#767676"]
)
def test_button_labels_always_reach_aa_on_the_primary_colour(primary):
    theme = widget_theme(branding(primary_color=primary))
    assert contrast_ratio(theme.on_primary, theme.primary) >= 4.5


def test_a_readable_primary_colour_is_used_for_links_focus_and_bars():
    theme = widget_theme(branding(primary_color="#0b5cad", accent_color="#e8a317"))
    assert (theme.link, theme.focus) == ("#0b5cad", "#0b5cad")
    # The default gold accent is too pale on white for a bar (1.9:1): the primary is used.
    assert theme.fill == "#0b5cad"
    assert any(
        "accent_color #e8a317" in note and "progress bars" in note for note in theme.adjustments
    )


def test_a_pale_primary_colour_is_replaced_where_it_would_be_unreadable():
    theme = widget_theme(branding(primary_color="#ffd166", accent_color="#ffe08a"))
    assert theme.link == theme.text and theme.focus == theme.text and theme.fill == theme.text
    assert contrast_ratio(theme.on_primary, "#ffd166") >= 4.5
    assert any("links use text_color" in note for note in theme.adjustments)


def test_the_dark_demo_theme_keeps_its_red_buttons_but_not_red_links():
    theme = widget_theme(
        branding(
            primary_color="#e63946",
            accent_color="#ffd166",
            background_color="#121212",
            text_color="#f1f1f1",
            color_scheme="dark",
        )
    )
    assert theme.primary == "#e63946" and theme.on_primary == "#000000"
    assert theme.link == "#f1f1f1"  # 4.49:1 is just below AA for text
    assert theme.focus == "#e63946" and theme.fill == "#ffd166" and theme.scheme == "dark"


def test_unreadable_text_is_rejected_in_partner_files_and_replaced_if_it_slips_through():
    errors = BrandingSchema().validate({"text_color": "#777777", "background_color": "#888888"})
    assert "contrast" in errors["text_color"][0] and "4.5:1" in errors["text_color"][0]
    theme = widget_theme(branding(text_color="#777777", background_color="#888888"))
    assert (theme.text, theme.background) == ("#1b1f24", "#ffffff")
    assert "the default colours are used instead" in theme.adjustments[0]


@pytest.mark.parametrize(
    "values",
    [
        {"primary_color": "red; } body { display: none"},
        {"background_color": "url(https://evil.example/x)"},
        {"font_family": "Comic Sans'; } *{"},
        {"corner_radius": "8px; color: red"},
        {"logo_url": "javascript:alert(1)"},
        {"color_scheme": "neon"},
    ],
)
def test_values_that_are_not_valid_branding_never_reach_the_css(values):
    theme = widget_theme(branding(**values))
    css = " ".join(str(value) for value in vars(theme).values() if not isinstance(value, list))
    for bad in ("}", "url(", "javascript:", "Comic", "color: red", "neon"):
        assert bad not in css
