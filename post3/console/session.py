"""Console sessions without shared state: any worker, on any host, verifies any session.

The cookie carries ``key id . expiry . nonce . MAC``. The MAC is an HMAC-SHA256 keyed by a
*session key* derived from the access key's secret (``HMAC(secret, "post3 console session")``).
A worker verifies a cookie by looking the key up through the credentials provider, as it
does for every signed S3 request, and recomputing the MAC. So:

- there is no session table: ``--workers N`` and several hosts behind a load balancer accept
  each other's sessions with nothing shared but the key store;
- deleting the key (or changing its secret) ends all of its sessions at once;
- nobody can mint a session without the secret: the server itself only issues one after the
  login form proved knowledge of the secret (by signing a real S3 request with it).

The secret never travels in the cookie, not even encrypted. It does not need to: the console
signs its S3 requests with the secret that the key lookup returns on the server, exactly the
secret the server would verify a signature with (SigV4 makes the server hold secrets). A
stolen cookie therefore grants what the key grants, until it expires, and never reveals the
secret itself; that is why the cookie is HttpOnly (no script reads it), SameSite=Strict (no
other site sends it), Secure over TLS, and short-lived (``POST3_CONSOLE_SESSION_TTL``).

The price of statelessness: logging out clears the cookie in this browser, but a copy taken
earlier stays valid until its expiry. To end every session of a key at once, delete the key
or give it a new secret.

CSRF: every state-changing form carries a token, ``HMAC(session key, "csrf" + nonce)``: only a
page rendered for this session knows it. The login form, which has no session yet, uses a
double-submitted random cookie instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from post3.credentials import AccessKey

COOKIE = "post3_console"
LOGIN_COOKIE = "post3_console_login"
_CONTEXT = b"post3 console session v1"


def _session_key(key: AccessKey) -> bytes:
    return hmac.new(key.secret_access_key.encode(), _CONTEXT, hashlib.sha256).digest()


def _mac(key: AccessKey, message: str) -> str:
    digest = hmac.new(_session_key(key), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


@dataclass(frozen=True, slots=True)
class Session:
    key: AccessKey
    expires: int
    nonce: str

    @property
    def csrf_token(self) -> str:
        return _mac(self.key, f"csrf|{self.nonce}")

    def check_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token, token or "")


def issue(key: AccessKey, ttl: float, now: float | None = None) -> tuple[Session, str]:
    """A new session for ``key`` and its cookie value."""
    expires = int((now if now is not None else time.time()) + ttl)
    nonce = secrets.token_urlsafe(16)
    body = f"{_b64(key.access_key_id)}.{expires}.{nonce}"
    return Session(key, expires, nonce), f"{body}.{_mac(key, body)}"


def parse(value: str) -> tuple[str, int, str, str] | None:
    """(key id, expiry, nonce, mac) from a cookie value; None when it is not one."""
    parts = value.split(".")
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    try:
        key_id = _unb64(parts[0])
    except (ValueError, UnicodeDecodeError):
        return None
    return key_id, int(parts[1]), parts[2], parts[3]


def verify(value: str, key: AccessKey | None, now: float | None = None) -> Session | None:
    """The session the cookie proves, or None (bad MAC, expired, unknown key)."""
    parsed = parse(value)
    if parsed is None or key is None:
        return None
    key_id, expires, nonce, mac = parsed
    if key_id != key.access_key_id or expires < (now if now is not None else time.time()):
        return None
    body = value.rsplit(".", 1)[0]
    if not hmac.compare_digest(_mac(key, body), mac):
        return None
    return Session(key, expires, nonce)
