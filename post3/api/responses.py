"""Pieces every handler's response is built from."""

from __future__ import annotations

from aiohttp import web

#: post3 has one owner for everything (it keeps no ACLs); S3 documents name it everywhere.


def xml_response(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/xml")
