"""The staff page on people in a real browser: only staff see the way there, and a
deactivation made from it takes effect and shows."""

import pytest
from playwright.sync_api import expect

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from tests.chat_page import log_in

PASSWORD = "correct horse battery"


@pytest.mark.django_db(transaction=True)
def test_staff_find_and_deactivate_someone_from_the_people_page(live_server, open_browser):
    User.objects.create_user("keeper", "keeper@example.org", PASSWORD, is_staff=True)
    User.objects.create_user("rowdy", "rowdy@example.org", PASSWORD)
    User.objects.create_user("calm", "calm@example.org", PASSWORD)

    member = open_browser("calm")
    log_in(member, live_server.url, "calm")
    expect(member.page.locator("nav >> text=Manage people")).to_have_count(0)

    staff = open_browser("keeper")
    log_in(staff, live_server.url, "keeper")
    staff.page.click("nav >> text=Manage people")
    staff.page.fill("input[name=q]", "rowd")
    staff.page.click("main form[role=search] button")
    rows = staff.page.locator("table.accounts tbody tr")
    expect(rows).to_have_count(1)
    rows.first.locator("a").click()
    staff.page.fill("form[action$='/deactivate/'] input[name=reason]", "flooding")
    staff.page.click("form[action$='/deactivate/'] button")
    expect(staff.page.locator("dd.state")).to_have_text("deactivated")
    expect(staff.page.locator(".messages")).to_contain_text("rowdy is deactivated")
    staff.screenshot("staff-person-deactivated")
    assert not User.objects.get(username="rowdy").is_active
    assert AuditEntry.objects.get(action="user.deactivate").reason == "flooding"
