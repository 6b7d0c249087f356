"""The portal's readers for the environment: stack/env.py's, with Django's error.

Each helper fails loudly on a malformed value instead of guessing, and takes
NAME_FILE for secrets (see stack/env.py).
"""

from functools import wraps

from django.core.exceptions import ImproperlyConfigured

from stack import env as shared


def _improperly_configured(reader):
    @wraps(reader)
    def read(*args, **kwargs):
        try:
            return reader(*args, **kwargs)
        except shared.EnvError as error:
            raise ImproperlyConfigured(str(error)) from None

    return read


env_str = _improperly_configured(shared.env_str)
env_bool = _improperly_configured(shared.env_bool)
env_int = _improperly_configured(shared.env_int)
env_float = _improperly_configured(shared.env_float)
env_list = _improperly_configured(shared.env_list)
env_choice = _improperly_configured(shared.env_choice)
