from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from portal.accounts import actions
from portal.accounts.models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.user_saved")
def user_saved(sender, instance, created, update_fields, raw=False, **kwargs):
    if not raw:
        actions.account_changed(instance, created, update_fields)


@receiver(post_delete, sender=User, dispatch_uid="accounts.user_deleted")
def user_deleted(sender, instance, **kwargs):
    actions.retire_account(instance)


@receiver(pre_delete, sender=User, dispatch_uid="accounts.user_deleting")
def user_deleting(sender, instance, **kwargs):
    actions.account_deleting(instance)
