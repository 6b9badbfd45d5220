"""The fan's manage page (from the signed link): works without JavaScript."""

from tests.conftest import run_jobs
from tests.functional.test_widget_api import pledge, shop  # noqa: F401 (fixture)
from tests.widget_helpers import form_fields, forms, submit_form


def token_of(response) -> str:
    return response.json["manage_url"].rsplit("/", 1)[-1]


def test_manage_page_shows_the_pledge_in_partner_branding(client, shop):  # noqa: F811
    token = token_of(pledge(client, shop, seats=2))
    page = client.get(f"/w/kc-chiefs/manage/{token}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "--rp-primary: #0b5cad" in html
    assert "$70.00" in html and "Stop 1" in html
    assert "Withdraw my pledge" in html


def test_withdraw_through_the_page(client, shop):  # noqa: F811
    token = token_of(pledge(client, shop))
    manage = f"/w/kc-chiefs/manage/{token}"
    html = client.get(manage).get_data(as_text=True)
    # The manage page asks first: its button leads to the question, not to the withdrawal.
    assert "/cancel" not in [form["action"] for form in forms(html)]
    assert f'href="/w/kc-chiefs/manage/{token}/cancel" data-withdraw-start' in html
    question = client.get(f"{manage}/cancel").get_data(as_text=True)
    assert "Withdraw this pledge?" in question and "Your 1 seat goes back" in question
    assert f'href="/w/kc-chiefs/manage/{token}"' in question  # "No, keep my pledge"
    action, hidden = form_fields(question, "/cancel")
    response = client.post(action, data=hidden)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your pledge was withdrawn" in page and 'data-status="canceled"' in page
    assert "Withdrawn" in page and "Withdraw my pledge" not in page
    # Sent again (say, from a second tab opened before): refused in words, nothing changes.
    refused = client.post(action, data=hidden)
    assert refused.status_code == 409
    assert "can no longer be withdrawn" in refused.get_data(as_text=True)
    # The question of a pledge that can no longer be withdrawn leads back to its page.
    again = client.get(f"{manage}/cancel")
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/manage/{token}")


def test_fix_card_with_a_test_card_number(app, client, shop):  # noqa: F811
    pledge(client, shop, seats=3)
    run_jobs(app)
    token = token_of(pledge(client, shop, payment_method="pm_card_authenticationRequired"))
    manage = f"/w/kc-chiefs/manage/{token}"
    html = client.get(manage).get_data(as_text=True)
    assert "Update your card" in html and "4242 4242 4242 4242" in html
    wrong = submit_form(client, manage, "/card", {"card_number": "1234"})
    assert wrong.status_code == 422 and "test card numbers" in wrong.get_data(as_text=True)
    declined = submit_form(client, manage, "/card", {"card_number": "4000 0000 0000 0002"})
    assert declined.status_code == 422 and "declined" in declined.get_data(as_text=True)
    fixed = submit_form(client, manage, "/card", {"card_number": "4242 4242 4242 4242"})
    assert fixed.status_code == 303
    page = client.get(fixed.headers["Location"]).get_data(as_text=True)
    assert "your card was updated" in page and 'data-status="paid"' in page


def test_change_stop_through_the_page(client, shop):  # noqa: F811
    token = token_of(pledge(client, shop))
    manage = f"/w/kc-chiefs/manage/{token}"
    response = submit_form(client, manage, "/stop", {"stop_id": shop["stops"][1]})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your pick-up stop was changed" in page and "Stop 2, 2 Main St" in page


def test_forged_link_is_a_404_page(client, shop):  # noqa: F811
    response = client.get("/w/kc-chiefs/manage/not-a-token", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "text/html"
