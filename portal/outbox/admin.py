from django.contrib import admin, messages

from portal.outbox.actions import retry_parked
from portal.outbox.models import OutboxEntry


@admin.register(OutboxEntry)
class OutboxEntryAdmin(admin.ModelAdmin):
    list_display = ("id", "topic", "key", "state", "attempts", "created_at", "applied_at")
    list_filter = ("state", "topic")
    search_fields = ("key",)
    readonly_fields = [f.name for f in OutboxEntry._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected parked entries")
    def retry(self, request, queryset):
        count = retry_parked(queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} entries queued again.", messages.SUCCESS)
