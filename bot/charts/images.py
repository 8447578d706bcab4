"""The image types mrbot copies into a bundle and uploads: PNG, JPEG and GIF, known by their first bytes.

Only the signature is checked, not that the rest decodes: the point is that a file named .png is
served (and sniffed) as the image type its name says, never as HTML or a script. A PNG signature
followed by junk is still a "PNG" here; a browser shows it as a broken image, nothing more."""

from __future__ import annotations

PNG, JPEG, GIF = "PNG", "JPEG", "GIF"
# The largest image mrbot copies into a bundle or uploads from one.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
SIGNATURES = {b"\x89PNG\r\n\x1a\n": PNG, b"\xff\xd8\xff": JPEG, b"GIF87a": GIF, b"GIF89a": GIF}
SIGNATURE_BYTES = max(len(signature) for signature in SIGNATURES)
# The extension each kind is written with, and the extensions accepted for it.
SUFFIXES = {PNG: ".png", JPEG: ".jpg", GIF: ".gif"}
KIND_OF_SUFFIX = {".png": PNG, ".jpg": JPEG, ".jpeg": JPEG, ".gif": GIF}


def image_kind(data: bytes) -> str | None:
    """PNG, JPEG or GIF by the first bytes of `data`, else None."""
    return next((kind for signature, kind in SIGNATURES.items() if data.startswith(signature)), None)
