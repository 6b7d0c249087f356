"""A staticfiles finder exposing only the Converse.js files a chat page needs."""

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

from portal.webchat import converse_dist


class ConverseFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=converse_dist.DIST_DIR)
        self.storage.prefix = converse_dist.static_dir()
        self.files = converse_dist.needed_files([code for code, _ in settings.LANGUAGES])

    def check(self, **kwargs):
        missing = [name for name in self.files if not (converse_dist.DIST_DIR / name).is_file()]
        if missing:
            return [
                Error(
                    f"Converse.js files missing from {converse_dist.DIST_DIR}: "
                    f"{', '.join(missing)}",
                    hint="Run `npm ci` in the repository root (make run/test do).",
                    id="webchat.E001",
                )
            ]
        return []

    def find(self, path, find_all=False, **kwargs):
        prefix = f"{self.storage.prefix}/"
        if path.startswith(prefix) and path[len(prefix) :] in self.files:
            match = self.storage.path(path[len(prefix) :])
            return [match] if find_all else match
        return []

    def list(self, ignore_patterns):
        for name in self.files:
            yield name, self.storage
