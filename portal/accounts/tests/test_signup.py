"""Signing up and logging in to the portal: usernames are XMPP localparts."""

import pytest
from django.test import Client

from portal.accounts.models import RetiredUsername, User
from portal.outbox.models import OutboxEntry
from tests.people import PASSWORD, post_signup


@pytest.mark.django_db
def test_username_is_lowercased_and_then_taken_in_any_case():
    assert post_signup("Alice", email="alice@example.org").status_code == 302
    assert User.objects.get().username == "alice"
    response = post_signup("ALICE", email="other@example.org")
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert User.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "username, message",
    [
        ("a@b", "Use only lowercase letters"),
        ("a/b", "Use only lowercase letters"),
        ("a b", "Use only lowercase letters"),
        ("é", "A username has 2 to 32 characters"),
        ("éé", "Use only lowercase letters"),
        ("x" * 33, "32"),
        ("_alice", "start with a letter or a digit"),
        ("admin", "reserved"),
        ("Conference", "reserved"),
    ],
)
def test_invalid_usernames_get_a_clear_error_and_create_nothing(username, message):
    response = post_signup(username, email="someone@example.org")
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get("username", []))
    assert message in errors, errors
    assert not User.objects.exists()
    assert not OutboxEntry.objects.exists()


@pytest.mark.django_db
def test_deployment_can_reserve_more_usernames(settings):
    settings.RESERVED_USERNAMES = ["helpdesk"]
    response = post_signup("helpdesk", email="someone@example.org")
    assert "reserved" in " ".join(response.context["form"].errors["username"])


@pytest.mark.django_db
def test_username_of_a_deleted_account_is_never_given_out_again():
    post_signup("carol", email="carol@example.org")
    User.objects.get(username="carol").delete()
    assert RetiredUsername.objects.filter(username="carol").exists()
    response = post_signup("carol", email="carol2@example.org")
    assert "not available" in " ".join(response.context["form"].errors["username"])


@pytest.mark.django_db
def test_login_accepts_username_or_email():
    post_signup("dave", email="dave@example.org")
    for login in ("dave", "dave@example.org", "DAVE"):
        client = Client()
        response = client.post("/accounts/login/", {"login": login, "password": PASSWORD})
        assert response.status_code == 302, login
        assert client.get("/").context["user"].username == "dave"


@pytest.mark.django_db
def test_repeated_wrong_passwords_are_rate_limited():
    post_signup("erin", email="erin@example.org")
    client = Client()
    messages = []
    for _ in range(8):
        response = client.post("/accounts/login/", {"login": "erin", "password": "wrong"})
        messages.append(" ".join(response.context["form"].non_field_errors()))
    assert "Too many failed login attempts" in messages[-1]
    # Even the right password is refused while the limit holds.
    response = client.post("/accounts/login/", {"login": "erin", "password": PASSWORD})
    assert response.status_code != 302


@pytest.mark.django_db
def test_signup_writes_the_account_and_its_outbox_row_together():
    post_signup("frank", email="frank@example.org")
    entry = OutboxEntry.objects.get()
    assert (entry.topic, entry.key, entry.state) == ("account", "frank", "pending")
    user = User.objects.get()
    assert user.scram_stored_key and user.scram_server_key and user.scram_iterations >= 4096


@pytest.mark.django_db
def test_accounts_made_outside_the_signup_form_get_xmpp_credentials():
    from portal.accounts.scram import derive_scram_sha1

    for user in (
        User.objects.create_user("gina", password=PASSWORD),
        User.objects.create_superuser("hank", "hank@example.org", PASSWORD),
    ):
        expected = derive_scram_sha1(PASSWORD, user.scram_iterations, salt=user.scram_salt)
        assert user.scram_stored_key == expected.stored_key
        assert user.scram_server_key == expected.server_key
        assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_an_account_made_without_a_password_has_no_usable_xmpp_password():
    user = User.objects.create_user("ivy")
    assert not user.has_usable_password()
    assert user.scram_stored_key  # exists in Prosody (for web tokens)...
    from portal.accounts.scram import derive_scram_sha1

    for guess in ("", "None"):  # ...with keys no password matches
        keys = derive_scram_sha1(guess, user.scram_iterations, salt=user.scram_salt)
        assert keys.stored_key != user.scram_stored_key
