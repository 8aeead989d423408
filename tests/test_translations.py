"""Every message a person reads has a Vietnamese and an English translation.

(a) The messages of the code and templates, extracted here exactly as `make translations` does
(the Makefile's own keywords and directories, babel.cfg's method map), are each in both
catalogues, translated and not fuzzy. (b) No template holds Vietnamese text outside a gettext
call: text written straight into a template would never reach the catalogue. (c) Each
translation keeps its message's placeholders, so `%(name)s` always finds its value.

When (a) fails: run `make translations`, translate the new entries of
translations/en/LC_MESSAGES/messages.po, then `make messages`.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = {locale: ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po" for locale in ("vi", "en")}
# Every letter that carries a Vietnamese diacritic, and đ: text with one of them is Vietnamese.
VIETNAMESE_LETTERS = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
VIETNAMESE = re.compile(f"[{VIETNAMESE_LETTERS}{VIETNAMESE_LETTERS.upper()}]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdifr]")
GETTEXT_CALLS = frozenset({"_", "gettext", "ngettext", "pgettext", "npgettext", "lazy_gettext", "_l"})


def _make_extract_command() -> list[str]:
    """The `pybabel extract` command of the Makefile's `translations` target, as arguments."""
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if "pybabel" in line and " extract " in line:
            return shlex.split(line.strip())
    raise AssertionError("the Makefile has no `pybabel extract` line")


def _keywords_and_paths() -> tuple[dict, list[str]]:
    args = _make_extract_command()
    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update({args[i + 1]: None for i, arg in enumerate(args) if arg == "-k"})
    paths = args[args.index("-o") + 2:]
    return keywords, paths


def extracted_messages() -> dict[str | tuple[str, ...], list[str]]:
    """{msgid (a tuple for a plural): ["file:line", ...]} over the Makefile's paths."""
    keywords, paths = _keywords_and_paths()
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict = {}
    for path in paths:
        full = ROOT / path
        if full.is_dir():
            results = ((f"{path}/{filename}", line, message) for filename, line, message, _comments, _context
                       in extract_from_dir(str(full), method_map, options_map, keywords=keywords))
        else:
            results = ((path, line, message) for line, message, _comments, _context
                       in extract_from_file("python", str(full), keywords=keywords))
        for where, line, message in results:
            if isinstance(message, tuple):
                message = tuple(m for m in message if m is not None)
                message = message if len(message) > 1 else message[0]
            if message:
                found.setdefault(message, []).append(f"{where}:{line}")
    return found


def catalogue(locale: str):
    with CATALOGUES[locale].open("rb") as handle:
        return read_po(handle, locale=locale)


def _singular(message_id) -> str:
    """A catalogue knows a plural message by its singular."""
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.fixture(scope="module")
def messages() -> dict:
    found = extracted_messages()
    assert len(found) > 100, "extraction found almost nothing: babel.cfg or the Makefile's paths are wrong"
    return found


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_every_message_of_the_code_and_templates_is_translated(messages, locale):
    entries = {_singular(m.id): m for m in catalogue(locale) if m.id}
    problems = []
    for msgid, where in sorted(messages.items(), key=lambda item: str(item[0])):
        entry = entries.get(_singular(msgid))
        if entry is None:
            problem = "missing"
        elif entry.fuzzy:
            problem = "fuzzy"
        elif not all(entry.string if isinstance(entry.string, tuple) else [entry.string]):
            problem = "untranslated"
        else:
            continue
        problems.append(f"{problem}: {msgid!r} ({', '.join(where[:3])})")
    assert not problems, (f"{len(problems)} message(s) lack a translation in {CATALOGUES[locale].relative_to(ROOT)} "
                          f"(run `make translations`, translate, `make messages`):\n" + "\n".join(problems))


def _template_text_outside_gettext(source: str, env: Environment) -> list[tuple[int, str]]:
    """(line, text) of each piece of Vietnamese text in a template that no gettext call or
    {% trans %} block holds: raw text between tags, and string literals in expressions."""
    found = []
    in_trans = False
    calls: list[str | None] = []   # for each open parenthesis, the name called with it
    previous = None
    for line, kind, value in env.lex(source):
        if kind == "name" and previous and previous[0] == "block_begin":
            if value in ("trans", "pluralize"):
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        if kind == "operator" and value == "(":
            calls.append(previous[1] if previous and previous[0] == "name" else None)
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind == "data" and not in_trans and VIETNAMESE.search(value):
            found.append((line, value.strip()))
        elif kind == "string" and VIETNAMESE.search(value) and not (calls and calls[-1] in GETTEXT_CALLS):
            found.append((line, value))
        if kind in ("variable_end", "block_end"):
            calls = []
        if kind not in ("whitespace", "comment", "comment_begin", "comment_end", "linecomment"):
            previous = (kind, value)
    return found


def test_no_template_holds_vietnamese_text_outside_a_gettext_call():
    env = Environment(extensions=["jinja2.ext.i18n"])
    problems = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.suffix not in (".html", ".txt"):
            continue
        for line, text in _template_text_outside_gettext(path.read_text(encoding="utf-8"), env):
            problems.append(f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}")
    assert not problems, ("Vietnamese text outside {{ _(...) }} or {% trans %} (it never reaches the catalogue):\n"
                          + "\n".join(problems))


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_each_translation_keeps_the_placeholders_of_its_message(locale):
    problems = []
    for entry in catalogue(locale):
        if not entry.id or not entry.string:
            continue
        ids = [entry.id] if isinstance(entry.id, str) else list(entry.id)
        strings = [entry.string] if isinstance(entry.string, str) else [s for s in entry.string if s]
        wanted = set().union(*map(_placeholders, ids))
        for string in strings:
            if _placeholders(string) != wanted:
                problems.append(f"{ids[0]!r} → {string!r}: {sorted(_placeholders(string))} ≠ {sorted(wanted)}")
    assert not problems, "translations whose placeholders differ from their message's:\n" + "\n".join(problems)


def test_the_guard_sees_vietnamese_outside_gettext_and_not_inside():
    env = Environment(extensions=["jinja2.ext.i18n"])
    caught = _template_text_outside_gettext(
        "{# Ghi chú #}<h1>{{ _('Hồ sơ') }}</h1>{% trans %}Đã <b>xong</b>{% endtrans %}"
        "{{ ngettext('%(num)d hồ sơ', '%(num)d hồ sơ', n) }}{{ _('Cả %(p)s', p=x or 'Tỉnh') }}"
        "<p>Trạng thái</p>{{ 'Đã khoá' if a else _('Mở') }}{{ f('Lỗi') }}", env)
    assert [text for _line, text in caught] == ["<p>Trạng thái</p>", "'Đã khoá'", "'Lỗi'"]
