from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts import actions
from accounts.models import RetiredUsername, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "is_active", "is_staff", "date_joined")
    actions = ["deactivate_users", "reactivate_users"]

    @admin.action(description="Deactivate the selected users (XMPP login refused)")
    def deactivate_users(self, request, queryset):
        for user in queryset.filter(is_active=True):
            actions.deactivate(user)
        self.message_user(request, "Users deactivated.", messages.SUCCESS)

    @admin.action(description="Reactivate the selected users")
    def reactivate_users(self, request, queryset):
        for user in queryset.filter(is_active=False):
            actions.reactivate(user)
        self.message_user(request, "Users reactivated.", messages.SUCCESS)


@admin.register(RetiredUsername)
class RetiredUsernameAdmin(admin.ModelAdmin):
    list_display = ("username", "retired_at")
    search_fields = ("username",)
