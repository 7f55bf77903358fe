"""U+0000 is refused by the core, and an error about it is still XML a client can parse."""

import pytest
from defusedxml import ElementTree

from post3 import errors, listing, xml
from post3.names import check_key, check_query


@pytest.mark.parametrize("key", ["\x00", "a\x00", "\x00b", "a/\x00/b"])
def test_a_key_with_nul_is_invalid_argument(key):
    with pytest.raises(errors.InvalidArgument) as excinfo:
        check_key(key)
    assert excinfo.value.fields == {"ArgumentName": "key"}


def test_a_copy_source_with_nul_names_the_header():
    with pytest.raises(errors.InvalidArgument) as excinfo:
        check_key("a\x00", "x-amz-copy-source")
    assert excinfo.value.fields == {"ArgumentName": "x-amz-copy-source"}


def test_any_query_parameter_with_nul_is_refused_by_name():
    check_query({"prefix": "a", "marker": "", "list-type": "2"})
    with pytest.raises(errors.InvalidArgument) as excinfo:
        check_query({"list-type": "2", "start-after": "x\x00"})
    assert excinfo.value.fields == {"ArgumentName": "start-after"}


def test_a_forged_token_holding_nul_is_refused():
    assert listing.decode_token(listing.encode_token("a/b")) == "a/b"
    with pytest.raises(errors.InvalidArgument):
        listing.decode_token(listing.encode_token("a\x00"))
    # Nor a lone surrogate, which no key holds and PostgreSQL's text cannot take either.
    with pytest.raises(errors.InvalidArgument):
        listing.decode_token(listing.encode_token("a\ud800"))
    assert listing.decode_token(listing.encode_token("a\U0010ffff")) == "a\U0010ffff"


def test_an_error_about_an_unprintable_key_parses():
    body = xml.render_error(errors.InvalidArgument(ArgumentName="key"), "RID",
                            "/bkt/a\x00b\x01c\udcffd\ttab")
    root = ElementTree.fromstring(body)
    assert root.findtext("Resource") == "/bkt/a%00b%01c%uDCFFd\ttab"
    assert root.findtext("Code") == "InvalidArgument"
