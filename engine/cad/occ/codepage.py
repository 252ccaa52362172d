"""Which code page a STEP file's 8-bit string bytes are in, and telling OCCT before it parses.

ISO 10303-21 wants non-ASCII text escaped (`\\X2\\...\\X0\\`), but many exporters (SolidWorks on a
Russian Windows, older CATIA and Pro/E) write product, instance, layer and colour names as raw
bytes of the system's ANSI code page. OCCT decodes such bytes with one process-wide setting,
`read.step.codepage` (UTF-8 by default), so a cp1251 name comes out as garbage unless the setting
names cp1251 before the file is parsed. This module is pure Python (no OCP): it finds the quoted
string tokens that hold bytes >= 0x80 and scores each candidate code page on how word-like the
decoded names look.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ...model.codepages import AUTO, CODEPAGES, check_setting

# Tried in this order when detecting: the commonest ANSI code pages first (ties go to the first).
CANDIDATES = ("utf-8", "cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256",
              "cp1258", "shift_jis", "gb2312")
_HIGH = re.compile(rb"[\x80-\xff]+")
MAX_TOKENS, MAX_TOKEN, BLOCK = 2000, 512, 1 << 16


@dataclass
class CodepageChoice:
    """The code page used for a file, how it was chosen, and a warning when no code page fit."""

    name: str
    how: str  # "ascii" (no 8-bit bytes), "detected", "setting"
    samples: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def occt(self) -> str:
        # unfit bytes are read as Latin-1 (one character per byte), then decoded by decode_unfit
        return CODEPAGES[self.name][0] if self.name in CODEPAGES else "iso8859-1"

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "how": self.how, "samples": self.samples}


def string_tokens(data: bytes) -> list[bytes]:
    """The text between the quotes around each run of 8-bit bytes (distinct, at most MAX_TOKENS).
    Only 64 KB blocks that are not ASCII are searched (`bytes.isascii` runs at memory speed, the
    regex far slower): product names sit in a few blocks of a file of many megabytes."""
    if data.isascii():  # most files: one C-speed pass over the bytes
        return []
    found: dict[bytes, None] = {}
    for start in range(0, len(data), BLOCK):
        end = min(start + BLOCK, len(data))
        position = start
        while len(found) < MAX_TOKENS and not data[position:end].isascii():
            match = _HIGH.search(data, position, end)
            if match is None:
                break
            left = data.rfind(b"'", max(0, match.start() - MAX_TOKEN), match.start())
            right = data.find(b"'", match.end(), match.end() + MAX_TOKEN)
            found[data[left + 1:right] if left >= 0 and right >= 0 else match.group(0)] = None
            position = max(match.end(), right + 1)
    return list(found)


# Accented letters common in the languages of each Latin code page: where two Latin code pages
# both decode a file to letters (cp1250 'č' is cp1252 'è'), the one whose letters these are wins.
HOME_LETTERS = {
    "cp1252": set("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœßÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŒ"),
    "cp1250": set("áäčďéěíĺľňóôöőŕřšťúůüűýžąćęłńśźżÁÄČĎÉĚÍĹĽŇÓÔÖŐŔŘŠŤÚŮÜŰÝŽĄĆĘŁŃŚŹŻ"),
    "cp1254": set("çğıöşüÇĞİÖŞÜâîû"),
    "cp1257": set("āčēģīķļņšūžąęėįųĀČĒĢĪĶĻŅŠŪŽĄĘĖĮŲõäöüÕÄÖÜ"),
}


def _word_score(text: str, codec: str = "") -> float:
    """How name-like one decoded string is: letters in words of one script score (a CJK or kana
    character for its two bytes; an accented Latin letter common in the code page's languages a
    little more), symbols, control characters, mixed-script words, case flips inside a word and
    long runs of accented Latin letters cost."""
    home = HOME_LETTERS.get(codec, set())
    score = 0.0
    for word in re.findall(r"[^\W\d_]+", text):
        scripts = {_script(ch) for ch in word}
        accented_run = max((len(run) for run in re.findall(r"[^\x00-\x7f]+", word)), default=0)
        high = sum(2 if _script(ch) == "CJK" else 1 for ch in word if ord(ch) > 0x7F)
        if len(scripts) > 1 or "SYMBOL" in scripts:
            score -= 2 * high
        elif scripts == {"LATIN"} and accented_run >= 3:
            score -= high
        elif any(a.islower() and b.isupper() for a, b in zip(word, word[1:], strict=False)):
            score -= high  # 'ÄåÒ', 'ЕкЬсфзма': case flips inside a word are decoding noise
        else:
            score += high + 0.5 * sum(ch in home for ch in word)
    for ch in text:
        if ord(ch) > 0x7F and not ch.isalpha():
            score -= 0.5 if unicodedata.category(ch)[0] in "NPZ" else 1.5
        if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Co", "Cn"):
            score -= 3
    return score


def _script(ch: str) -> str:
    """A character's script as far as names go: Latin (ASCII, Latin-1 and Extended-A letters),
    CJK (ideographs and kana), the first word of its Unicode name otherwise; letters such as
    'ƒ' that only turn up when bytes are decoded wrongly count as SYMBOL."""
    if ord(ch) < 0x80 or 0xC0 <= ord(ch) <= 0x17F:
        return "LATIN"
    name = unicodedata.name(ch, "UNKNOWN")
    first = name.split(" ")[0]
    if first in ("CJK", "HIRAGANA", "KATAKANA") or name.startswith("KATAKANA-HIRAGANA"):
        return "CJK"
    return "SYMBOL" if first == "LATIN" else first


def score(tokens: list[bytes], codec: str) -> float | None:
    """Summed name-likeness of the tokens decoded with `codec`; None if a byte does not decode."""
    total = 0.0
    for token in tokens:
        try:
            text = token.decode(codec)
        except UnicodeDecodeError:
            return None
        total += _word_score(text, codec)
    return total


def detect(tokens: list[bytes]) -> tuple[str | None, float]:
    """The best-scoring candidate code page (None when none decodes to name-like text)."""
    if not tokens:
        return "utf-8", 0.0
    best: tuple[str | None, float] = (None, 0.0)
    for name in CANDIDATES:
        value = score(tokens, CODEPAGES[name][1])
        if value is not None and name == "utf-8":
            return name, value  # valid UTF-8 by accident is vanishingly rare for 8-bit names
        if value is not None and value > best[1]:
            best = (name, value)
    return best


def choose(path: Path, setting: str = AUTO, data: bytes | None = None) -> CodepageChoice:
    """The code page to read `path` with: the setting's, else detected from its string tokens.
    A file whose bytes fit no code page is read without conversion, to be decoded with
    replacement characters (see `decode_unfit`), and a warning names the file."""
    setting = check_setting(setting)
    if setting != AUTO:
        return CodepageChoice(setting, "setting")
    tokens = string_tokens(path.read_bytes() if data is None else data)
    if not tokens:
        return CodepageChoice("utf-8", "ascii")
    name, _score = detect(tokens)
    if name is None:
        return CodepageChoice("none", "detected", len(tokens), [
            f"{path}: the 8-bit bytes in its names fit no known code page; they are shown as U+FFFD"])
    return CodepageChoice(name, "detected", len(tokens))


def decode_unfit(text: str) -> str:
    """A name read as Latin-1 (each byte one character) as UTF-8 with replacement characters."""
    if all(ord(ch) < 0x80 for ch in text):
        return text
    out, run = [], bytearray()
    for ch in text:
        if ord(ch) < 0x100:
            run.append(ord(ch))
            continue
        out.append(run.decode("utf-8", errors="replace"))
        run.clear()
        out.append(ch)
    out.append(run.decode("utf-8", errors="replace"))
    return "".join(out)
