"""S3's XML: ``render_*`` written directly, ``parse_*`` with defusedxml.

Rendering takes plain values and returns bytes; handlers never touch ElementTree. It writes the
text itself rather than building an ElementTree: a 1,000-key listing is 8,000 elements, and
building and serialising them with ElementTree cost more than the listing query. The output is
byte for byte what ``ElementTree.tostring`` gave (empty elements as ``<Tag />``, the same
escaping, lone surrogates as character references), which ``tests/unit/test_xml.py`` checks.
Parsing accepts what real clients send (with or without the S3 namespace, pretty-printed or
not) and raises ``MalformedXML`` for anything else.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any

from defusedxml import ElementTree as SafeET

from post3 import errors

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: A child is (tag, value) where value is text, a number, a bool, a datetime, None (skipped),
#: or a list of children (a nested element); (tag, value, attributes) adds XML attributes.
Child = tuple[str, Any] | tuple[str, Any, dict[str, str]]


#: iso8601's texts by second: a listing's objects were mostly written in a few seconds, and
#: a dictionary hit costs a fifth of formatting. Cleared when full (any thread may fill it:
#: a lost entry is only formatted again).
_STAMPS: dict[tuple[int, int, int, int, int, int], str] = {}
_STAMPS_KEPT = 4096


def iso8601(value: dt.datetime) -> str:
    """S3's timestamp form in XML: ``2026-11-24T15:52:07.000Z``."""
    if value.tzinfo is not dt.UTC:  # backends give UTC times; astimezone would copy them
        value = value.astimezone(dt.UTC)
    second = (value.year, value.month, value.day, value.hour, value.minute, value.second)
    text = _STAMPS.get(second)
    if text is None:
        if len(_STAMPS) >= _STAMPS_KEPT:
            _STAMPS.clear()
        # isoformat is C; strftime was a tenth of a listing's rendering
        text = _STAMPS[second] = value.isoformat(timespec="seconds")[:19] + ".000Z"
    return text


def _text(value: Any) -> str:
    if type(value) is str:  # the common case first; a str subclass goes through str()
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return iso8601(value)
    return str(value)


def escape(text: str) -> str:
    """Character data, escaped as ElementTree escapes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                                    "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"})


def _attributes(attributes: dict[str, str]) -> str:
    return "".join(f' {name}="{value.translate(_ATTRIBUTE_ESCAPES)}"'
                   for name, value in attributes.items())


def _fill(out: list[str], children: Iterable[Child]) -> None:
    for tag, value, *attributes in children:
        if value is None:
            continue
        start = f"<{tag}{_attributes(attributes[0])}" if attributes else f"<{tag}"
        if isinstance(value, list):
            mark = len(out)
            out.append(start + ">")
            _fill(out, value)
            if len(out) == mark + 1:  # no child was rendered (none, or all None)
                out[mark] = start + " />"
            else:
                out.append(f"</{tag}>")
        else:
            text = _text(value)
            out.append(f"{start}>{escape(text)}</{tag}>" if text else start + " />")


XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _document(out: list[str]) -> bytes:
    # A lone surrogate (a key that is not UTF-8) becomes a character reference, as it did
    # with ElementTree, rather than failing the response.
    return XML_DECLARATION + "".join(out).encode("utf-8", "xmlcharrefreplace")


def render(root: str, children: Iterable[Child], *, namespace: bool = True,
           rendered: str = "") -> bytes:
    """``<?xml ...?><root xmlns="...">children</root>`` as UTF-8 bytes. ``rendered``: more
    elements after the children, already written as text (:func:`fragment` does it; a listing
    writes its 1,000 entries with one template each, see post3/api/list_objects.py)."""
    start = f'<{root} xmlns="{NAMESPACE}"' if namespace else f"<{root}"
    out = [start + ">"]
    _fill(out, children)
    if rendered:
        out.append(rendered)
    if len(out) == 1:
        return _document([start + " />"])
    out.append(f"</{root}>")
    return _document(out)


def fragment(children: Iterable[Child]) -> str:
    """``children`` as :func:`render` writes them, as text: for ``rendered``."""
    out: list[str] = []
    _fill(out, children)
    return "".join(out)


def render_value(root: str, value: Any) -> bytes:
    """A root element holding only text: ``<LocationConstraint>eu-west-1</...>``."""
    start = f'<{root} xmlns="{NAMESPACE}"'
    text = _text(value) if value is not None else ""
    return _document([f"{start}>{escape(text)}</{root}>" if text else start + " />"])


#: What XML 1.0 cannot carry at all: C0 controls but tab, LF and CR; U+FFFE, U+FFFF; lone
#: surrogates (a path that is not UTF-8 decodes to them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_safe(value: Any) -> Any:
    """``value`` with what XML cannot carry percent-encoded (surrogates as ``%uXXXX``)."""
    if not isinstance(value, str):
        return value
    return _NOT_XML.sub(
        lambda m: f"%{ord(m.group()):02X}" if ord(m.group()) < 0x100
        else f"%u{ord(m.group()):04X}",
        value,
    )


def render_error(error: errors.S3Error, request_id: str, resource: str | None) -> bytes:
    """The ``<Error>`` document. The request being refused may hold what XML cannot carry
    (a key with U+0000): the error must still parse, so such characters are escaped here."""
    children: list[tuple[str, Any]] = [("Code", error.code), ("Message", error.message)]
    children.extend(error.fields.items())
    children.append(("Resource", resource))
    children.append(("RequestId", request_id))
    return render("Error", [(tag, _xml_safe(value)) for tag, value in children],
                  namespace=False)


# ----------------------------------------------------------------------------- parsing


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(body: bytes, root: str) -> ET.Element:
    """Parse ``body`` whose root element must be ``root`` (namespace optional)."""
    try:
        element = SafeET.fromstring(body)
    except Exception:  # defusedxml raises ParseError and its own DTD/entity errors
        raise errors.MalformedXML() from None
    if _local(element.tag) != root:
        raise errors.MalformedXML()
    return element


def children(element: ET.Element, tag: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == tag]


def child_text(element: ET.Element, tag: str, default: str | None = None) -> str | None:
    for child in element:
        if _local(child.tag) == tag:
            return (child.text or "").strip()
    return default


def parse_tagging(body: bytes) -> dict[str, str]:
    """``<Tagging><TagSet><Tag><Key/><Value/></Tag>...`` -> dict (duplicates rejected)."""
    root = parse(body, "Tagging")
    tag_sets = children(root, "TagSet")
    if len(tag_sets) != 1:
        raise errors.MalformedXML()
    tags: dict[str, str] = {}
    for tag in children(tag_sets[0], "Tag"):
        key = _raw_child_text(tag, "Key")
        value = _raw_child_text(tag, "Value")
        if key is None or value is None:
            raise errors.MalformedXML()
        if key in tags:
            raise errors.InvalidTag("Cannot provide multiple Tags with the same key", TagKey=key)
        tags[key] = value
    return tags


def _raw_child_text(element: ET.Element, tag: str) -> str | None:
    """Like child_text, but without stripping: tag keys and values keep their spaces."""
    for child in element:
        if _local(child.tag) == tag:
            return child.text or ""
    return None


def render_tagging(tags: Mapping[str, str]) -> bytes:
    return render(
        "Tagging",
        # Sorted by key, as S3 returns them, whatever order a backend kept.
        [("TagSet", [("Tag", [("Key", k), ("Value", v)]) for k, v in sorted(tags.items())])],
    )
