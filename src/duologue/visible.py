"""Text that shows what it is: invisible and control characters refused in names, and
made visible wherever duologue echoes a name, a path or a message.

Everything from a co-author's push is hostile. A terminal obeys an ESC in a file name
(it can retitle the window, clear the screen, fake output); a line break splits one
message into two, the second looking like duologue's own; a RIGHT-TO-LEFT OVERRIDE
shows ``evil<U+202E>txt.md`` as ``evildm.txt``; a zero-width space makes two names
that look the same. So:

- titles, names and hashtags may hold none of these (``hidden_character``), and the
  loaders refuse such a field, naming the file and the field;
- ``printable`` writes such characters as escapes (``\\x1b``, ``\\u202e``) in every
  line duologue prints about something it read: errors, ``check``'s problems, status
  and log lines; ``json_printable`` does the same, losslessly, to a JSON document.

What counts as hidden: the control characters (C0, DEL, C1; tab and line breaks
too), the line and paragraph separators, every format character (Unicode category
Cf: the bidirectional controls U+061C, U+200E, U+200F, U+202A to U+202E and U+2066 to
U+2069, the zero-width U+200B to U+200D, U+2060 and U+FEFF among them) and lone
surrogates (a file name that is not UTF-8). One exception keeps real writing
possible: the zero-width non-joiner and joiner (U+200C, U+200D) between two non-ASCII
characters, as Persian spelling and emoji sequences (woman + ZWJ + laptop) need them;
next to ASCII, a space or an end of the text they are refused like the rest.
"""

from __future__ import annotations

import unicodedata

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
_JOINERS = frozenset({"\u200c", "\u200d"})


def _joins_writing(text: str, index: int) -> bool:
    """Whether the joiner at ``index`` sits between two visible non-ASCII characters."""
    if index == 0 or index == len(text) - 1:
        return False
    before, after = text[index - 1], text[index + 1]
    return (
        not before.isascii()
        and not after.isascii()
        and not before.isspace()
        and not after.isspace()
        and unicodedata.category(before) not in _HIDDEN_CATEGORIES
        and unicodedata.category(after) not in _HIDDEN_CATEGORIES
    )


def _is_hidden(text: str, index: int) -> bool:
    char = text[index]
    if unicodedata.category(char) not in _HIDDEN_CATEGORIES:
        return False
    return not (char in _JOINERS and _joins_writing(text, index))


def hidden_character(text: str) -> str | None:
    """The first character of ``text`` that a title or name must not hold, else None."""
    if text.isprintable():  # no Cc, Cf, Zl, Zp or Cs at all: the usual case, done in C
        return None
    for index, char in enumerate(text):
        if not char.isprintable() and _is_hidden(text, index):
            return char
    return None


def describe(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: a character named for a person."""
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"the byte 0x{code - 0xDC00:02X}, which is not UTF-8"
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(code, "a control character")
    return f"U+{code:04X} ({name})"


def hidden_character_problem(text: str, key: str) -> str | None:
    """``"`title` contains U+202E (RIGHT-TO-LEFT OVERRIDE), ..."`` when ``text`` holds a
    hidden character; None when it is clean. Callers put the file name in front."""
    char = hidden_character(text)
    if char is None:
        return None
    return (
        f"`{key}` contains {describe(char)}, a control or invisible character that can "
        "disguise what the text says; remove it."
    )


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every hidden character written as an escape, as Python writes it in
    a string (``\\x1b``, ``\\n``, ``\\u202e``): safe to print on one line of a
    terminal. Text that passes ``hidden_character`` comes back unchanged."""
    if text.isprintable():
        return text
    return "".join(
        _escape(char) if not char.isprintable() and _is_hidden(text, index) else char
        for index, char in enumerate(text)
    )


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells a character beyond the BMP as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_printable(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) with the hidden
    characters JSON leaves raw (format characters, C1 controls, U+2028/U+2029, lone
    surrogates) written as ``\\uXXXX`` escapes: the same data, safe on a terminal.
    (Its only raw line breaks are the layout's: JSON escapes those inside strings.)"""
    if document.replace("\n", "").isprintable():
        return document
    return "".join(
        _json_escape(char)
        if char != "\n" and not char.isprintable() and _is_hidden(document, index)
        else char
        for index, char in enumerate(document)
    )


_CONTROL_NAMES = {
    **{code: f"control character {code:#04x}" for code in range(0x20)},
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "TAB",
    0x0A: "LINE FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    **{code: f"C1 control character {code:#04x}" for code in range(0x80, 0xA0)},
}
"""unicodedata has no names for the control characters."""
