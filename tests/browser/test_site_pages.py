"""The service's own pages under their Content-Security-Policy, in Chromium: Swagger UI at /docs
still renders (its script and styles are allowed) and the landing page breaks no rule."""

from __future__ import annotations

import pytest


@pytest.mark.browser
def test_swagger_ui_renders_under_its_csp(world, page):
    problems = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_default_timeout(30_000)  # Swagger UI renders the whole document; a busy CI is slow
    page.goto(world.widget + "/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "RidePledge partner API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag")  # the operations, from /v1/openapi.json
    assert page.locator(".opblock").count() > 10
    # Swagger UI's own styles apply (a rule of swagger-ui.css: opblocks get a border).
    border = page.eval_on_selector(".opblock", "e => getComputedStyle(e).borderTopStyle")
    assert border == "solid"
    violations = [line for line in problems if "Content Security Policy" in line]
    assert violations == []


@pytest.mark.browser
def test_the_landing_page_breaks_no_csp_rule(world, page):
    problems = []
    page.on("console", lambda message: problems.append(message.text))
    page.goto(world.widget + "/")
    assert "RidePledge" in page.inner_text("h1")
    # The inline style is allowed by its nonce: the page is laid out by it (never cached).
    assert page.eval_on_selector("main", "e => getComputedStyle(e).maxWidth") != "none"
    assert [line for line in problems if "Content Security Policy" in line] == []


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/w/demo/trips/{open}", "/t/demo/{open}"])
def test_cacheable_trip_pages_break_no_csp_rule(world, page, path):
    """The widget's and the public trip page allow their one inline style by its hash (no
    nonce, so a shared cache may keep them): the theme applies and nothing is refused."""
    problems = []
    page.on("console", lambda message: problems.append(message.text))
    page.goto(world.widget + path.format(**world.ids))
    assert page.inner_text("h1")
    primary = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--rp-primary')"
    )
    assert primary.strip().startswith("#")
    assert [line for line in problems if "Content Security Policy" in line] == []
