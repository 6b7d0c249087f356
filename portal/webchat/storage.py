"""Static files storage for production: hashed names, gzip copies (WhiteNoise).

Vendored bundles such as Converse.js end with ``sourceMappingURL`` comments
naming .map files the portal deliberately does not ship (they are 3x the size
of the code). Django's manifest storage would refuse to collect such a file,
so this storage rewrites CSS ``url()`` and ``@import`` references only; a
browser asks for a source map only when its developer tools are open.
"""

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    kept = []
    for extension, rules in patterns:
        rules = tuple(
            rule
            for rule in rules
            if "sourceMappingURL" not in (rule[0] if isinstance(rule, tuple) else rule)
        )
        if rules:
            kept.append((extension, rules))
    return tuple(kept)


class StaticStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(HashedFilesMixin.patterns)
