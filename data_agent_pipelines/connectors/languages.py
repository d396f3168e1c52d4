"""The language a caption's label names, for platforms that give a label but no language code.

JW Player's Delivery API gives a caption track's `label` only ("English", "EN", "Español (Latinoamérica)"). A label
that is a language code (`en`, `pt-BR`) or the English or native name of a common language gives its ISO 639-1 code;
anything else ("CC", "big-buck.vtt", an unlisted language) gives None rather than a guess.
"""

from __future__ import annotations

import re

_NAMES = {
    "ar": ("arabic", "العربية"),
    "ca": ("catalan", "català"),
    "cs": ("czech", "čeština"),
    "da": ("danish", "dansk"),
    "de": ("german", "deutsch"),
    "el": ("greek", "ελληνικά"),
    "en": ("english",),
    "es": ("spanish", "español", "espanol", "castellano"),
    "fi": ("finnish", "suomi"),
    "fr": ("french", "français", "francais"),
    "he": ("hebrew", "עברית"),
    "hi": ("hindi", "हिन्दी"),
    "hu": ("hungarian", "magyar"),
    "id": ("indonesian", "bahasa indonesia"),
    "it": ("italian", "italiano"),
    "ja": ("japanese", "日本語"),
    "ko": ("korean", "한국어"),
    "nl": ("dutch", "nederlands", "vlaams", "flemish"),
    "no": ("norwegian", "norsk"),
    "pl": ("polish", "polski"),
    "pt": ("portuguese", "português", "portugues"),
    "ro": ("romanian", "română", "romana"),
    "ru": ("russian", "русский"),
    "sv": ("swedish", "svenska"),
    "th": ("thai", "ไทย"),
    "tr": ("turkish", "türkçe", "turkce"),
    "uk": ("ukrainian", "українська"),
    "vi": ("vietnamese", "tiếng việt"),
    "zh": ("chinese", "中文", "mandarin"),
}
_BY_NAME = {name: code for code, names in _NAMES.items() for name in names}
_CODE = re.compile(r"^([A-Za-z]{2})(?:[-_]([A-Za-z]{2}|\d{3}))?$")
_QUALIFIER = re.compile(r"\s*[(\[].*$")  # "Español (Latinoamérica)", "English [CC]"


def language_of_label(label: object) -> str | None:
    """The ISO 639-1 code (with its region, as given: `pt-BR`) a label names, or None."""
    if not isinstance(label, str):
        return None
    text = label.strip()
    code = _CODE.match(text)
    if code:
        language, region = code.group(1).lower(), code.group(2)
        if language not in _NAMES:
            return None
        return f"{language}-{region.upper()}" if region else language
    name = _QUALIFIER.sub("", text).strip().lower()
    return _BY_NAME.get(name) or _BY_NAME.get(name.split(" ")[0] if name else "")
