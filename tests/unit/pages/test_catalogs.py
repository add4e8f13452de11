"""Every string of every page has its Swahili, and the compiled catalog is current."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo

from billing.pages.swahili import SW

ROOT = Path(__file__).resolve().parents[3]
METHODS = [
    ("billing/portal/**.py", "python"),
    ("billing/backoffice/**.py", "python"),
    ("billing/pages/**.py", "python"),
    ("billing/pages/templates/**.html", "jinja2"),
]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def _page_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_page_string_has_its_swahili() -> None:
    strings = _page_strings()
    assert len(strings) > 200
    assert sorted(strings - set(SW)) == []


def test_the_compiled_catalog_holds_them() -> None:
    mo = ROOT / "billing/pages/translations/sw/LC_MESSAGES/messages.mo"
    with mo.open("rb") as compiled:
        catalog = read_mo(compiled)
    held = {message.id: message.string for message in catalog if message.id}
    missing = {text for text in _page_strings() if not held.get(text)}
    assert sorted(missing) == [], "run pybabel extract, then python -m billing.pages.swahili POT"


def test_the_check_catches_a_string_without_swahili(tmp_path) -> None:
    """A planted template string with no Swahili is found by the same extraction."""
    (tmp_path / "billing/pages/templates").mkdir(parents=True)
    (tmp_path / "billing/pages/templates/planted.html").write_text(
        '{{ _("Overview") }} {{ _("A sentence nobody translated") }}'
    )
    found = {
        message
        for _f, _l, message, _c, _x in extract_from_dir(str(tmp_path), METHODS, keywords=KEYWORDS)
    }
    assert sorted(found - set(SW)) == ["A sentence nobody translated"]
