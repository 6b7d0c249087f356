"""Many people at once in the bench database: bulk_create with SCRAM keys
derived once (a signup's cost is not what these benchmarks measure). No outbox
rows are written; the reconciler is what brings Prosody in step."""

from portal.accounts.scram import derive_scram_sha1

BATCH = 2000


def create_people(count: int, prefix: str = "person") -> list[str]:
    from django.conf import settings
    from django.db import transaction

    from portal.accounts.models import User
    from portal.profiles.models import Profile

    keys = derive_scram_sha1(f"{prefix}-password", settings.XMPP_SCRAM_ITERATIONS)
    usernames = [f"{prefix}{i:05d}" for i in range(count)]
    with transaction.atomic():
        for start in range(0, count, BATCH):
            users = User.objects.bulk_create(
                User(
                    username=name,
                    email=f"{name}@example.org",
                    password="!",  # unusable on the web; XMPP keys below
                    scram_salt=keys.salt,
                    scram_iterations=keys.iterations,
                    scram_stored_key=keys.stored_key,
                    scram_server_key=keys.server_key,
                )
                for name in usernames[start : start + BATCH]
            )
            Profile.objects.bulk_create(
                Profile(user=user, name=f"Person {user.username[len(prefix) :]}") for user in users
            )
    return usernames
