"""post3's own key service: the master keys that wrap SSE-S3 and SSE-KMS data keys.

Master keys never enter the backend's storage. They come from a key file
(``POST3_KEY_FILE``, managed with ``post3 kms create | list | rotate``) and/or one key in the
environment (``POST3_MASTER_KEY``: 32 bytes, base64), which is the key ``default``.

A key has an id and versions. New data keys are wrapped under the key's latest version; a
wrapped key names the version it was wrapped under (``<id>:<version>:<base64>``), so every
version stays needed until no object refers to it. ``rotate`` adds a version: objects written
afterwards use it, and those written before keep reading with theirs; ``rewrap``
(:mod:`post3.encryption.rewrap`) then wraps their data keys again under it, without rewriting
their bytes. SSE-S3, and ``aws:kms`` without a key id, use the key ``default``.

Losing the key file (or the variable) loses every object encrypted under it: post3 keeps no
other copy, and nothing can decrypt those objects again. Back it up apart from the database.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
import re
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from post3 import errors

DEFAULT_KEY = "default"
KEY_BYTES = 32
#: Key ids as S3 clients pass them (a bare id, an alias, or the tail of a KMS ARN).
KEY_ID = re.compile(r"^[A-Za-z0-9/_-]{1,128}$")
_ARN = re.compile(r"^arn:aws:kms:[^:]*:[^:]*:(?:key|alias)/(.+)$")


class KeyFileError(Exception):
    """The key file or the master key variable cannot be used (start-up refuses it)."""


class NoSuchKmsKey(errors.S3Error):
    """An ``aws:kms`` key id the key service does not have."""

    code = "KMS.NotFoundException"
    status = 400
    default_message = "Invalid keyId"


@dataclass(slots=True)
class MasterKey:
    key_id: str
    created: str
    versions: list[bytes] = field(default_factory=list)


def key_id_of(value: str) -> str:
    """The key id in a KMS key id, alias or ARN as clients send them."""
    match = _ARN.match(value.strip())
    name = match.group(1) if match else value.strip()
    if name.startswith("alias/"):
        name = name[len("alias/"):]
    return name


class KeyRing:
    """The master keys of one process, read from the file and the variable."""

    def __init__(self, keys: Mapping[str, MasterKey] | None = None,
                 path: str | None = None, env_key: bytes | None = None) -> None:
        self._keys: dict[str, MasterKey] = dict(keys or {})
        self._path = path
        self._env_key = env_key
        self._stamp = 0
        self._checked = 0.0

    @classmethod
    def load(cls, path: str | None, env_key: str | None) -> KeyRing:
        raw_env = None
        if env_key:
            raw_env = _decode_key(env_key, "POST3_MASTER_KEY")
        ring = cls(path=path, env_key=raw_env)
        ring.reload()
        return ring

    def reload(self) -> None:
        if self._path is not None:
            try:
                self._stamp = os.stat(self._path).st_mtime_ns
            except OSError:
                self._stamp = 0
        keys = read_key_file(self._path) if self._path else {}
        if self._env_key is not None:
            if DEFAULT_KEY in keys:
                raise KeyFileError(
                    "POST3_MASTER_KEY and a key 'default' in the key file: keep one of them")
            keys[DEFAULT_KEY] = MasterKey(DEFAULT_KEY, "", [self._env_key])
        self._keys = keys

    @property
    def configured(self) -> bool:
        self._refresh()
        return bool(self._keys)

    def has(self, key_id: str) -> bool:
        self._refresh()
        return key_id in self._keys

    def keys(self) -> list[MasterKey]:
        return [self._keys[name] for name in sorted(self._keys)]

    def _refresh(self) -> None:
        """Reload the key file when it changed (``post3 kms rotate`` beside a running
        server): checked at most once a second, one ``stat`` each time."""
        now = time.monotonic()
        if self._path is None or now < self._checked + 1.0:
            return
        self._checked = now
        try:
            stamp = os.stat(self._path).st_mtime_ns
        except OSError:
            return
        if stamp != self._stamp:
            self.reload()

    def wrap(self, key_id: str, data_key: bytes, context: bytes) -> str:
        """``data_key`` wrapped under the latest version of ``key_id``."""
        self._refresh()
        master = self._keys.get(key_id)
        if master is None:
            raise NoSuchKmsKey(f"Invalid keyId {key_id}")
        version = len(master.versions)
        nonce = os.urandom(12)
        sealed = AESGCM(master.versions[-1]).encrypt(
            nonce, data_key, _context(key_id, version, context))
        return f"{key_id}:{version}:{base64.b64encode(nonce + sealed).decode()}"

    def unwrap(self, wrapped: str, context: bytes) -> bytes:
        """The data key ``wrapped`` holds; InternalError if its master key is gone."""
        key_id, version_text, blob = wrapped.rsplit(":", 2)
        version = int(version_text)
        master = self._keys.get(key_id)
        if master is None or version > len(master.versions):
            self.reload()  # rotated or created by another process since this one started
            master = self._keys.get(key_id)
        if master is None or not 1 <= version <= len(master.versions):
            raise errors.InternalError(
                f"The master key {key_id} (version {version}) of this object is not available.")
        raw = base64.b64decode(blob)
        try:
            return AESGCM(master.versions[version - 1]).decrypt(
                raw[:12], raw[12:], _context(key_id, version, context))
        except InvalidTag:
            raise errors.InternalError("The object's data key does not open with its "
                                       "master key.") from None


    def rewrap(self, wrapped: str, context: bytes) -> str | None:
        """``wrapped``'s data key wrapped again under its master key's latest version, or
        None when it already is: what re-wrapping an object after ``rotate`` stores in its
        attributes (its bytes stay as they are, since the data key does not change)."""
        key_id, version_text, _ = wrapped.rsplit(":", 2)
        self._refresh()
        master = self._keys.get(key_id)
        if master is not None and int(version_text) == len(master.versions):
            return None
        return self.wrap(key_id, self.unwrap(wrapped, context), context)


def _context(key_id: str, version: int, context: bytes) -> bytes:
    return f"post3 data key|{key_id}|{version}|".encode() + context


def _decode_key(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise KeyFileError(f"{where}: a master key is {KEY_BYTES} bytes, base64-encoded")
    return raw


# ------------------------------------------------------------------ the key file


def read_key_file(path: str) -> dict[str, MasterKey]:
    """The keys of ``path`` (a missing file holds none)."""
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: {exc}") from exc
    keys: dict[str, MasterKey] = {}
    try:
        for key_id, entry in document["keys"].items():
            keys[key_id] = MasterKey(key_id, entry.get("created", ""),
                                     [_decode_key(v, f"{path}: key {key_id}")
                                      for v in entry["versions"]])
    except (KeyError, TypeError, AttributeError) as exc:
        raise KeyFileError(f"{path}: not a post3 key file") from exc
    return keys


def write_key_file(path: str, keys: Mapping[str, MasterKey]) -> None:
    """Replace ``path`` atomically, readable by its owner only."""
    document: dict[str, Any] = {"keys": {
        key.key_id: {"created": key.created,
                     "versions": [base64.b64encode(v).decode() for v in key.versions]}
        for key in keys.values()}}
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".post3-keys-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def create_key(path: str, key_id: str) -> MasterKey:
    if not KEY_ID.match(key_id):
        raise KeyFileError(f"{key_id!r} is not a key id (letters, digits, '/', '_', '-')")
    keys = read_key_file(path)
    if key_id in keys:
        raise KeyFileError(f"the key {key_id} exists: rotate it instead")
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    keys[key_id] = MasterKey(key_id, created, [os.urandom(KEY_BYTES)])
    write_key_file(path, keys)
    return keys[key_id]


def rotate_key(path: str, key_id: str) -> MasterKey:
    keys = read_key_file(path)
    if key_id not in keys:
        raise KeyFileError(f"no key {key_id} in {path}")
    keys[key_id].versions.append(os.urandom(KEY_BYTES))
    write_key_file(path, keys)
    return keys[key_id]
