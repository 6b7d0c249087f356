"""Moderation: staff clear an abusive profile, and XMPP clients follow."""

from portal.outbox.models import OutboxEntry
from portal.profiles.models import Profile
from tests.people import sign_up


def test_admin_clears_a_profile_and_queues_its_publication(db, admin_client):
    alice = sign_up("alice")
    alice.post("/profile/", {"name": "Rude name", "about": "Rude about"})
    profile = Profile.objects.get(user__username="alice")
    response = admin_client.post(
        "/admin/profiles/profile/",
        {"action": "clear_profiles", "_selected_action": [profile.pk]},
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.name, profile.about, profile.avatar) == ("", "", "")
    assert OutboxEntry.objects.filter(topic="profile", key="alice").count() == 2
