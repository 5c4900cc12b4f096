"""`nnlab serve`'s own words (static/words.js's WORDS): every entry in English and Chinese with the same slots,
every key the pages use defined and every entry used, and no prose in app.js or chart.js outside the table."""

from __future__ import annotations

import json
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "nnlab" / "serve" / "static"


def js_strings(source: str) -> list[str]:
    """The string literals of a JavaScript source ("…", '…', `…` with each `${…}` part as a space, and the
    literals inside those parts), skipping comments and regular expressions. Enough for app.js and chart.js."""
    found: list[str] = []

    def code(i: int, inside: bool) -> int:
        """Scan code from `i`; inside a `${…}`, up to its closing brace (the index after it)."""
        depth, last = 0, "("  # last: the previous significant character (a / after it starts a regex)
        while i < len(source):
            c = source[i]
            if source.startswith("//", i):
                i = source.find("\n", i) % (len(source) + 1) if "\n" in source[i:] else len(source)
                continue
            if source.startswith("/*", i):
                i = source.index("*/", i) + 2
                continue
            if c in "\"'":
                j, text = i + 1, ""
                while source[j] != c:
                    text += source[j + 1] if source[j] == "\\" else source[j]
                    j += 2 if source[j] == "\\" else 1
                found.append(text)
                i, last = j + 1, "a"
                continue
            if c == "`":
                i, last = template(i), "a"
                continue
            if c == "/" and last in "(,=:[!&|?{};+":  # a regular expression: skipped to its closing slash
                j, in_class = i + 1, False
                while in_class or source[j] != "/":
                    in_class = (in_class or source[j] == "[") and source[j] != "]"
                    j += 2 if source[j] == "\\" else 1
                i, last = j + 1, "a"
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                if inside and depth == 0:
                    return i + 1
                depth -= 1
            if not c.isspace():
                last = c
            i += 1
        return i

    def template(i: int) -> int:  # source[i] is the opening backtick; returns the index after the closing one
        text, i = "", i + 1
        while source[i] != "`":
            if source[i] == "\\":
                text, i = text + source[i + 1], i + 2
            elif source.startswith("${", i):
                text, i = text + " ", code(i + 2, inside=True)
            else:
                text, i = text + source[i], i + 1
        found.append(text)
        return i + 1

    code(0, inside=False)
    return found


def prose(text: str) -> bool:
    """Whether a literal reads as words for a person rather than code (a tag, a class list, a path, a key): a
    capitalised word, a word followed by a sentence's punctuation, three words or more, or Chinese. A lone
    lowercase word ("none") reads as code: that case the browser test's share of Chinese catches instead."""
    import re

    from nnlab.core.i18n import CJK

    words = re.findall(r"[A-Za-z]+", text)
    return bool(CJK.search(text) or re.search(r"[A-Z][a-z]", text) or re.search(r"[A-Za-z][,;:.!…)]\s", text)
                or "→" in text or len(text.split()) >= 3 and len(words) >= 3)


CODE_WORDS = {"Content-Type"}  # capitalised, and code: an HTTP header


def test_every_word_of_the_pages_is_in_both_languages_and_none_bypasses_the_table():
    import re

    from nnlab.core.i18n import share_cjk

    words_js, app_js = (STATIC / "words.js").read_text(), (STATIC / "app.js").read_text()
    begin, end = words_js.index("// words:begin"), words_js.index("// words:end")
    table = words_js[begin:end]
    entries = re.findall(r"^  (\w+): \{en: (\"(?:[^\"\\]|\\.)*\"),\s*zh: (\"(?:[^\"\\]|\\.)*\")\},$",
                         table.replace(",\n               ", ", ").replace(",\n                ", ", "), re.M)
    listed = re.findall(r"^  (\w+):", table, re.M)
    assert [k for k, _, _ in entries] == listed and len(listed) > 50, "a WORDS entry without both en and zh"
    for key, en, zh in entries:
        en, zh = json.loads(en), json.loads(zh)
        assert en.strip() and zh.strip(), key
        assert share_cjk(en) == 0 and (share_cjk(zh) > 0 or not re.search(r"[A-Za-z]", en.replace("nnlab", ""))
                                       and re.search(r"[\u3000-\u303f\uff00-\uffef]", zh)), key
        assert sorted(re.findall(r"\{\d\}", en)) == sorted(re.findall(r"\{\d\}", zh)), key
    used = set(re.findall(r"\bt\(\"(\w+)\"", app_js))
    keys = {k for k, _, _ in entries}
    assert used - keys == set(), "t() of a key WORDS lacks"
    assert keys - used - {k for k in keys if k.startswith("status_")} == set(), "a WORDS entry no page uses"
    outside = words_js[:begin] + app_js + (STATIC / "chart.js").read_text()
    strings = js_strings(outside)
    assert "lang-switch" in strings and "use strict" in strings and len(strings) > 100  # the scanner reads them
    visible = [s for s in strings if prose(s) and s not in CODE_WORDS | keys]  # a key: t("pickTwo")
    assert visible == [], "words a person reads, outside WORDS"
    assert prose("Pick two runs or more.") and prose("comma-separated; empty: the default") and prose("运行")
    assert not prose("muted latest") and not prose("/api/runs/") and not prose("[data-field=\"\"]")
