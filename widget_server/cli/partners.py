"""`ridepledge partners`: partners declared as files (partner_config/, docs/branding.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from widget_server.extensions import db

partners_group = AppGroup("partners", help="Partners declared as files.")


@partners_group.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
def partners_validate(path: Path) -> None:
    """Check partner file(s) at PATH; print every problem and exit 1 if there is any."""
    from widget_server.domain.partners import load_partner_files

    partners, problems = load_partner_files(path)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found", err=True)
        sys.exit(1)
    click.echo(f"{len(partners)} partner file(s) valid: {', '.join(p['slug'] for p in partners)}")


@partners_group.command("apply")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--force", is_flag=True, help="Overwrite partners whose live settings differ from the file."
)
@with_appcontext
def partners_apply(path: Path, force: bool) -> None:
    """Create the partners declared at PATH. A partner that exists already and differs from
    its file (changed through the API or the console since) is left as it is: its differences
    are shown, and the command exits 1 unless --force overwrites them. Idempotent."""
    if apply_partners(path, force=force) and not force:
        sys.exit(1)


Differences = dict[str, tuple]


def apply_partners(
    path: Path,
    *,
    force: bool = False,
    show_differences: bool = True,
    relevant: Callable[[Differences], Differences] | None = None,
) -> dict[str, list[str]]:
    """Apply the partner files at `path`; returns the existing partners that differ from their
    file and were left alone (slug -> the fields that differ).

    `relevant` keeps only the differences that count (the demo drops the ones it makes itself);
    a partner without relevant differences is left as it is. With `show_differences`, each
    kept partner's differences are printed, live value against the file's."""
    from widget_server.domain.partners import (
        load_partner_files,
        partner_differences,
        upsert_partner,
    )

    partners, problems = load_partner_files(path)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo("nothing applied: fix the problems above first", err=True)
        sys.exit(1)
    kept: dict[str, list[str]] = {}
    with db.transaction() as session:
        for data in partners:
            differences = partner_differences(session, data)
            if relevant is not None and differences:
                differences = relevant(differences)
                if not differences:
                    continue
            if differences and not force:
                kept[data["slug"]] = list(differences)
                if show_differences:
                    click.echo(f"{data['slug']}: differs from its file, kept (--force overwrites):")
                    for field, (live, wanted) in differences.items():
                        click.echo(f"  {field}: {live!r} (live) -> {wanted!r} (file)")
                continue
            partner, outcome = upsert_partner(session, data, actor="cli")
            click.echo(f"{partner.slug}: {outcome}")
    return kept
