"""The avatar pipeline: whatever image arrives (an upload in the portal, or an
avatar set from an XMPP client), what is stored, served and published is an
image we encoded ourselves.

- Accepted: JPEG, PNG, GIF (first frame) and WebP, up to AVATAR_MAX_BYTES and
  AVATAR_MAX_PIXELS (settings). Only those four Pillow decoders are ever asked
  to parse the bytes; the size in pixels is checked from the header before any
  pixel is decoded, so a decompression bomb is refused cheaply.
- Output: the EXIF orientation applied, a centred square crop, 256x256,
  re-encoded as baseline JPEG (quality 85) from a fresh pixel buffer, so no
  metadata (EXIF, GPS, ICC, comments) survives. Transparency is flattened onto
  white. JPEG because every XMPP client decodes it and a 256x256 photo stays
  around 20 KB, small enough to ride in a vCard to every contact.
- Stored once under MEDIA_ROOT/avatars/<sha256>.jpg: content-addressed, so the
  file behind a name never changes and can be cached forever.
"""

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

AVATAR_SIZE = 256
AVATAR_INPUT_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
AVATAR_CONTENT_TYPE = "image/jpeg"
AVATAR_FILE_NAME = re.compile(r"^[0-9a-f]{64}\.jpg$")
JPEG_QUALITY = 85

# EXIF orientation -> the transposition that makes the image upright.
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# What Pillow raises on files it cannot make sense of (damaged headers,
# truncated data, oversized text chunks, bombs).
DECODE_ERRORS = (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError)
DECODE_ERRORS += (ValueError, EOFError, IndexError, TypeError, KeyError)


class AvatarError(ValueError):
    """An image the pipeline refuses; the message is meant for the person who sent it."""


@dataclass(frozen=True)
class EncodedAvatar:
    """A normalised avatar, ready to store and publish."""

    data: bytes
    content_type: str = AVATAR_CONTENT_TYPE

    @cached_property
    def sha1(self) -> str:
        return hashlib.sha1(self.data).hexdigest()

    @cached_property
    def file_name(self) -> str:
        return f"{hashlib.sha256(self.data).hexdigest()}.jpg"


def encode_avatar(data: bytes) -> EncodedAvatar:
    """Validate and normalise an image; raise AvatarError if it is refused."""
    check_size(len(data))
    image = _decode(data)
    try:
        square = _square(image)
    except DECODE_ERRORS:
        raise AvatarError(_("The image is damaged and cannot be read.")) from None
    finally:
        image.close()
    out = io.BytesIO()
    square.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return EncodedAvatar(out.getvalue())


def check_size(size: int) -> None:
    if size == 0:
        raise AvatarError(_("The file is empty."))
    if size > settings.AVATAR_MAX_BYTES:
        limit = settings.AVATAR_MAX_BYTES / (1024 * 1024)
        raise AvatarError(_("The image is larger than %(limit)g MB.") % {"limit": limit})


def _decode(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=AVATAR_INPUT_FORMATS)
    except DECODE_ERRORS:
        raise AvatarError(_("Upload a JPEG, PNG, GIF or WebP image.")) from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > settings.AVATAR_MAX_PIXELS:
        image.close()
        limit = settings.AVATAR_MAX_PIXELS / 1_000_000
        raise AvatarError(_("The image is larger than %(limit)g megapixels.") % {"limit": limit})
    try:
        image.seek(0)  # the first frame of an animation
        if image.format == "JPEG":
            # Let libjpeg decode at a reduced scale: far less work for big photos.
            image.draft("RGB", (AVATAR_SIZE * 2, AVATAR_SIZE * 2))
        image.load()
    except DECODE_ERRORS:
        image.close()
        raise AvatarError(_("The image is damaged or incomplete.")) from None
    return image


def _square(image: Image.Image) -> Image.Image:
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    image = _shrink(image)
    if transpose := ORIENTATION_TRANSPOSE.get(orientation):
        image = image.transpose(transpose)
    if image.mode in ("P", "PA", "LA", "RGBA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = image.convert("RGB")
    square = ImageOps.fit(flat, (AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS)
    # A fresh image from raw pixels carries no metadata of the original.
    return Image.frombytes("RGB", square.size, square.tobytes())


def _shrink(image: Image.Image) -> Image.Image:
    """Cheaply bring a big image down to twice the final size on its short side,
    so the conversions that follow work on a fraction of the pixels."""
    factor = min(image.size) // (AVATAR_SIZE * 2)
    if factor < 2 or image.mode not in ("RGB", "RGBA", "L", "LA", "RGBX"):
        return image
    return image.reduce(factor)


def avatar_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "avatars"


def avatar_path(file_name: str) -> Path:
    if not AVATAR_FILE_NAME.match(file_name):
        raise ValueError(f"not an avatar file name: {file_name!r}")
    return avatar_dir() / file_name


def store(avatar: EncodedAvatar) -> str:
    """Write the avatar under its content hash (once); return the file name."""
    path = avatar_path(avatar.file_name)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as f:
            f.write(avatar.data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return avatar.file_name


def read(file_name: str) -> bytes:
    return avatar_path(file_name).read_bytes()


def delete(file_name: str) -> None:
    avatar_path(file_name).unlink(missing_ok=True)
