"""Messages whose content is a list of parts, as chat APIs send them.

OpenAI's Chat Completions parts (``text``, ``image_url``, ``input_audio``) and the Responses
API's (``input_text``, ``output_text``, ``input_image``) are read into ``TextPart``,
``ImagePart`` and ``AudioPart``; ``render`` turns them into what memstrata stores: one text,
where an image is ``[photo: CAPTION]`` and an audio clip is its transcript, and an
``attachments`` list for the message's metadata that keeps each image's reference.

An image's bytes are never stored: a ``data:`` URL is kept as a short reference (its media
type, size and a hash), an ``http(s)`` URL as itself. The caption is the caller's (a
``caption``, ``alt`` or ``name`` field on the part) until a model that sees the image writes
one (``with_caption``). Everything here is pure.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from memstrata.errors import InvalidInputError

__all__ = [
    "MAX_CAPTION_CHARS",
    "AudioPart",
    "ImagePart",
    "Part",
    "TextPart",
    "clean_caption",
    "image_ref",
    "parse_parts",
    "render",
    "with_caption",
]

#: The longest caption kept in a message's text, in characters.
MAX_CAPTION_CHARS = 300
#: The longest image URL kept as a reference; a longer ``http(s)`` URL is cut and hashed.
MAX_REF_CHARS = 500

CaptionSource = Literal["caller", "model", "none"]

_TEXT_TYPES = frozenset({"text", "input_text", "output_text"})
_IMAGE_TYPES = frozenset({"image_url", "input_image", "image"})
_AUDIO_TYPES = frozenset({"input_audio", "audio"})
_CAPTION_FIELDS = ("caption", "alt", "name")
_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*),", re.I)
_FILE_NAME = re.compile(r"[^/]+\.(?:png|jpe?g|gif|webp|bmp|tiff?|heic|avif|svg)$", re.I)


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image: ``url`` as given (a ``data:`` URL holds the bytes; they go to a model that
    sees images, never to the store), its caption and where the caption came from."""

    url: str
    caption: str | None = None
    source: CaptionSource = "none"
    detail: str | None = None
    #: The caller's own caption when a model's replaced it.
    alt: str | None = None

    @property
    def ref(self) -> str:
        return image_ref(self.url)


@dataclass(frozen=True, slots=True)
class AudioPart:
    """An audio clip; only its transcript (when the caller gives one) is kept."""

    transcript: str | None = None
    format: str | None = None


Part = TextPart | ImagePart | AudioPart


def image_ref(url: str) -> str:
    """A short reference to an image: an ``http(s)`` or file URL as it is (cut and hashed past
    ``MAX_REF_CHARS``); a ``data:`` URL as its media type, byte count and sha256 prefix."""
    match = _DATA_URL.match(url)
    if match:
        payload = url[match.end() :]
        data: bytes
        if ";base64" in (match.group("params") or "").lower():
            try:
                data = base64.b64decode(payload, validate=False)
            except (binascii.Error, ValueError):
                data = payload.encode("utf-8", "replace")
        else:
            data = unquote(payload).encode("utf-8", "replace")
        digest = hashlib.sha256(data).hexdigest()[:16]
        kind = (match.group("type") or "application/octet-stream").lower()
        return f"data:{kind};bytes={len(data)};sha256={digest}"
    if len(url) <= MAX_REF_CHARS:
        return url
    digest = hashlib.sha256(url.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{url[:MAX_REF_CHARS]}…#sha256={digest}"


def clean_caption(text: str) -> str:
    """A caption fit for ``[photo: …]``: one line, no square brackets, at most
    ``MAX_CAPTION_CHARS`` characters."""
    flat = " ".join(text.replace("[", "(").replace("]", ")").split())
    if len(flat) > MAX_CAPTION_CHARS:
        flat = flat[: MAX_CAPTION_CHARS - 1].rstrip() + "…"
    return flat


def _string(value: object, what: str) -> str:
    """A string that can be stored: UTF-8 and no NUL character."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInputError(f"{what} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid UTF-8 (it holds a lone surrogate)") from None
    return value


def _optional(source: Mapping[str, Any], name: str, at: str) -> str | None:
    value = source.get(name)
    return None if value is None else _string(value, f"{at}: {name}")


def _caption_of(at: str, *sources: Mapping[str, Any]) -> str | None:
    found: str | None = None
    for source in sources:
        for name in _CAPTION_FIELDS:
            value = _optional(source, name, at)
            if found is None and value is not None and value.strip():
                found = clean_caption(value)
    return found


def _image(part: Mapping[str, Any], at: str) -> ImagePart:
    raw = part.get("image_url", part.get("url"))
    inner: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    url = inner.get("url") if isinstance(raw, Mapping) else raw
    if url is None and isinstance(part.get("file_id"), str):
        url = f"file_id:{part['file_id']}"  # a Responses API upload: its id is the reference
    if not isinstance(url, str) or not url.strip():
        raise InvalidInputError(f"{at}: an image part needs image_url (a URL or data: URL)")
    _string(url, f"{at}: image_url")
    detail = _optional(inner, "detail", at) or _optional(part, "detail", at)
    caption = _caption_of(at, part, inner)
    return ImagePart(
        url=url.strip(),
        caption=caption,
        source="caller" if caption else "none",
        detail=detail,
        alt=caption,
    )


def _audio(part: Mapping[str, Any], at: str) -> AudioPart:
    raw = part.get("input_audio", part.get("audio"))
    inner: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    # The part's own transcript wins; a blank one gives way to the audio object's.
    given = (part.get("transcript"), inner.get("transcript"))
    said = [_string(t, f"{at}: transcript").strip() for t in given if t is not None]
    transcript = next((t for t in said if t), None)
    fmt = _optional(inner, "format", at) or _optional(part, "format", at)
    return AudioPart(transcript=transcript, format=fmt)


def parse_parts(content: Sequence[Any]) -> tuple[Part, ...]:
    """Read a content list; a plain string in it is a text part. Raise ``InvalidInputError``
    for a part of another type or shape, naming the part by its position."""
    parts: list[Part] = []
    for i, part in enumerate(content):
        at = f"content part {i}"
        if isinstance(part, str):
            parts.append(TextPart(part))
            continue
        if not isinstance(part, Mapping):
            raise InvalidInputError(f"{at} must be an object, not {type(part).__name__}")
        kind = part.get("type")
        if kind in _TEXT_TYPES:
            parts.append(TextPart(_string(part.get("text"), f"{at}: text")))
        elif kind in _IMAGE_TYPES:
            parts.append(_image(part, at))
        elif kind in _AUDIO_TYPES:
            parts.append(_audio(part, at))
        else:
            raise InvalidInputError(
                f"{at} has type {kind!r}; memstrata reads text, image_url and input_audio "
                "parts (and input_text, output_text, input_image)"
            )
    return tuple(parts)


def _photo_name(image: ImagePart) -> str:
    """A caption for an image nobody described: its file name, else ``image``."""
    path = urlsplit(image.url).path if image.url.startswith(("http:", "https:", "file:")) else ""
    match = _FILE_NAME.search(unquote(path))
    return clean_caption(match.group()) if match else "image"


def render(parts: Sequence[Part]) -> tuple[str, list[dict[str, Any]]]:
    """The text a message with ``parts`` stores, and its ``attachments``.

    Text parts and transcripts are kept as written; an image is ``[photo: CAPTION]``; the
    pieces are joined by a space. Each image and audio clip gets an attachment entry.
    """
    pieces: list[str] = []
    attachments: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            if part.text.strip():
                pieces.append(part.text.strip())
        elif isinstance(part, ImagePart):
            pieces.append(f"[photo: {part.caption or _photo_name(part)}]")
            entry: dict[str, Any] = {"type": "image", "ref": part.ref, "caption": part.caption}
            entry["caption_source"] = part.source
            if part.alt and part.alt != part.caption:
                entry["alt"] = part.alt
            if part.detail:
                entry["detail"] = part.detail
            attachments.append(entry)
        else:
            if part.transcript:
                pieces.append(part.transcript)
            attachments.append(
                {"type": "audio", "format": part.format, "transcribed": bool(part.transcript)}
            )
    text = " ".join(pieces)
    if not text and any(isinstance(p, AudioPart) for p in parts):
        raise InvalidInputError(
            "an audio part without a transcript holds no text: memstrata does not transcribe "
            "audio; give the part a transcript"
        )
    return text, attachments


def with_caption(image: ImagePart, caption: str) -> ImagePart:
    """``image`` described by a model that saw it (the caller's caption stays as ``alt``)."""
    cleaned = clean_caption(caption)
    return replace(image, caption=cleaned, source="model") if cleaned else image
