"""The room parts of the portal benchmarks (sync latency, reconcile, /rooms/),
active when the portal has its rooms app (portal/rooms) installed; until then
each scenario reports them as skipped. Written against rooms.actions
(create_room, save_room, set_affiliation) and rooms.models (Room, Affiliation).
"""

SKIPPED = "skipped: the rooms app is not installed"


def installed() -> bool:
    from django.apps import apps

    return apps.is_installed("rooms")


# ---------- portal actions (run on the portal's database thread) ----------


def create_room(slug: str, name: str, owner_username: str) -> str:
    from portal.accounts.models import User
    from portal.rooms.actions import create_room as create
    from portal.rooms.models import Room

    return create(User.objects.get(username=owner_username), Room(slug=slug, name=name)).jid


def rename_room(slug: str, name: str) -> None:
    from portal.rooms.actions import save_room
    from portal.rooms.models import Room

    room = Room.objects.get(slug=slug)
    room.name = name
    save_room(room)


def add_member(slug: str, owner_username: str, member_username: str) -> None:
    from portal.accounts.models import User
    from portal.rooms.actions import set_affiliation
    from portal.rooms.models import Affiliation, Room

    room = Room.objects.get(slug=slug)
    owner = User.objects.get(username=owner_username)
    member = User.objects.get(username=member_username)
    set_affiliation(room, owner, member, Affiliation.Kind.MEMBER)


def create_rooms(count: int, owner_usernames: list[str], members_per_room: int = 5) -> None:
    """Many rooms at once (bulk_create, no outbox rows), each with an owner and
    a few members taken in turn from `owner_usernames`."""
    from django.db import transaction

    from portal.rooms.models import Affiliation, Room

    with transaction.atomic():
        rooms = Room.objects.bulk_create(
            Room(slug=f"room{i:05d}", name=f"Room {i}") for i in range(count)
        )
        affiliations = []
        people = len(owner_usernames)
        ids = dict(_user_ids(owner_usernames))
        for i, room in enumerate(rooms):
            for k in range(min(members_per_room, people)):
                kind = Affiliation.Kind.OWNER if k == 0 else Affiliation.Kind.MEMBER
                user_id = ids[owner_usernames[(i + k) % people]]
                affiliations.append(Affiliation(room=room, user_id=user_id, kind=kind))
        Affiliation.objects.bulk_create(affiliations, batch_size=2000)


def _user_ids(usernames: list[str]):
    from portal.accounts.models import User

    return User.objects.filter(username__in=usernames).values_list("username", "id")


# ---------- what the observer sees over XMPP ----------


def disco_info(room_jid: str) -> str:
    return (
        f"<iq type='get' id='d' to='{room_jid}'>"
        "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
    )


def shows_name(reply: bytes, name: str) -> bool:
    return b"type='result'" in reply and f"name='{name}'".encode() in reply


def member_list(room_jid: str) -> str:
    return (
        f"<iq type='get' id='m' to='{room_jid}'>"
        "<query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/>"
        "</query></iq>"
    )


def lists_member(reply: bytes, member_jid: str) -> bool:
    return f"jid='{member_jid}'".encode() in reply
