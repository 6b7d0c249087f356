from django.contrib import admin

from portal.invites.models import Invite


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ("id", "note", "created_by", "created_at", "expires_at", "uses", "max_uses")
    list_filter = ("created_at",)
    search_fields = ("note", "created_by__username")
    # Invites change through the portal's pages only, so each change is audited.
    readonly_fields = [f.name for f in Invite._meta.fields if f.name != "token"] + ["rooms"]
    exclude = ("token",)

    def has_add_permission(self, request):
        return False
