"""Partners declared as files: the validating schema, loading and the idempotent upsert."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from babel.numbers import list_currencies
from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates,
    validates_schema,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.branding import (
    AA_TEXT_CONTRAST,
    DEFAULT_BRANDING,
    HEX_COLOR,
    SAFE_FONTS,
    WORDING_KEYS,
    contrast_ratio,
    normalize_hex,
    relative_luminance,
)
from widget_server.domain.errors import ValidationFailed, field_errors, iter_messages
from widget_server.domain.numbers import Integer
from widget_server.domain.origins import ORIGIN_MAX_LENGTH, normalize_origin
from widget_server.domain.text import Email, Text
from widget_server.i18n import SUPPORTED_LOCALES
from widget_server.models import Partner

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
URL_MAX_LENGTH = 2000
CURRENCIES = frozenset(list_currencies())
# The most seats one fan (one normalised email) may hold on one trip, unless the partner says.
DEFAULT_MAX_SEATS_PER_FAN = 10


def validate_origin(value: str) -> str:
    """An exact origin (see `domain.origins`), normalised; marshmallow's ValidationError if not."""
    try:
        return normalize_origin(value)
    except ValueError as exc:
        raise ValidationError(f"{str(value)[:100]!r} {exc}") from None


class Origin(Text):
    """One `allowed_origins` entry: text under the shared rules, then an exact origin
    (normalised), so every bad entry of a list is reported with its own index."""

    def __init__(self, **kwargs):
        super().__init__(max_length=ORIGIN_MAX_LENGTH, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return validate_origin(super()._deserialize(value, attr, data, **kwargs))


def https_url(value: str) -> None:
    """Every partner-given link (terms, logo, sponsor): https with a host name."""
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # "https://[": a broken IPv6 literal
        raise ValidationError("must be an https:// URL") from None
    if parts.scheme != "https" or not hostname:
        raise ValidationError("must be an https:// URL")


class BrandingSchema(Schema):
    class Meta:
        unknown = RAISE

    primary_color = Text(
        load_default=DEFAULT_BRANDING["primary_color"],
        validate=validate.Regexp(HEX_COLOR, error="must be a hex colour like #0b5cad"),
    )
    accent_color = Text(
        load_default=DEFAULT_BRANDING["accent_color"],
        validate=validate.Regexp(HEX_COLOR, error="must be a hex colour like #e8a317"),
    )
    background_color = Text(
        load_default=DEFAULT_BRANDING["background_color"],
        validate=validate.Regexp(HEX_COLOR, error="must be a hex colour like #ffffff"),
    )
    text_color = Text(
        load_default=DEFAULT_BRANDING["text_color"],
        validate=validate.Regexp(HEX_COLOR, error="must be a hex colour like #1b1f24"),
    )
    font_family = Text(
        load_default=DEFAULT_BRANDING["font_family"],
        validate=validate.OneOf(sorted(SAFE_FONTS), error="must be one of: {choices}"),
    )
    corner_radius = Integer(
        load_default=DEFAULT_BRANDING["corner_radius"],
        validate=validate.Range(0, 24, error="must be a whole number of pixels from 0 to 24"),
    )
    logo_url = Text(
        load_default=None, allow_none=True, max_length=URL_MAX_LENGTH, validate=https_url
    )
    color_scheme = Text(
        load_default=DEFAULT_BRANDING["color_scheme"],
        validate=validate.OneOf(["light", "dark"], error="must be light or dark"),
    )

    @validates_schema(skip_on_field_errors=True)
    def _readable(self, data, **_kwargs):
        ratio = contrast_ratio(data["text_color"], data["background_color"])
        if ratio < AA_TEXT_CONTRAST:
            raise ValidationError(
                f"text_color on background_color has contrast {ratio:.2f}:1; WCAG AA needs "
                f"at least {AA_TEXT_CONTRAST}:1",
                field_name="text_color",
            )
        dark_background = relative_luminance(data["background_color"]) < 0.2
        if dark_background != (data["color_scheme"] == "dark"):
            raise ValidationError(
                f"color_scheme {data['color_scheme']!r} does not match background_color "
                f"{data['background_color']} (a {'dark' if dark_background else 'light'} colour)",
                field_name="color_scheme",
            )

    @post_load
    def _normalise(self, data, **_kwargs):
        for key in ("primary_color", "accent_color", "background_color", "text_color"):
            data[key] = normalize_hex(data[key])
        return data


class LanguageWordingSchema(Schema):
    """A headline and an intro line in one language; null or "" leaves ours."""

    class Meta:
        unknown = RAISE

    headline = Text(max_length=WORDING_KEYS["headline"], allow_none=True, load_default=None)
    intro = Text(max_length=WORDING_KEYS["intro"], allow_none=True, load_default=None)


class WordingSchema(Schema):
    """`[wording.es]`: one table per language of the widget; another language is an error."""

    class Meta:
        unknown = RAISE

    en = fields.Nested(LanguageWordingSchema, allow_none=True)
    es = fields.Nested(LanguageWordingSchema, allow_none=True)
    fr = fields.Nested(LanguageWordingSchema, allow_none=True)

    @post_load
    def _only_what_is_set(self, data, **_kwargs):
        """Stored as only the words set ({"es": {"headline": "..."}}), so a file and the live
        partner that say the same compare equal."""
        wording = {}
        for language, words in data.items():
            kept = {key: value for key, value in (words or {}).items() if value}
            if kept:
                wording[language] = kept
        return wording


class PartnerSchema(Schema):
    """One partner, as declared in a `partner_config/*.toml` file."""

    class Meta:
        unknown = RAISE

    slug = Text(
        required=True,
        max_length=63,
        validate=validate.Regexp(
            SLUG, error="must be 1-63 lower-case letters, digits or dashes, like kc-chiefs"
        ),
    )
    name = Text(required=True, max_length=200)
    locale = Text(
        load_default="en",
        validate=validate.OneOf(SUPPORTED_LOCALES, error="must be one of: {choices}"),
    )
    currency = Text(load_default="USD", max_length=3)
    allowed_origins = fields.List(Origin(), load_default=list, validate=validate.Length(max=50))
    branding = fields.Nested(BrandingSchema, load_default=lambda: BrandingSchema().load({}))
    wording = fields.Nested(WordingSchema, load_default=dict)
    support_email = Email(load_default=None, allow_none=True)
    terms_url = Text(
        load_default=None, allow_none=True, max_length=URL_MAX_LENGTH, validate=https_url
    )
    # The page of the partner's site that embeds the widget: share links lead there.
    site_url = Text(load_default=None, allow_none=True, max_length=URL_MAX_LENGTH)
    demand_threshold = Integer(load_default=25, validate=validate.Range(1, 100_000))
    waitlist_hold_hours = Integer(load_default=4, validate=validate.Range(1, 72))
    max_seats_per_fan = Integer(
        load_default=DEFAULT_MAX_SEATS_PER_FAN,
        validate=validate.Range(1, 100, error="must be a whole number from 1 to 100"),
    )

    @validates("currency")
    def _currency(self, value: str, **_kwargs) -> None:
        if value not in CURRENCIES:
            raise ValidationError(f"{value!r} is not an ISO 4217 currency code like USD or EUR")

    @validates_schema(skip_on_field_errors=True)
    def _site_embeds_the_widget(self, data, **_kwargs):
        if data.get("site_url"):
            check_site_url(data["site_url"], data["allowed_origins"])

    @post_load
    def _normalise(self, data, **_kwargs):
        data["allowed_origins"] = list(dict.fromkeys(data["allowed_origins"]))
        if data.get("site_url") == "":
            data["site_url"] = None
        return data


def check_site_url(value: str, allowed_origins: list[str]) -> None:
    """`site_url` must be a page (no fragment) on one of the partner's `allowed_origins`: the
    widget loads nowhere else, so a share link to any other page could not open it."""
    parts = urlsplit(value)
    try:
        origin = normalize_origin(f"{parts.scheme}://{parts.netloc}")
    except ValueError:
        origin = None
    if origin is None or parts.fragment or any(c.isspace() or not c.isprintable() for c in value):
        raise ValidationError(
            "must be the full address of the page that embeds the widget, like "
            "https://www.example.com/rides (no #fragment)",
            field_name="site_url",
        )
    if origin not in allowed_origins:
        raise ValidationError(
            f"must be a page of one of allowed_origins (the widget only loads there); "
            f"{origin} is not one of them",
            field_name="site_url",
        )


@dataclass
class FileProblem:
    path: Path
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.field}: {self.message}"


def partner_files(path: Path) -> list[Path]:
    """The partner files at `path`: the file itself, or every *.toml in the folder."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.toml") if p.is_file())
    return [path]


def load_partner_files(path: Path) -> tuple[list[dict], list[FileProblem]]:
    """Read and validate every partner file at `path`; returns (partners, problems)."""
    partners, problems, seen = [], [], {}
    files = partner_files(path)
    if not path.exists():
        return [], [FileProblem(path, "-", "no such file or folder")]
    if not files:
        return [], [FileProblem(path, "-", "no *.toml partner files in this folder")]
    for file in files:
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(FileProblem(file, "-", f"not valid TOML: {exc}"))
            continue
        try:
            data = PartnerSchema().load(raw)
        except ValidationError as exc:
            problems.extend(FileProblem(file, f, m) for f, m in iter_messages(exc.messages))
            continue
        if file.stem != data["slug"]:
            problems.append(
                FileProblem(
                    file, "slug", f"{data['slug']!r} must match the file name {file.stem!r}"
                )
            )
        elif data["slug"] in seen:
            problems.append(FileProblem(file, "slug", f"also declared in {seen[data['slug']]}"))
        else:
            seen[data["slug"]] = file
            partners.append(data)
    return partners, problems


PARTNER_FIELDS = (
    "name",
    "locale",
    "currency",
    "allowed_origins",
    "branding",
    "wording",
    "support_email",
    "terms_url",
    "site_url",
    "demand_threshold",
    "waitlist_hold_hours",
    "max_seats_per_fan",
)


def partner_differences(session: Session, data: dict) -> dict[str, tuple]:
    """What applying `data` (a loaded partner file) would change on the existing partner:
    field -> (live value, file value). Empty for a new partner or an identical one."""
    partner = session.scalar(select(Partner).where(Partner.slug == data["slug"]))
    if partner is None:
        return {}
    return {
        key: (getattr(partner, key), data[key])
        for key in PARTNER_FIELDS
        if getattr(partner, key) != data[key]
    }


def upsert_partner(session: Session, data: dict, *, actor: str) -> tuple[Partner, str]:
    """Create or update the partner `data["slug"]`; returns it and "created", "updated" or
    "unchanged". Running it twice with the same data changes nothing the second time."""
    partner = session.scalar(select(Partner).where(Partner.slug == data["slug"]))
    if partner is None:
        partner = Partner(slug=data["slug"], **{key: data[key] for key in PARTNER_FIELDS})
        session.add(partner)
        session.flush()
        record(session, partner.id, actor, "partner.created", "partner", partner.id, data)
        return partner, "created"
    changes = {k: data[k] for k in PARTNER_FIELDS if getattr(partner, k) != data[k]}
    if not changes:
        return partner, "unchanged"
    new_logo_url = changes.get("branding", {}).get("logo_url")
    if new_logo_url and new_logo_url != (partner.branding or {}).get("logo_url"):
        # One logo at a time: a new logo address replaces an uploaded logo (domain.logos).
        partner.logo = None
    for key, value in changes.items():
        setattr(partner, key, value)
    session.flush()
    record(session, partner.id, actor, "partner.updated", "partner", partner.id, changes)
    return partner, "updated"


def update_partner(session: Session, partner: Partner, changes: dict, *, actor: str) -> Partner:
    """Apply API changes through the same schema as partner files; `branding` is merged, and
    so is `wording` (per language and key; null removes a key)."""
    current = {"slug": partner.slug, **{key: getattr(partner, key) for key in PARTNER_FIELDS}}
    if "branding" in changes:
        changes = {**changes, "branding": {**current["branding"], **changes["branding"]}}
    if isinstance(changes.get("wording"), dict):
        changes = {**changes, "wording": merged_wording(current["wording"], changes["wording"])}
    try:
        data = PartnerSchema().load({**current, **changes})
    except ValidationError as exc:
        raise ValidationFailed(
            "some fields are invalid", errors=field_errors(exc.messages)
        ) from exc
    return upsert_partner(session, data, actor=actor)[0]


def merged_wording(current: dict | None, changes: dict) -> dict:
    """`changes` ({"es": {"headline": "Hola", "intro": None}}) over `current`; a language given
    as None is removed whole."""
    merged = {language: dict(words) for language, words in (current or {}).items()}
    for language, words in changes.items():
        if words is None:
            merged.pop(language, None)
        elif isinstance(words, dict):
            merged[language] = {**merged.get(language, {}), **words}
        else:
            merged[language] = words  # not an object: the schema names it
    return merged
