"""S3's XML: ``render_*`` with ElementTree, ``parse_*`` with defusedxml.

Rendering takes plain values and returns bytes; handlers never touch ElementTree. Parsing
accepts what real clients send (with or without the S3 namespace, pretty-printed or not) and
raises ``MalformedXML`` for anything else.
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


def iso8601(value: dt.datetime) -> str:
    """S3's timestamp form in XML: ``2026-11-24T15:52:07.000Z``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return iso8601(value)
    return str(value)


def _fill(parent: ET.Element, children: Iterable[Child]) -> None:
    for tag, value, *attributes in children:
        if value is None:
            continue
        child = ET.SubElement(parent, tag, *attributes)
        if isinstance(value, list):
            _fill(child, value)
        else:
            child.text = _text(value)


XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def render(root: str, children: Iterable[Child], *, namespace: bool = True) -> bytes:
    """``<?xml ...?><root xmlns="...">children</root>`` as UTF-8 bytes."""
    element = ET.Element(root, {"xmlns": NAMESPACE} if namespace else {})
    _fill(element, children)
    return XML_DECLARATION + bytes(ET.tostring(element, encoding="utf-8"))


def render_value(root: str, value: Any) -> bytes:
    """A root element holding only text: ``<LocationConstraint>eu-west-1</...>``."""
    element = ET.Element(root, {"xmlns": NAMESPACE})
    element.text = _text(value) if value is not None else None
    return XML_DECLARATION + bytes(ET.tostring(element, encoding="utf-8"))


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
