"""Where a request names its bucket: in the path (path style) or in ``Host`` (virtual-hosted
style, ``<bucket>.<domain>``).

With ``--domain D`` (repeatable; ``POST3_DOMAINS=a,b``) a ``Host`` of ``<bucket>.D`` addresses
that bucket and the whole path is the key; ``D`` itself, any other name and any IP address are
path style. Matching ignores the port, the case and a trailing dot.

A request that can only be virtual-hosted, sent to a post3 that does not know its domain, is
refused with ``InvalidRequest`` instead of being read as path style, where it would silently
mean something else (``PUT /dir/x`` meant for bucket ``b`` stored as bucket ``dir`` key ``x``;
a bucket listing answered with the list of buckets; ``HEAD /`` answered 200 for any bucket).
Without a matching domain, a request is taken as virtual-hosted when either:

1. its ``Host`` is a subdomain of ``localhost`` (``b.localhost``): RFC 6761 reserves those
   names for loopback, so only a client that put a bucket in front of a ``localhost``
   endpoint sends one (DuckDB, the JavaScript SDK v3, s3cmd's ``%(bucket)s.localhost``); or
2. its ``Host`` is a dotted name (one that can be ``<bucket>.<domain>``) and it addresses the
   service root ``/`` with a shape only a bucket has: ``HEAD /`` (HeadBucket; path-style
   clients never send it), or ``GET /`` carrying a listing
   or bucket sub-resource parameter (``list-type``, ``delimiter``, ``location``...), which
   ListBuckets does not take.

Everything else is path style, on any host name or address, so ordinary path-style clients
are never refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Container, Iterable
from dataclasses import dataclass

from post3 import errors

#: Query parameters of a bucket listing: on ``/`` they mean a virtual-hosted ListObjects.
_LISTING_PARAMS = frozenset({"list-type", "delimiter", "marker", "start-after", "max-keys",
                             "encoding-type", "fetch-owner", "key-marker", "version-id-marker",
                             "upload-id-marker"})


def normalize_host(host: str) -> str:
    """``Photos.S3.Example.com.:9000`` -> ``photos.s3.example.com``; ``[::1]:9000`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def normalize_domains(domains: Iterable[str]) -> tuple[str, ...]:
    """The configured base domains, normalized; raises ValueError for an empty one, an IP
    address, or one inside another (``example.com`` and ``s3.example.com``: the host
    ``a.s3.example.com`` would be bucket ``a`` or bucket ``a.s3``)."""
    found: list[str] = []
    for raw in domains:
        domain = normalize_host(raw)
        if not domain or "/" in domain or _is_ip(domain):
            raise ValueError(f"--domain {raw!r} is not a domain name")
        if domain not in found:
            found.append(domain)
    for domain in found:
        for other in found:
            if domain != other and domain.endswith("." + other):
                raise ValueError(f"--domain {domain} is inside --domain {other}: a bucket host "
                                 f"under it would be ambiguous")
    return tuple(found)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Addressing:
    """The bucket named by ``Host`` (None: path style)."""

    host_bucket: str | None = None

    @property
    def virtual(self) -> bool:
        return self.host_bucket is not None


PATH_STYLE = Addressing()


def bucket_host(host: str, domains: Iterable[str]) -> str | None:
    """The bucket ``host`` names under one of ``domains`` (normalized), else None."""
    for domain in domains:
        if host.endswith("." + domain) and len(host) > len(domain) + 1:
            return host[: -len(domain) - 1]
    return None


def addressing(host: str | None, domains: tuple[str, ...], method: str, raw_path: str,
               query: Container[str], bucket_params: Collection[str]) -> Addressing:
    """How the request names its bucket; raises InvalidRequest for one that can only be
    virtual-hosted on a domain post3 does not serve (see the module's rules).

    ``bucket_params``: the query parameters that only a bucket takes (its sub-resources).
    """
    name = normalize_host(host or "")
    if name in domains or not name:
        return PATH_STYLE
    bucket = bucket_host(name, domains)
    if bucket is not None:
        return Addressing(bucket)
    if name.endswith(".localhost"):
        raise _unserved(name, domains)
    if raw_path.split("?", 1)[0] in ("", "/") and "." in name and not _is_ip(name):
        method = method.upper()
        bucket_query = any(p in query for p in _LISTING_PARAMS) or any(
            p in query for p in bucket_params)
        if method == "HEAD" or (method == "GET" and bucket_query):
            raise _unserved(name, domains)
    return PATH_STYLE


def _unserved(host: str, domains: tuple[str, ...]) -> errors.InvalidRequest:
    served = ", ".join(domains) if domains else "none: path style only"
    return errors.InvalidRequest(
        f"The request names its bucket in the Host header ({host}), a virtual-hosted-style "
        f"request for a domain this server does not serve (domains served: {served}). Use "
        f"path-style requests, or start post3 with --domain for this domain.")
