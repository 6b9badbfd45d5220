"""Partner files: validation messages name the file, the field and the reason."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from widget_server.cli import cli
from widget_server.domain.partners import load_partner_files, upsert_partner
from widget_server.models import AuditLogEntry, Partner

SHIPPED = Path(__file__).resolve().parents[2] / "partner_config"

BAD_PARTNER = """
slug = "Bad Slug"
name = ""
locale = "de"
currency = "XYZ"
allowed_origins = ["https://ok.example", "http://insecure.example", "https://x.example/path"]
support_email = "not-an-email"
terms_url = "http://plain.example/terms"
colour = "typo"

[branding]
primary_color = "blue"
background_color = "#ffffff"
text_color = "#eeeeee"
font_family = "Comic Sans"
corner_radius = 99
logo_url = "javascript:alert(1)"
"""


def test_shipped_partners_are_valid_and_differ():
    partners, problems = load_partner_files(SHIPPED)
    assert problems == []
    by_slug = {p["slug"]: p for p in partners}
    assert set(by_slug) == {"demo", "demo-away"}
    home, away = by_slug["demo"]["branding"], by_slug["demo-away"]["branding"]
    assert home["primary_color"] != away["primary_color"]
    assert (home["color_scheme"], away["color_scheme"]) == ("light", "dark")
    assert home["font_family"] != away["font_family"]


def test_every_bad_field_is_reported(tmp_path):
    (tmp_path / "bad.toml").write_text(BAD_PARTNER)
    _, problems = load_partner_files(tmp_path)
    fields = {problem.field for problem in problems}
    assert {
        "slug",
        "name",
        "locale",
        "currency",
        "allowed_origins.1",
        "allowed_origins.2",
        "support_email",
        "terms_url",
        "colour",
        "branding.primary_color",
        "branding.font_family",
        "branding.corner_radius",
        "branding.logo_url",
    } <= fields
    assert all(problem.path.name == "bad.toml" for problem in problems)
    messages = {problem.field: problem.message for problem in problems}
    assert "https" in messages["allowed_origins.1"]
    assert "ISO 4217" in messages["currency"]


def test_unreadable_contrast_is_rejected(tmp_path):
    (tmp_path / "pale.toml").write_text(
        'slug = "pale"\nname = "Pale"\n[branding]\n'
        'background_color = "#ffffff"\ntext_color = "#dddddd"\n'
    )
    _, problems = load_partner_files(tmp_path)
    assert [(p.field, "WCAG AA" in p.message) for p in problems] == [("branding.text_color", True)]


def test_slug_must_match_file_name(tmp_path):
    (tmp_path / "one.toml").write_text('slug = "two"\nname = "Two"\n')
    _, problems = load_partner_files(tmp_path)
    assert [(p.field, "file name" in p.message) for p in problems] == [("slug", True)]


def test_invalid_toml_is_reported(tmp_path):
    (tmp_path / "broken.toml").write_text('slug = "broken"\nname = \n')
    _, problems = load_partner_files(tmp_path)
    assert problems[0].field == "-" and "not valid TOML" in problems[0].message


def test_validate_command_prints_each_problem_and_fails(tmp_path):
    (tmp_path / "bad.toml").write_text(BAD_PARTNER)
    result = CliRunner().invoke(cli, ["partners", "validate", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.toml'}: locale: must be one of: en, es, fr" in result.output
    assert "problem(s) found" in result.output


def test_validate_command_accepts_shipped_files():
    result = CliRunner().invoke(cli, ["partners", "validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "2 partner file(s) valid" in result.output


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("INSTANCE_PATH", str(settings.instance_path))
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")


def test_apply_is_an_idempotent_upsert(app, session, cli_env, tmp_path):
    runner = CliRunner()
    first = runner.invoke(cli, ["partners", "apply", str(SHIPPED)])
    assert first.exit_code == 0, first.output
    assert "demo: created" in first.output and "demo-away: created" in first.output
    again = runner.invoke(cli, ["partners", "apply", str(SHIPPED)])
    assert "demo: unchanged" in again.output and "demo-away: unchanged" in again.output

    changed = tmp_path / "demo.toml"
    changed.write_text((SHIPPED / "demo.toml").read_text().replace("Demo City FC", "Demo FC"))
    # The live partner differs from the file now: shown, kept, exit 1 without --force.
    third = runner.invoke(cli, ["partners", "apply", str(changed)])
    assert third.exit_code == 1, third.output
    assert "demo: differs from its file, kept" in third.output
    assert "name: 'Demo City FC' (live) -> 'Demo FC' (file)" in third.output
    assert session.scalar(select(Partner.name).where(Partner.slug == "demo")) == "Demo City FC"
    forced = runner.invoke(cli, ["partners", "apply", "--force", str(changed)])
    assert forced.exit_code == 0 and "demo: updated" in forced.output
    partners = session.scalars(select(Partner).order_by(Partner.slug)).all()
    assert [(p.slug, p.name) for p in partners] == [
        ("demo", "Demo FC"),
        ("demo-away", "Atlético Visitante"),
    ]
    actions = session.scalars(select(AuditLogEntry.action).order_by(AuditLogEntry.id)).all()
    assert actions == ["partner.created", "partner.created", "partner.updated"]


def test_apply_refuses_invalid_files_and_changes_nothing(app, session, cli_env, tmp_path):
    (tmp_path / "bad.toml").write_text(BAD_PARTNER)
    result = CliRunner().invoke(cli, ["partners", "apply", str(tmp_path)])
    assert result.exit_code == 1
    assert "nothing applied" in result.output
    assert session.scalars(select(Partner)).all() == []


def test_upsert_keeps_the_row_and_records_only_changes(session):
    from widget_server.domain.partners import PartnerSchema

    data = PartnerSchema().load({"slug": "kc", "name": "KC"})
    partner, outcome = upsert_partner(session, data, actor="test")
    same, again = upsert_partner(session, dict(data), actor="test")
    assert (outcome, again, same.id) == ("created", "unchanged", partner.id)
