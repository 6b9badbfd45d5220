"""Uploaded partner logos: decoded and re-encoded with Pillow, so only pixels survive.

What a partner uploads never reaches a fan as uploaded. The bytes must be a PNG, JPEG or WebP
by their content (Pillow is only allowed those three decoders; the file name and the declared
content type are ignored), at most `MAX_LOGO_BYTES`, with at most `MAX_SOURCE_PIXELS` pixels
and `MAX_SOURCE_SIDE` on either side (checked on the header, before any pixel is decoded, so a
decompression bomb is refused without being inflated), and one frame (animated PNG or WebP is
refused: a logo in a 32 px header should not move, and taking "the first frame" would show
something the partner did not choose). The pixels are then copied into a fresh image (no EXIF,
no ICC profile, no text chunks, no XMP: nothing but pixels), turned upright by its EXIF
orientation first, scaled down to `MAX_SIDE` on the long side, and encoded again in the same
format. SVG is refused: it is a document that can carry script, not an image.

The result is stored in `partner_logos` (one per partner) and served by its sha256; a sponsor's
logo (`domain/sponsors.py`) is cleaned the same way and stored on its `sponsors` row.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy.orm import Session

from widget_server.domain.audit import record
from widget_server.domain.errors import ValidationFailed
from widget_server.models import Partner, PartnerLogo, PartnerLogoPreview
from widget_server.models.logos import LOGO_FORMATS
from widget_server.models.types import utcnow

MAX_LOGO_BYTES = 512 * 1024
MAX_SOURCE_SIDE = 8192
MAX_SOURCE_PIXELS = 4096 * 4096
MAX_SIDE = 512
JPEG_QUALITY = 90
WEBP_QUALITY = 90
# Pillow's own bomb guard, made ours: it warns above this many pixels and refuses twice as many
# while opening, before its WebP decoder allocates a canvas (width x height x 4 bytes) for the
# header's size. Its default (89 million) would let a 150-megapixel WebP header allocate
# 600 MB. Nothing else in the service decodes images with Pillow.
Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS


class LogoRefused(ValidationFailed):
    """A file that is not a logo we accept; `reason` says which rule it broke (the console
    words it in the admin's language): empty, too_big, not_an_image, too_many_pixels, animated,
    corrupt."""

    def __init__(self, reason: str, message: str, *, field: str = "logo"):
        super().__init__(f"{field}: {message}", errors={field: [message]})
        self.reason = reason


@dataclass(frozen=True)
class CleanLogo:
    data: bytes
    format: str  # a key of LOGO_FORMATS
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def clean_logo(raw: bytes) -> CleanLogo:
    """`raw` (an uploaded file's bytes) re-encoded as a clean logo, or LogoRefused."""
    if not raw:
        raise LogoRefused("empty", "the file is empty")
    if len(raw) > MAX_LOGO_BYTES:
        raise LogoRefused(
            "too_big",
            f"is {len(raw) // 1024} KB; a logo may be at most {MAX_LOGO_BYTES // 1024} KB",
        )
    image = _open(raw)
    source_format = "JPEG" if image.format in ("JPEG", "MPO") else image.format
    try:
        mode = "RGBA" if _has_alpha(image) and source_format != "JPEG" else "RGB"
        # Scaled down first, in place: a large source is never copied at full size.
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        pixels = ImageOps.exif_transpose(image.convert(mode))
        # A fresh image from the raw pixels: whatever metadata `image` carried stays behind.
        clean = Image.frombytes(mode, pixels.size, pixels.tobytes())
    except Exception as exc:  # any decoder failure on untrusted bytes means "cannot read it"
        raise LogoRefused("corrupt", "could not be read as an image (damaged file?)") from exc
    return CleanLogo(_encode(clean, source_format), source_format, *clean.size)


def _open(raw: bytes) -> Image.Image:
    """The image's header, checked for format, size and frames (no pixel decoded yet), then
    its pixels decoded."""
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns first, then raises; both are a refusal here. (The
            # filter is process-wide; if another thread resets it early, the warning is only
            # printed, and the size check below refuses the same image anyway.)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=[*LOGO_FORMATS])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise LogoRefused("too_many_pixels", _too_many_pixels()) from None
    except UnidentifiedImageError:
        raise LogoRefused("not_an_image", "must be a PNG, JPEG or WebP image") from None
    except Exception as exc:  # a header Pillow chokes on
        raise LogoRefused("corrupt", "could not be read as an image (damaged file?)") from exc
    width, height = image.size
    if width * height > MAX_SOURCE_PIXELS or max(width, height) > MAX_SOURCE_SIDE:
        raise LogoRefused("too_many_pixels", _too_many_pixels())
    if getattr(image, "n_frames", 1) > 1:
        raise LogoRefused("animated", "must be a still image (this one has several frames)")
    if image.format == "JPEG":
        # JPEG can decode straight at 1/2, 1/4 or 1/8 scale: a big photo is never inflated.
        image.draft(None, (MAX_SIDE, MAX_SIDE))
    try:
        image.load()
    except Exception as exc:  # truncated or damaged pixel data
        raise LogoRefused("corrupt", "could not be read as an image (damaged file?)") from exc
    return image


def _too_many_pixels() -> str:
    return (
        f"has too many pixels; a logo may be at most {MAX_SOURCE_SIDE} px on a side and "
        f"{MAX_SOURCE_PIXELS // 1_000_000} million pixels"
    )


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info


def _encode(image: Image.Image, source_format: str) -> bytes:
    out = io.BytesIO()
    if source_format == "PNG":
        image.save(out, "PNG", optimize=True)
    elif source_format == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def store_logo(row, logo: CleanLogo) -> None:
    """Write `logo` into a row with the logo columns (`PartnerLogo`, `Sponsor`)."""
    row.sha256, row.format, row.data = logo.sha256, logo.format, logo.data
    row.width, row.height, row.size = logo.width, logo.height, len(logo.data)


def set_logo(session: Session, partner: Partner, logo: CleanLogo, *, actor: str) -> PartnerLogo:
    """Make `logo` the partner's logo (replacing an earlier upload and a `logo_url`: one
    logo at a time). Audited as `partner.logo_set`."""
    stored = partner.logo
    if stored is None:
        stored = partner.logo = PartnerLogo(partner_id=partner.id)
    store_logo(stored, logo)
    if (partner.branding or {}).get("logo_url"):
        partner.branding = {**partner.branding, "logo_url": None}
    session.flush()
    details = {
        "sha256": logo.sha256,
        "format": logo.format.lower(),
        "width": logo.width,
        "height": logo.height,
        "bytes": len(logo.data),
    }
    record(session, partner.id, actor, "partner.logo_set", "partner", partner.id, details)
    return stored


def remove_logo(session: Session, partner: Partner, *, actor: str) -> bool:
    """No logo at all: neither the uploaded one nor `logo_url`. False when there was none."""
    had_url = bool((partner.branding or {}).get("logo_url"))
    if partner.logo is None and not had_url:
        return False
    previous = partner.logo.sha256 if partner.logo is not None else None
    partner.logo = None
    if had_url:
        partner.branding = {**partner.branding, "logo_url": None}
    session.flush()
    details = {"sha256": previous, "logo_url": had_url}
    record(session, partner.id, actor, "partner.logo_removed", "partner", partner.id, details)
    return True


def served_logo(partner: Partner, file_name: str) -> PartnerLogo | None:
    """The partner's logo when `file_name` is its current content-hashed name, else None."""
    logo = partner.logo
    if logo is None or file_name != logo.file_name:
        return None
    return logo


def set_logo_preview(session: Session, partner: Partner, logo: CleanLogo) -> PartnerLogoPreview:
    """Keep `logo` (chosen, not saved) for the console's live preview, replacing the partner's
    earlier unsaved one. Saving the branding uploads the file again; nothing reads this then."""
    pending = session.get(PartnerLogoPreview, partner.id)
    if pending is None:
        pending = PartnerLogoPreview(partner_id=partner.id)
        session.add(pending)
    pending.sha256, pending.format, pending.data = logo.sha256, logo.format, logo.data
    pending.created_at = utcnow()
    session.flush()
    return pending


def served_logo_preview(
    session: Session, partner: Partner, file_name: str
) -> PartnerLogoPreview | None:
    """The partner's unsaved logo when `file_name` is its name, else None."""
    pending = session.get(PartnerLogoPreview, partner.id)
    return pending if pending is not None and pending.file_name == file_name else None
