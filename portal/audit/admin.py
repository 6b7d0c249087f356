from django.contrib import admin

from portal.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_name", "action", "target", "room_slug", "reason")
    list_filter = ("action",)
    search_fields = ("actor_name", "target", "room_slug", "reason")
    date_hierarchy = "created_at"

    # The log is evidence: nobody edits or removes entries, staff included.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
