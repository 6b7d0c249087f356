from django.contrib import admin, messages

from portal.profiles import actions
from portal.profiles.models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Read-only fields: changes go through actions, so they reach XMPP too."""

    list_display = ("user", "name", "updated_at")
    search_fields = ("user__username", "name")
    readonly_fields = ("user", "name", "about", "avatar", "avatar_sha1", "updated_at")
    list_select_related = ("user",)
    actions = ["clear_profiles"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Clear name, about and avatar (also in XMPP clients)")
    def clear_profiles(self, request, queryset):
        for profile in queryset.select_related("user"):
            actions.update_profile(profile.user, name="", about="", remove_avatar=True)
        self.message_user(request, "Profiles cleared.", messages.SUCCESS)
