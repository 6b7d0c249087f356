from django.db.models.signals import post_delete
from django.dispatch import receiver

from portal.profiles import actions
from portal.profiles.models import Profile


@receiver(post_delete, sender=Profile, dispatch_uid="profiles.profile_deleted")
def profile_deleted(sender, instance, **kwargs):
    actions.profile_deleted(instance)
