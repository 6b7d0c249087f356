from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from portal.outbox.models import OutboxEntry
from portal.outbox.payloads import Topic
from portal.rooms import actions
from portal.rooms.models import Affiliation, RoleChange, Room


class AffiliationInline(admin.TabularInline):
    model = Affiliation
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    """Staff see every room, private ones too; every change goes through the outbox."""

    list_display = ("slug", "name", "visibility", "persistent", "occupant_count", "sync_state")
    list_filter = ("visibility", "persistent", "history")
    search_fields = ("slug", "name", "description", "affiliations__user__username")
    readonly_fields = ("occupant_count", "created_at", "updated_at", "sync_state", "last_error")
    inlines = [AffiliationInline]
    actions = ["destroy_rooms", "sync_rooms"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "slug") if obj else fields

    def _entries(self, room):
        return OutboxEntry.objects.filter(topic=Topic.ROOM, key=room.slug)

    @admin.display(description=_("sync state"))
    def sync_state(self, room):
        entries = self._entries(room).exclude(state=OutboxEntry.State.DONE)
        if entries.filter(state=OutboxEntry.State.PARKED).exists():
            return _("parked (needs attention)")
        if entries.exists():
            return _("pending")
        return _("in sync")

    @admin.display(description=_("last error"))
    def last_error(self, room):
        entry = self._entries(room).exclude(last_error="").order_by("-id").first()
        return entry.last_error if entry else "-"

    def save_model(self, request, obj, form, change):
        actions.save_room(obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        with transaction.atomic():
            actions.sync_room(form.instance.slug)  # affiliations edited inline

    def delete_model(self, request, obj):
        actions.delete_room(obj)

    def delete_queryset(self, request, queryset):
        for room in queryset:
            actions.delete_room(room)

    @admin.action(description=_("Destroy the selected rooms (occupants are told)"))
    def destroy_rooms(self, request, queryset):
        count = 0
        for room in queryset:
            actions.delete_room(room)
            count += 1
        self.message_user(request, _("%d rooms destroyed.") % count, messages.SUCCESS)

    @admin.action(description=_("Send the selected rooms to Prosody again"))
    def sync_rooms(self, request, queryset):
        with transaction.atomic():
            for slug in queryset.values_list("slug", flat=True):
                actions.sync_room(slug)
        self.message_user(request, _("Rooms queued for sync."), messages.SUCCESS)


@admin.register(RoleChange)
class RoleChangeAdmin(admin.ModelAdmin):
    """Kicks and role changes and whether they reached Prosody (read only: they are events)."""

    list_display = ("created_at", "room", "jid", "role", "state", "actor", "reason")
    list_filter = ("state", "role")
    search_fields = ("jid", "room__slug", "reason")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
