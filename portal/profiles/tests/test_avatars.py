"""The avatar pipeline, through the real /profile/ page: what is accepted, what
comes out, and that a refused file changes nothing at all."""

import hashlib
import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

from portal.outbox.models import OutboxEntry
from portal.profiles import avatars
from portal.profiles.models import Profile
from tests.people import sign_up


def picture(fmt="PNG", size=(300, 200), color="red", **save_options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save_options)
    return out.getvalue()


def png_claiming(width, height) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels: a decompression bomb's shape."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def post_profile(client, avatar: bytes, file_name="avatar.png", **fields):
    data = {"name": "Alice", "about": ""} | fields
    data["avatar"] = SimpleUploadedFile(file_name, avatar)
    return client.post("/profile/", data)


def stored_avatar(username="alice") -> bytes:
    return avatars.read(Profile.objects.get(user__username=username).avatar)


@pytest.fixture
def alice(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return sign_up("alice")


def test_png_upload_is_stored_as_a_256px_jpeg_named_by_its_hash(alice):
    response = post_profile(alice, picture("PNG"))
    assert response.status_code == 302
    profile = Profile.objects.get(user__username="alice")
    data = avatars.read(profile.avatar)
    assert profile.avatar == f"{hashlib.sha256(data).hexdigest()}.jpg"
    assert profile.avatar_sha1 == hashlib.sha1(data).hexdigest()
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size, image.mode) == ("JPEG", (256, 256), "RGB")
    assert OutboxEntry.objects.filter(topic="profile", key="alice").count() == 1


@pytest.mark.parametrize("fmt", ["JPEG", "GIF", "WEBP"])
def test_jpeg_gif_and_webp_are_accepted(alice, fmt):
    assert post_profile(alice, picture(fmt), file_name=f"a.{fmt.lower()}").status_code == 302
    assert Image.open(io.BytesIO(stored_avatar())).size == (256, 256)


def test_animated_gif_keeps_its_first_frame(alice):
    frames = [Image.new("RGB", (64, 64), color) for color in ("red", "lime", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert post_profile(alice, out.getvalue(), file_name="a.gif").status_code == 302
    red, green, blue = Image.open(io.BytesIO(stored_avatar())).getpixel((128, 128))
    assert red > 200 and green < 60 and blue < 60


def test_gps_and_all_other_metadata_are_stripped(alice):
    image = Image.new("RGB", (320, 240), "green")
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "SpyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (55.0, 45.0, 21.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (37.0, 37.0, 4.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at home")
    upload = out.getvalue()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it is there

    assert post_profile(alice, upload, file_name="photo.jpg").status_code == 302
    data = stored_avatar()
    result = Image.open(io.BytesIO(data))
    assert not result.getexif()
    assert not result.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in result.info and "comment" not in result.info
    assert b"Exif" not in data and b"SpyCam" not in data and b"taken at home" not in data


def test_exif_orientation_is_applied_before_the_centre_crop(alice):
    # Stored sideways: left half red, right half blue, with "rotate 90° clockwise".
    image = Image.new("RGB", (400, 200), "red")
    image.paste(Image.new("RGB", (200, 200), "blue"), (200, 0))
    exif = image.getexif()
    exif[ExifTags.Base.Orientation] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=95)

    assert post_profile(alice, out.getvalue(), file_name="sideways.jpg").status_code == 302
    result = Image.open(io.BytesIO(stored_avatar()))
    # Upright it is 200x400, red on top: the centred square is red above blue.
    top, bottom = result.getpixel((128, 20)), result.getpixel((128, 235))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_transparent_png_is_flattened_onto_white(alice):
    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(out, "PNG")
    assert post_profile(alice, out.getvalue()).status_code == 302
    assert min(Image.open(io.BytesIO(stored_avatar())).getpixel((128, 128))) > 240


def _truncated_jpeg():
    data = picture("JPEG", size=(600, 400), quality=95)
    return data[: len(data) // 2]


BAD_FILES = {
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
    "pdf": (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "a.pdf"),
    "html renamed to .png": (b"<!doctype html><html><script>alert(1)</script></html>", "a.png"),
    "truncated jpeg": (_truncated_jpeg(), "a.jpg"),
    "decompression bomb": (png_claiming(100_000, 100_000), "bomb.png"),
    "empty file": (b"", "a.png"),
    "bmp": (picture("BMP"), "a.bmp"),
    "tiff": (picture("TIFF"), "a.tiff"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_refused_and_nothing_changes(alice, kind):
    assert post_profile(alice, picture("PNG", color="navy")).status_code == 302
    before = Profile.objects.get(user__username="alice")
    files_before = sorted(avatars.avatar_dir().iterdir())
    rows_before = OutboxEntry.objects.count()

    data, file_name = BAD_FILES[kind]
    response = post_profile(alice, data, file_name, name="Mallory", about="new")

    assert response.status_code == 200
    assert b'class="errorlist"' in response.content
    assert b"not saved" in response.content
    after = Profile.objects.get(user__username="alice")
    assert (after.name, after.about, after.avatar, after.avatar_sha1) == (
        before.name,
        before.about,
        before.avatar,
        before.avatar_sha1,
    )
    assert sorted(avatars.avatar_dir().iterdir()) == files_before
    assert OutboxEntry.objects.count() == rows_before


def test_image_over_the_size_limit_is_refused(alice, settings):
    settings.AVATAR_MAX_BYTES = 1000
    response = post_profile(alice, picture("PNG", size=(500, 500)) + b"\0" * 2000)
    assert response.status_code == 200
    assert b"larger than" in response.content
    assert not Profile.objects.filter(user__username="alice").exists()


def test_image_over_the_pixel_limit_is_refused(alice, settings):
    settings.AVATAR_MAX_PIXELS = 100 * 100
    response = post_profile(alice, picture("PNG", size=(101, 100)))
    assert response.status_code == 200
    assert b"megapixels" in response.content
    assert not Profile.objects.filter(user__username="alice").exists()


def test_replaced_avatar_file_is_deleted_unless_someone_else_uses_it(
    alice, django_capture_on_commit_callbacks
):
    bob = sign_up("bob")
    with django_capture_on_commit_callbacks(execute=True):
        post_profile(alice, picture("PNG", color="red"))
        post_profile(bob, picture("PNG", color="red"))  # the very same image
        shared = Profile.objects.get(user__username="alice").avatar
        post_profile(alice, picture("PNG", color="blue"))
    assert (avatars.avatar_dir() / shared).exists(), "bob still uses it"
    blue = Profile.objects.get(user__username="alice").avatar
    with django_capture_on_commit_callbacks(execute=True):
        post_profile(alice, picture("PNG", color="green"))
    assert not (avatars.avatar_dir() / blue).exists()
    assert sorted(p.name for p in avatars.avatar_dir().iterdir()) == sorted(
        {shared, Profile.objects.get(user__username="alice").avatar}
    )


def test_removing_the_avatar_deletes_it(alice, django_capture_on_commit_callbacks):
    post_profile(alice, picture("PNG"))
    file_name = Profile.objects.get(user__username="alice").avatar
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.post("/profile/", {"name": "Alice", "about": "", "remove_avatar": "on"})
    assert response.status_code == 302
    profile = Profile.objects.get(user__username="alice")
    assert (profile.avatar, profile.avatar_sha1) == ("", "")
    assert not (avatars.avatar_dir() / file_name).exists()
    assert OutboxEntry.objects.filter(topic="profile", key="alice").count() == 2


def test_avatar_is_served_with_long_lived_cache_headers(alice, client):
    post_profile(alice, picture("PNG"))
    profile = Profile.objects.get(user__username="alice")
    response = client.get(profile.avatar_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == avatars.read(profile.avatar)


@pytest.mark.parametrize("name", ["../secrets.env", "nothere.jpg", "a" * 64 + ".jpg"])
def test_unknown_avatar_names_are_404(client, db, settings, tmp_path, name):
    settings.MEDIA_ROOT = tmp_path
    assert client.get(f"/media/avatars/{name}").status_code == 404
