from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from portal.accounts import actions
from portal.accounts.models import RetiredUsername, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "first_name", "is_active", "is_staff", "date_joined")
    actions = ["deactivate_users", "reactivate_users"]

    # The same actions as the portal's staff pages, so these are audited too.
    @admin.action(description="Deactivate the selected users (XMPP login refused)")
    def deactivate_users(self, request, queryset):
        for user in queryset.filter(is_active=True):
            try:
                actions.deactivate_account(request.user, user)
            except actions.AccountRefused as refusal:
                self.message_user(request, f"{user}: {refusal}", messages.ERROR)
        self.message_user(request, "Users deactivated.", messages.SUCCESS)

    def delete_model(self, request, obj):
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request, queryset):
        for user in queryset:
            try:
                actions.delete_account(request.user, user)
            except actions.AccountRefused as refusal:
                self.message_user(request, f"{user}: {refusal}", messages.ERROR)

    @admin.action(description="Reactivate the selected users")
    def reactivate_users(self, request, queryset):
        for user in queryset.filter(is_active=False):
            actions.reactivate_account(request.user, user)
        self.message_user(request, "Users reactivated.", messages.SUCCESS)


@admin.register(RetiredUsername)
class RetiredUsernameAdmin(admin.ModelAdmin):
    list_display = ("username", "retired_at")
    search_fields = ("username",)
