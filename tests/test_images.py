"""The image rules: which bytes are an image (bot/images.py), and what a bundle's images must be before
a forge uploads them (bot/report/bundle.py images_for_upload). A bundle may come from a fork."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.charts.images import GIF, JPEG, PNG, image_kind
from bot.errors import EXIT_BAD_INPUT, BadInput
from bot.report import bundle as bundle_module
from bot.report.bundle import MAX_IMAGE_BYTES, MAX_IMAGES, images_for_upload

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32
GIF_BYTES = b"GIF89a" + b"\x00" * 32
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "loss.png").write_bytes(PNG_BYTES)
    return tmp_path


def sized_png(path: Path, size: int) -> None:
    path.write_bytes(PNG_BYTES)
    os.truncate(path, size)  # sparse: quick to write


def refused(bundle: Path, paths: list[str]) -> str:
    with pytest.raises(BadInput) as caught:
        images_for_upload(bundle, paths)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    return str(caught.value)


@pytest.mark.parametrize(
    "data, kind",
    [(PNG_BYTES, PNG), (JPEG_BYTES, JPEG), (b"GIF87a", GIF), (GIF_BYTES, GIF), (b"\x89PNG", None), (b"GIF8", None),
     (HTML, None), (b"", None)],
)
def test_image_kind_goes_by_the_whole_signature(data, kind):
    assert image_kind(data) == kind


def test_good_images_are_read_one_by_one_in_order_without_duplicates(bundle):
    (bundle / "images" / "a.JPEG").write_bytes(JPEG_BYTES)
    (bundle / "images" / "b.gif").write_bytes(GIF_BYTES)

    contents = images_for_upload(bundle, ["images/loss.png", "images/a.JPEG", "images/b.gif", "images/loss.png"])

    assert list(contents) == [("images/loss.png", PNG_BYTES), ("images/a.JPEG", JPEG_BYTES),
                              ("images/b.gif", GIF_BYTES)]


def test_every_image_is_checked_before_any_is_read_whole(bundle, monkeypatch):
    (bundle / "images" / "page.png").write_bytes(HTML)
    read = []
    monkeypatch.setattr(bundle_module, "_read_image", lambda root, path: read.append(path))

    refused(bundle, ["images/loss.png", "images/page.png"])

    assert read == []


def test_a_png_signature_followed_by_junk_is_a_png(bundle):
    # The rule is about the type the forge serves the file as, not about a decodable image (bot/images.py).
    (bundle / "images" / "junk.png").write_bytes(PNG_BYTES[:8] + HTML)

    assert list(images_for_upload(bundle, ["images/junk.png"])) == [("images/junk.png", PNG_BYTES[:8] + HTML)]


def test_a_symlinked_image_is_refused(bundle, tmp_path_factory):
    secret = tmp_path_factory.mktemp("outside") / "id_rsa.png"
    secret.write_bytes(PNG_BYTES + b"PRIVATE KEY")
    os.symlink(secret, bundle / "images" / "leak.png")

    message = refused(bundle, ["images/leak.png"])

    assert f"{bundle / 'images' / 'leak.png'}: " in message and "is a symbolic link" in message


def test_a_symlinked_images_folder_is_refused(tmp_path, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "loss.png").write_bytes(PNG_BYTES)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    os.symlink(elsewhere, bundle / "images")

    message = refused(bundle, ["images/loss.png"])

    assert f"{bundle / 'images'} is a symbolic link" in message


@pytest.mark.parametrize("path", ["images/../../etc/passwd.png", "../outside.png", "/etc/passwd.png"])
def test_a_path_outside_the_bundle_is_refused(bundle, path):
    assert "lies outside the report bundle" in refused(bundle, [path])


def test_a_missing_image_or_a_directory_is_refused(bundle):
    assert "not found in the report bundle" in refused(bundle, ["images/gone.png"])
    (bundle / "images" / "dir.png").mkdir()
    assert "not a regular file" in refused(bundle, ["images/dir.png"])
    assert "not a regular file" in refused(bundle, ["images/."])


@pytest.mark.parametrize("name", ["x.html", "x.svg", "x.png.html", "png", "x.webp"])
def test_an_extension_other_than_png_jpeg_gif_is_refused_whatever_the_content(bundle, name):
    (bundle / "images" / name).write_bytes(PNG_BYTES)

    message = refused(bundle, [f"images/{name}"])

    assert f"images/{name}: not a .png, .jpg, .jpeg or .gif file" in message


@pytest.mark.parametrize(
    "name, data, found",
    [("page.png", HTML, "not a PNG, JPEG or GIF image"), ("empty.png", b"", "not a PNG, JPEG or GIF image"),
     ("photo.png", JPEG_BYTES, "a JPEG image"), ("anim.jpg", GIF_BYTES, "a GIF image")],
)
def test_content_must_match_the_extension(bundle, name, data, found):
    (bundle / "images" / name).write_bytes(data)

    message = refused(bundle, [f"images/{name}"])

    assert f"images/{name}: named .{name.split('.')[1]} but its content is {found}" in message


def test_an_image_over_10_mb_is_refused_but_10_mb_is_fine(bundle):
    sized_png(bundle / "images" / "big.png", MAX_IMAGE_BYTES)
    sized_png(bundle / "images" / "huge.png", MAX_IMAGE_BYTES + 1)

    assert [path for path, _ in images_for_upload(bundle, ["images/big.png"])] == ["images/big.png"]
    assert "images/huge.png: 10.0 MB, larger than the 10 MB an image may be" in refused(bundle, ["images/huge.png"])


def test_more_than_200_images_are_refused(bundle):
    for number in range(MAX_IMAGES + 1):
        (bundle / "images" / f"{number}.png").write_bytes(PNG_BYTES)
    paths = [f"images/{number}.png" for number in range(MAX_IMAGES + 1)]

    assert len(list(images_for_upload(bundle, paths[:MAX_IMAGES]))) == MAX_IMAGES
    assert f"lists {MAX_IMAGES + 1} images, more than the {MAX_IMAGES}" in refused(bundle, paths)


def test_more_than_50_mb_in_all_is_refused(bundle):
    paths = []
    for number in range(6):  # 6 x 9 MB: each within its limit, 54 MB in all
        sized_png(bundle / "images" / f"{number}.png", 9 * 2**20)
        paths.append(f"images/{number}.png")

    assert "add up to 54.0 MB, more than the 50 MB" in refused(bundle, paths)


def test_an_image_changed_after_the_check_is_checked_again_as_read(bundle):
    contents = images_for_upload(bundle, ["images/loss.png"])
    (bundle / "images" / "loss.png").write_bytes(HTML)

    with pytest.raises(BadInput, match="named .png but its content is not a PNG"):
        list(contents)
