"""Masks personal data that users type (e-mail addresses, phone numbers) before
anything keeps their words, so stores and logs hold only the question."""

from __future__ import annotations

import re

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Seven or more digits, optionally led by + and split by spaces, dots, dashes or
# brackets: catches national and international formats. Over-masking a long
# number in a question costs nothing; keeping a phone number would.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){6,}(?!\w)")


def mask_personal_data(text: str) -> str:
    return _PHONE.sub(PHONE_MASK, _EMAIL.sub(EMAIL_MASK, text))
