"""People in tests: signing up through the portal, rooms they belong to, the
outbox rows their actions write, and waiting until Prosody has what the portal
has (the bridge applied those rows).

Django test clients here talk to the portal in this process; tests of a portal
in another process (tests/stacks.py, tests/production_stack.py, the browser
tests) post the same `signup_form`.
"""

from contextlib import contextmanager

from django.test import Client

from tests.xmpp_client import can_log_in, eventually

PASSWORD = "correct horse battery"


def signup_form(username: str, password: str = PASSWORD, email: str | None = None) -> dict:
    """The signup page's fields as a person fills them in."""
    return {
        "username": username,
        "email": email or f"{username.lower()}@example.org",
        "password1": password,
        "password2": password,
    }


def post_signup(username: str, password: str = PASSWORD, email=None, client=None):
    """Submit the signup page; the response, whether the portal accepted it or not."""
    return (client or Client()).post("/accounts/signup/", signup_form(username, password, email))


def sign_up(username: str, password: str = PASSWORD, email=None, client=None) -> Client:
    """Sign up through the portal's signup page; the browser, now logged in."""
    client = client or Client()
    response = post_signup(username, password, email, client)
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def account(username: str, password: str = PASSWORD, **fields):
    """A portal account made directly: no signup page, no wait for Prosody."""
    from portal.accounts.models import User

    return User.objects.create_user(username, f"{username}@example.org", password, **fields)


def browser_of(user) -> Client:
    """A browser logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client


def signed_in(username: str, password: str = PASSWORD, **fields) -> Client:
    """A new account (see `account`) and its logged-in browser."""
    return browser_of(account(username, password, **fields))


def wait_until_provisioned(server, username: str, password: str = PASSWORD, timeout=10) -> str:
    """Until the bridge has made the XMPP account on `server`; its JID."""
    jid = f"{username}@{server.domain}"
    eventually(lambda: can_log_in(server, jid, password), timeout=timeout)
    return jid


def member(server, username: str, password: str = PASSWORD, *, through_signup=False) -> Client:
    """Someone with a portal account whose XMPP account is provisioned on
    `server`; their logged-in browser. Created as the signup page creates people
    (that page is rate limited), or through it with `through_signup`."""
    # Either way set_password derives the SCRAM keys Prosody checks.
    client = sign_up(username, password) if through_signup else signed_in(username, password)
    wait_until_provisioned(server, username, password)
    return client


def make_room_member(owner: Client, slug: str, username: str, affiliation="member"):
    """The room's owner (or admin) gives `username` an affiliation on the members page."""
    response = owner.post(
        f"/rooms/{slug}/members/", {"username": username, "affiliation": affiliation}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


class OutboxRows(list):
    """The outbox rows written inside a `capture_outbox()` block, oldest first."""

    def of(self, topic: str, key: str | None = None) -> list:
        return [row for row in self if row.topic == topic and (key is None or row.key == key)]

    def keys(self, topic: str) -> list[str]:
        return [row.key for row in self.of(topic)]

    def current(self) -> "OutboxRows":
        """The same rows as the database holds them now (applied, retried...)."""
        from portal.outbox.models import OutboxEntry

        return OutboxRows(OutboxEntry.objects.filter(id__in=[r.id for r in self]).order_by("id"))


@contextmanager
def capture_outbox():
    """`with capture_outbox() as rows:` ... after the block, `rows` holds the
    outbox rows enqueued inside it (the bridge may have applied them since)."""
    from portal.outbox.models import OutboxEntry

    last = OutboxEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    rows = OutboxRows()
    yield rows
    rows.extend(OutboxEntry.objects.filter(id__gt=last).order_by("id"))


def pending_outbox(**filters):
    """Outbox rows the bridge has still to apply (or to retry)."""
    from portal.outbox.models import OutboxEntry

    return OutboxEntry.objects.filter(state=OutboxEntry.State.PENDING, **filters)


def unapplied_outbox(**filters):
    """Outbox rows not applied: pending or parked."""
    from portal.outbox.models import OutboxEntry

    return OutboxEntry.objects.exclude(state=OutboxEntry.State.DONE).filter(**filters)


def outbox_settled(**filters) -> bool:
    return not pending_outbox(**filters).exists()


def wait_until_synced(timeout: float = 10, **filters) -> None:
    """Until the bridge has applied every outbox row matching `filters` (topic,
    key...): what the portal holds of that person or room is in Prosody."""
    try:
        eventually(lambda: outbox_settled(**filters), timeout=timeout)
    except AssertionError:
        waiting = list(pending_outbox(**filters).values("topic", "key", "attempts", "last_error"))
        raise AssertionError(f"not applied within {timeout} s: {waiting}") from None
