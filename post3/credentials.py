"""Access keys and where they come from.

A key is either an admin key or holds per-bucket grants (``read`` < ``write`` < ``owner``),
in the spirit of Garage's per-key bucket permissions. Secrets are kept as they are (SigV4
needs the secret itself to verify a signature), are shown once, at creation, and never logged.

The provider is chosen through the ``post3_credentials_provider`` hook (firstresult); the one
here answers last: the root key from the settings, then the keys of the :class:`KeyStore`.

Keys are not part of the storage contract (:class:`post3.backend.Backend`): a plugin that
keeps keys beside its data provides a key store for its backend through the
``post3_key_store`` hook (the memory, filesystem and PostgreSQL backends do), so one backup
holds both and ``post3 keys`` works against the same options as ``post3 run``.
"""

from __future__ import annotations

import abc
import datetime as dt
import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import pluggy

import post3
from post3.backend import Backend, utcnow
from post3.principals import ROOT_USER, Principal

if TYPE_CHECKING:
    from post3.config import Settings

PERMISSIONS = ("read", "write", "owner")
_RANK = {name: rank for rank, name in enumerate(PERMISSIONS, start=1)}


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    name: str = ""
    admin: bool = False
    #: bucket name -> "read" | "write" | "owner"
    grants: Mapping[str, str] = field(default_factory=dict)
    created: dt.datetime = field(default_factory=utcnow)
    #: the user the key belongs to (:mod:`post3.principals`); "" for a key stored before keys
    #: had users, which is then a user of its own named after its id
    user: str = ""

    @property
    def principal(self) -> Principal:
        return Principal(self.user or self.access_key_id)

    def allows(self, bucket: str, permission: str) -> bool:
        if self.admin:
            return True
        held = self.grants.get(bucket)
        return held is not None and _RANK[held] >= _RANK[permission]

    def with_grant(self, bucket: str, permission: str | None) -> AccessKey:
        grants = dict(self.grants)
        if permission is None:
            grants.pop(bucket, None)
        else:
            grants[bucket] = permission
        return replace(self, grants=grants)


def new_access_key(name: str = "", admin: bool = False,
                   grants: Mapping[str, str] | None = None, user: str = "") -> AccessKey:
    """A fresh key: ``P3`` + 18 upper-case letters/digits (AWS's 20-character shape) and a
    40-character secret, belonging to ``user`` (by default a user of its own, named after the
    key's id)."""
    alphabet = string.ascii_uppercase + string.digits
    key_id = "P3" + "".join(secrets.choice(alphabet) for _ in range(18))
    secret = secrets.token_urlsafe(30)[:40]
    return AccessKey(key_id, secret, name, admin, dict(grants or {}), user=user or key_id)


def parse_grant(text: str) -> tuple[str, str]:
    """``BUCKET:read|write|owner`` -> (bucket, permission)."""
    bucket, sep, permission = text.rpartition(":")
    if not sep or not bucket or permission not in PERMISSIONS:
        raise ValueError(f"{text!r} is not BUCKET:read, BUCKET:write or BUCKET:owner")
    return bucket, permission


class CredentialsProvider(Protocol):
    async def lookup(self, access_key_id: str) -> AccessKey | None:
        """The key with this id, or None when there is none."""


class KeyStore(abc.ABC):
    """Where access keys are kept: what ``post3 keys`` changes and the server looks up.

    Every method may be called from several processes sharing one store at once (``post3 keys``
    while servers run): a change is atomic, and a reader sees a key whole or not at all."""

    @abc.abstractmethod
    async def get_access_key(self, access_key_id: str) -> AccessKey | None:
        """The key with this id, or None."""

    @abc.abstractmethod
    async def put_access_key(self, key: AccessKey) -> None:
        """Create or replace the key with ``key.access_key_id``."""

    @abc.abstractmethod
    async def list_access_keys(self) -> list[AccessKey]:
        """Every stored key, by access key id."""

    @abc.abstractmethod
    async def delete_access_key(self, access_key_id: str) -> bool:
        """Forget a key; False when there was none."""


def key_store_for(backend: Backend, pm: pluggy.PluginManager | None = None) -> KeyStore | None:
    """The key store the installed plugins provide for ``backend`` (``post3_key_store``),
    or None when nothing keeps keys for it: then only the root key exists."""
    if pm is None:
        from post3.plugins import get_plugin_manager

        pm = get_plugin_manager()
    store: KeyStore | None = pm.hook.post3_key_store(backend=backend)
    return store


def _store_of(source: KeyStore | Backend | None,
              settings: Settings | None = None) -> KeyStore | None:
    # Callers from before key stores existed pass the backend itself.
    if not isinstance(source, Backend):
        return source
    from post3.plugins import get_plugin_manager

    disabled = settings.disabled_plugins if settings is not None else ()
    return key_store_for(source, get_plugin_manager(disabled=disabled))


class StandardCredentials:
    """The root key from the settings, then the key store's keys.

    Found keys are cached for a few seconds, so a signed request costs no storage round trip,
    while ``post3 keys deny`` or ``delete`` take effect within ``ttl`` seconds on a running
    server. Misses are never cached: a key created a moment ago works at once.
    """

    def __init__(self, store: KeyStore | Backend | None, root: AccessKey | None,
                 ttl: float = 5.0) -> None:
        self._store = _store_of(store)
        self._root = root
        self._ttl = ttl
        self._cache: dict[str, tuple[float, AccessKey]] = {}

    async def lookup(self, access_key_id: str) -> AccessKey | None:
        if self._root is not None and access_key_id == self._root.access_key_id:
            return self._root
        cached = self._cache.get(access_key_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        key = None if self._store is None else await self._store.get_access_key(access_key_id)
        if key is None:
            self._cache.pop(access_key_id, None)
        else:
            self._cache[access_key_id] = (now, key)
        return key


def root_key(settings: Settings) -> AccessKey | None:
    if settings.access_key and settings.secret_key:
        return AccessKey(settings.access_key, settings.secret_key, "root", admin=True,
                         user=ROOT_USER)
    return None


@post3.hookimpl(trylast=True)
def post3_credentials_provider(
    settings: Settings, backend: Backend, key_store: KeyStore | None = None
) -> CredentialsProvider:
    return StandardCredentials(key_store, root_key(settings))


async def bootstrap_admin_key(settings: Settings, store: KeyStore | Backend | None,
                              ) -> AccessKey | None:
    """Safe and still easy: with authentication on, no root key and no stored key, create an
    admin key and store it (the caller prints it, once). Raises BackendError when nobody
    could ever authenticate (no root key, and no key store). ``store`` may be the backend,
    whose key store the installed plugins provide."""
    from post3.backend import BackendError

    if not settings.auth or root_key(settings) is not None:
        return None
    store = _store_of(store, settings)
    if store is None:
        raise BackendError(
            f"the {settings.backend} backend stores no access keys: set POST3_ACCESS_KEY and "
            "POST3_SECRET_KEY, or use --no-auth on a loopback address"
        )
    if await store.list_access_keys():
        return None
    key = new_access_key("admin (created at first start)", admin=True)
    await store.put_access_key(key)
    return key


def first_key_message(key: AccessKey, endpoint: str) -> str:
    return (
        "post3 created an admin access key; its secret is shown only now:\n"
        f"  access key id:     {key.access_key_id}\n"
        f"  secret access key: {key.secret_access_key}\n"
        "Use it with the AWS CLI:\n"
        f"  aws configure set aws_access_key_id {key.access_key_id}\n"
        f"  aws configure set aws_secret_access_key {key.secret_access_key}\n"
        f"  aws --endpoint-url {endpoint} s3 ls\n"
        "More keys: post3 keys create --help"
    )


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


__all__ = [
    "PERMISSIONS",
    "AccessKey",
    "CredentialsProvider",
    "KeyStore",
    "StandardCredentials",
    "bootstrap_admin_key",
    "first_key_message",
    "is_loopback",
    "key_store_for",
    "new_access_key",
    "parse_grant",
    "post3_credentials_provider",
    "root_key",
]
