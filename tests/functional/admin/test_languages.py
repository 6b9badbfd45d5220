"""The console speaks the widget's languages: the browser's choice or ?locale=."""

from __future__ import annotations

import pytest

from tests.admin_helpers import sign_in, team

SIGN_IN = {
    "en": "Sign in to the console",
    "es": "Inicia sesión en la consola",
    "fr": "Connectez-vous à la console",
}
SIGN_OUT = {"en": "Sign out", "es": "Cerrar sesión", "fr": "Se déconnecter"}


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_console_pages_in_each_language(app, client, locale):
    people = team(app)
    page = client.get("/admin/login", headers={"Accept-Language": locale}).get_data(as_text=True)
    assert f'<html lang="{locale}">' in page
    assert SIGN_IN[locale] in page
    sign_in(client, people["owner"])
    home = client.get(f"/admin/?locale={locale}").get_data(as_text=True)
    assert SIGN_OUT[locale] in home
