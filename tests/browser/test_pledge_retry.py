"""widget.js sends one Idempotency-Key per pledge attempt: when the answer is lost (the server
made the pledge, the phone never heard), pressing again sends the same attempt with the same key
and gets the first pledge back; nothing is pledged twice."""

from __future__ import annotations

import re

from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import Pledge

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_a_lost_answer_then_a_second_press_makes_one_pledge(world, page):
    sent: list[dict] = []
    answers: list[dict] = []

    def lose_the_first_answer(route):
        sent.append(route.request.headers)
        if len(sent) == 1:
            route.fetch()  # the server makes the pledge ...
            route.abort("connectionreset")  # ... and the phone never hears it
            return
        response = route.fetch()
        answers.append(response.headers)
        route.fulfill(response=response)

    page.route(re.compile(r".*/api/trips/[^/]+/pledges$"), lose_the_first_answer)
    page.goto(f"{world.widget}/w/demo/trips/{world.ids['open']}/pledge")
    form = page.locator("form[data-pledge-form]")
    form.locator("#name").fill("Robin Retry")
    form.locator("#email").fill("robin@example.com")
    form.locator("#card_number").fill("4242 4242 4242 4242")
    form.locator("button[data-submit]").click()
    problem = form.locator("[data-form-problem]")
    problem.wait_for(state="visible")
    assert "could not reach the server" in problem.inner_text()

    form.locator("button[data-submit]").click()  # the fan presses again
    page.wait_for_url("**/w/demo/pledged/**")
    assert len(sent) == 2
    assert UUID.match(sent[0]["idempotency-key"])
    assert sent[1]["idempotency-key"] == sent[0]["idempotency-key"]
    assert answers[0].get("idempotent-replayed") == "true"
    with world.app.app_context():
        pledges = db.session.scalars(select(Pledge).where(Pledge.email == "robin@example.com"))
        assert len(list(pledges)) == 1


def test_a_changed_form_is_a_new_attempt_with_a_new_key(world, page):
    keys: list[str] = []

    def record(route):
        keys.append(route.request.headers.get("idempotency-key"))
        route.continue_()

    page.route(re.compile(r".*/api/trips/[^/]+/pledges$"), record)
    page.goto(f"{world.widget}/w/demo/trips/{world.ids['open']}/pledge")
    form = page.locator("form[data-pledge-form]")
    form.locator("#name").fill("Casey Card")
    form.locator("#email").fill("casey@example.com")
    form.locator("#card_number").fill("4000 0000 0000 0002")  # declined
    form.locator("button[data-submit]").click()
    form.locator('[data-error-for="payment_method"]').wait_for(state="visible")
    form.locator("#card_number").fill("4242 4242 4242 4242")
    form.locator("button[data-submit]").click()
    page.wait_for_url("**/w/demo/pledged/**")
    assert len(keys) == 2 and all(UUID.match(key) for key in keys) and keys[0] != keys[1]
