"""Every change to an account that Prosody must learn goes through here."""

from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils.translation import gettext as _

from portal.accounts.models import RetiredUsername, User, XmppPresence
from portal.audit.actions import record
from portal.outbox.actions import enqueue
from portal.outbox.payloads import SessionReport, Topic

# Outbox topics whose key is a username: what "this person's sync state" covers.
PERSON_TOPICS = (Topic.ACCOUNT, Topic.PROFILE)

# Fields whose change alters what Prosody must hold for the account.
XMPP_FIELDS = ("username", "is_active", "scram_salt", "scram_stored_key", "scram_server_key")


def sync_account(username: str) -> None:
    """Tell the bridge that <username>'s XMPP account must match the portal."""
    enqueue(Topic.ACCOUNT, username)


def account_changed(user: User, created: bool, update_fields) -> None:
    if update_fields is not None and not set(update_fields) & set(XMPP_FIELDS):
        return  # e.g. last_login: nothing Prosody holds
    sync_account(user.username)


def retire_account(user: User) -> None:
    """A deleted account keeps its name forever and loses its XMPP account and data."""
    with transaction.atomic():
        RetiredUsername.objects.get_or_create(username=user.username)
        sync_account(user.username)


def rooms_of(user: User) -> list[str]:
    """Slugs of the rooms where <user> has an affiliation (any kind, bans included)."""
    from portal.rooms.models import Affiliation

    return list(Affiliation.objects.filter(user=user).values_list("room__slug", flat=True))


def account_deleting(user: User) -> None:
    """Called before the account's rows go: its room affiliations are deleted with it
    (cascade), so each of its rooms must be sent to Prosody again without it."""
    from portal.rooms.actions import sync_room

    for slug in rooms_of(user):
        sync_room(slug)


def deactivate(user: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def reactivate(user: User) -> None:
    user.is_active = True
    user.save(update_fields=["is_active"])


# ---------- Staff administration (portal/accounts/staff_views.py) ----------


class AccountRefused(Exception):
    """Staff may not do this to this account; the message says why."""


def _check_may_remove(actor: User, user: User, refusal_for_self: str) -> None:
    """Nobody locks themselves out, and staff cannot remove those above them."""
    if actor.pk == user.pk:
        raise AccountRefused(refusal_for_self)
    if user.is_superuser and not actor.is_superuser:
        raise AccountRefused(_("Only a superuser can deactivate or delete a superuser."))


@transaction.atomic
def deactivate_account(actor: User, user: User, reason: str = "") -> None:
    """Refuse the person's logins everywhere; the bridge ends their XMPP sessions."""
    _check_may_remove(actor, user, _("You cannot deactivate your own account."))
    if user.is_active:
        deactivate(user)
        record(actor, "user.deactivate", user.username, reason=reason)


@transaction.atomic
def reactivate_account(actor: User, user: User, reason: str = "") -> None:
    if not user.is_active:
        reactivate(user)
        record(actor, "user.reactivate", user.username, reason=reason)


@transaction.atomic
def delete_account(actor: User, user: User, reason: str = "") -> None:
    """Delete the account with everything it has: its XMPP account and data in
    Prosody (roster, vCard, PEP, archive), its profile and avatar file, its
    room affiliations. Its username stays reserved (retire_account)."""
    _check_may_remove(actor, user, _("You cannot delete your own account."))
    username = user.username
    user.delete()  # receivers: account_deleting, retire_account, profile_deleted
    record(actor, "user.delete", username, reason=reason)


@transaction.atomic
def retry_sync(actor: User, user: User) -> int:
    """Queue the person's parked outbox rows again (after fixing what made them fail)."""
    from portal.outbox.actions import retry_parked
    from portal.outbox.models import OutboxEntry

    parked = OutboxEntry.objects.filter(
        topic__in=PERSON_TOPICS, key=user.username, state=OutboxEntry.State.PARKED
    )
    count = retry_parked(list(parked.values_list("id", flat=True)))
    if count:
        record(actor, "user.sync_retry", user.username)
    return count


@transaction.atomic
def send_password_reset(actor: User, user: User, request) -> None:
    """Mail the person allauth's own password reset link."""
    from allauth.account.forms import ResetPasswordForm

    if not user.is_active:
        raise AccountRefused(_("Reactivate the account before resetting its password."))
    form = ResetPasswordForm(data={"email": user.email})
    if not user.email or not form.is_valid() or user not in form.users:
        raise AccountRefused(_("This account has no e-mail address to send a reset link to."))
    record(actor, "user.password_reset", user.username)
    form.save(request)


# ---------- What Prosody reports about sessions (no outbox row: nothing goes back) ----------


def xmpp_sessions_reported(reports: Iterable[SessionReport]) -> None:
    """Store Prosody's reports (of one person, the last counts)."""
    reports = {report.username: report for report in reports}
    users = dict(User.objects.filter(username__in=reports).values_list("username", "pk"))
    with transaction.atomic():
        for username, report in reports.items():
            if username not in users:
                continue  # e.g. a service account the portal does not know
            presence, _ = XmppPresence.objects.select_for_update().get_or_create(
                user_id=users[username]
            )
            presence.sessions = report.sessions
            login_at = report.login_at
            if login_at and (presence.last_login_at is None or login_at > presence.last_login_at):
                presence.last_login_at = login_at
            presence.save()


def xmpp_sessions_listed(counts: Mapping[str, int]) -> int:
    """The reconciler's full listing (username -> live sessions, for every account
    Prosody holds): correct counts whose reports were lost."""
    current = dict(XmppPresence.objects.values_list("user__username", "sessions"))
    wrong = {u: n for u, n in counts.items() if current.get(u, 0) != n}
    wrong |= {u: 0 for u, n in current.items() if n and u not in counts}
    if wrong:
        xmpp_sessions_reported(SessionReport(username, count) for username, count in wrong.items())
    return len(wrong)
