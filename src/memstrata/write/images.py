"""Images in messages: a model that can see them writes their captions.

A message whose content held image parts arrives with each image's caption from the caller
(or none). When the configured model sees images (its ``vision`` attribute is true, as
``OpenAICompatLLM(vision=True)`` or ``MEMSTRATA_LLM_VISION=1`` set it), each image is shown to
it and its caption replaces the caller's, which stays in the attachment as ``alt``. A model
that fails leaves the caller's caption: an image never fails ``add``.
"""

from __future__ import annotations

from collections.abc import Sequence

from memstrata.llms.parsing import ask_structured
from memstrata.parts import ImagePart, Part, TextPart, with_caption
from memstrata.ports import LLM
from memstrata.prompts import caption_image
from memstrata.types import MAX_TEXT_CHARS, Message

__all__ = ["caption_images", "sees_images"]


def sees_images(llm: LLM) -> bool:
    """Whether ``llm`` says it can read images (an attribute ``vision`` that is ``True``)."""
    return getattr(llm, "vision", False) is True


def caption_images(messages: Sequence[Message], llm: LLM) -> list[Message]:
    """``messages`` with each image part captioned by ``llm`` (one call per image)."""
    out: list[Message] = []
    for message in messages:
        if not any(isinstance(p, ImagePart) for p in message.parts):
            out.append(message)
            continue
        said = " ".join(p.text.strip() for p in message.parts if isinstance(p, TextPart))
        parts: list[Part] = []
        for part in message.parts:
            if isinstance(part, ImagePart):
                prompt = caption_image.Input(
                    url=part.url, detail=part.detail, said=said or None, caption=part.alt
                )
                answer = ask_structured(llm, caption_image.render(prompt), caption_image.Output)
                part = with_caption(part, answer.caption) if answer is not None else part
            parts.append(part)
        captioned = message.with_parts(parts)
        # A caption that would take the text past its limit is not worth losing the message.
        out.append(captioned if len(captioned.text) <= MAX_TEXT_CHARS else message)
    return out
