"""An invite in a real browser, under the portal's Content-Security-Policy: staff
create it and see its QR code; the invitee opens the link and signs up."""

import pytest
from playwright.sync_api import expect

from portal.accounts.models import User
from tests.chat_page import log_in

PASSWORD = "correct horse battery"


@pytest.mark.django_db(transaction=True)
def test_invite_qr_code_renders_under_the_csp_and_the_link_signs_someone_up(
    live_server, open_browser, settings
):
    settings.SIGNUP_MODE = "invite"
    User.objects.create_user("inviter", "inviter@example.org", PASSWORD, is_staff=True)
    staff = open_browser("inviter")
    violations = []
    staff.page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    log_in(staff, live_server.url, "inviter")
    staff.page.click("nav >> text=Invites")
    staff.page.fill("input[name=note]", "for Nina")
    staff.page.click("main form button[type=submit]")
    qr = staff.page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box["width"] >= 100 and box["width"] == box["height"]
    link = staff.page.locator("input.invite-link").input_value()
    assert link.startswith(f"{live_server.url}/invite/")
    staff.screenshot("invite-qr-code")
    assert not violations, violations
    assert staff.hosts() == {live_server.url.split("://", 1)[1]}

    nina = open_browser("nina")
    nina.page.goto(link)
    nina.page.click("text=Create your account")
    nina.page.fill("input[name=username]", "nina")
    nina.page.fill("input[name=email]", "nina@example.org")
    nina.page.fill("input[name=password1]", PASSWORD)
    nina.page.fill("input[name=password2]", PASSWORD)
    nina.page.click("main form button[type=submit]")
    nina.page.wait_for_url(f"{live_server.url}/")
    assert User.objects.filter(username="nina").exists()

    again = open_browser("again")
    again.page.goto(link)
    expect(again.page.locator(".invite-error")).to_contain_text("used as many times")
