"""post3.xml writes its documents by hand: byte for byte what ElementTree wrote before."""

from __future__ import annotations

import datetime as dt
import random
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from post3 import xml


def _reference_fill(parent: ET.Element, children: list[Any]) -> None:
    """The renderer as it was, with ElementTree."""
    for tag, value, *attributes in children:
        if value is None:
            continue
        child = ET.SubElement(parent, tag, *attributes)
        if isinstance(value, list):
            _reference_fill(child, value)
        else:
            child.text = xml._text(value)


def reference(root: str, children: list[Any], namespace: bool = True) -> bytes:
    element = ET.Element(root, {"xmlns": xml.NAMESPACE} if namespace else {})
    _reference_fill(element, children)
    return xml.XML_DECLARATION + bytes(ET.tostring(element, encoding="utf-8"))


WHEN = dt.datetime(2026, 11, 24, 15, 52, 7, 123456, tzinfo=dt.UTC)

CASES: list[tuple[str, list[Any]]] = [
    ("Empty", []),
    ("AllNone", [("A", None), ("B", None)]),
    ("Scalars", [("Name", "b"), ("MaxKeys", 1000), ("IsTruncated", False), ("Yes", True),
                 ("When", WHEN), ("Size", 0), ("Blank", ""), ("Skipped", None)]),
    ("Nested", [("Contents", [("Key", "a/b"), ("Owner", [("ID", "x"), ("DisplayName", "y")])]),
                ("EmptyList", []), ("OnlyNone", [("X", None)]),
                ("Deep", [("L1", [("L2", [("L3", "z")])])])]),
    ("Escapes", [("Key", "a&b<c>d\"e'f"), ("Tab", "a\tb\nc\rd"), ("Amp", "&amp;"),
                 ("Unicode", "clé 日本 🎉"), ("Surrogate", "bad\udcff\ud800end")]),
    ("Attributes", [("Grantee", [("ID", "post3")],
                     {"xmlns:xsi": xml.XSI, "xsi:type": "Canonical&\"<>\r\n\tUser"}),
                    ("EmptyWithAttributes", "", {"a": "1"})]),
]


@pytest.mark.parametrize(("root", "children"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("namespace", [True, False])
def test_render_matches_elementtree(root: str, children: list[Any], namespace: bool) -> None:
    assert xml.render(root, children, namespace=namespace) == reference(root, children,
                                                                         namespace)


def test_render_matches_elementtree_on_random_text() -> None:
    rng = random.Random(20261201)
    alphabet = "ab &<>\"'\t\n\r=/%é日\U0001f389\udcff\x7f"
    for _ in range(500):
        children = [("Key", "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12))))
                    for _ in range(rng.randrange(0, 4))]
        assert xml.render("ListBucketResult", children) == reference("ListBucketResult",
                                                                      children)


def test_render_value_matches_elementtree() -> None:
    for value in ["eu-west-1", "", None, "a&b"]:
        element = ET.Element("LocationConstraint", {"xmlns": xml.NAMESPACE})
        element.text = xml._text(value) if value is not None else None
        expected = xml.XML_DECLARATION + bytes(ET.tostring(element, encoding="utf-8"))
        assert xml.render_value("LocationConstraint", value) == expected


def test_timestamps_are_utc_milliseconds_zeroed() -> None:
    offset = dt.timezone(dt.timedelta(hours=2))
    assert xml.iso8601(WHEN) == "2026-11-24T15:52:07.000Z"
    assert xml.iso8601(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=offset)) == \
        "2026-01-02T01:04:05.000Z"


def test_render_error_stays_parseable() -> None:
    from post3 import errors

    body = xml.render_error(errors.NoSuchKey(Key="a\x00b\udcff"), "REQ", "/b/a\x00b")
    assert ET.fromstring(body).findtext("Key") == "a%00b%uDCFF"
