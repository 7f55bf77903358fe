"""Settings: built once from flags > environment > defaults, then passed down.

Nothing else in post3 reads ``os.environ``: the CLI hands the environment to
:func:`Settings.build`, and tests build Settings directly.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ENV_PREFIX = "POST3_"

#: S3's limit for a single PutObject.
MAX_PUT_SIZE = 5 * 1024**3

#: Connection defaults. The idle limit is longer than a load balancer's usual 60 s idle timeout,
#: so the balancer, not post3, closes the keep-alive connections it pools.
HEADER_TIMEOUT = 20.0
IDLE_TIMEOUT = 75.0
MAX_CONNECTIONS = 4096
#: Request bodies a process streams into storage at once; more wait their turn, their bytes
#: held back by TCP flow control. Each streaming upload holds a few MiB of buffers (a block
#: being written, one filling, a batch hashing), so this, not the number of clients, bounds
#: the server's memory: 64 boto3 threads uploading parts peaked at 346 MB without it, 151 MB
#: with 4 (on 2 CPUs). Two per CPU keep every CPU busy: an upload is mostly CPU (hashing).
UPLOAD_SLOTS = max(4, 2 * (os.cpu_count() or 1))
#: What turns a boolean variable off (``POST3_CONSOLE=false``).
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True, slots=True)
class Settings:
    backend: str = "filesystem"
    host: str = "127.0.0.1"
    port: int = 9000
    #: Options for the chosen backend, already merged from ``-o`` and ``POST3_<BACKEND>_<KEY>``.
    backend_options: Mapping[str, str] = field(default_factory=dict)
    #: The region post3 answers GetBucketLocation with and accepts in signatures.
    region: str = "us-east-1"
    #: Plugin names never loaded (``POST3_DISABLE_PLUGINS=a,b``).
    disabled_plugins: tuple[str, ...] = ()
    #: Largest single PutObject body, in bytes (S3: 5 GiB).
    max_put_size: int = MAX_PUT_SIZE
    #: The root (admin) key, from POST3_ACCESS_KEY / POST3_SECRET_KEY.
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    #: False only with ``--no-auth`` (loopback only): requests are not authenticated.
    auth: bool = True
    #: Seconds from the first byte of a request head to its end.
    header_timeout: float = HEADER_TIMEOUT
    #: Seconds a connection may wait for a request (a new one, or keep-alive between requests).
    idle_timeout: float = IDLE_TIMEOUT
    #: Concurrent connections per process (lowered to fit the open-file limit).
    max_connections: int = MAX_CONNECTIONS
    #: Request bodies over 64 KiB streamed into storage at once, per process
    #: (``POST3_UPLOAD_SLOTS``; default two per CPU, at least 4); the others wait.
    upload_slots: int = UPLOAD_SLOTS
    #: Base domains of virtual-hosted-style requests (``--domain``, ``POST3_DOMAINS=a,b``):
    #: ``Host: <bucket>.<domain>`` addresses the bucket. Empty: path style only.
    domains: tuple[str, ...] = ()
    #: The web console at /_post3/console/ (``--no-console``, ``POST3_CONSOLE=false``), and
    #: how long its login lasts, in seconds (``POST3_CONSOLE_SESSION_TTL``; default 8 hours).
    console: bool = True
    console_session_ttl: float = 8 * 3600.0
    #: Seconds between lifecycle passes (``POST3_LIFECYCLE_INTERVAL``; ``0`` turns the
    #: background job off: ``post3 lifecycle run`` still runs a pass by hand).
    lifecycle_interval: float = 3600.0
    #: The length of a lifecycle "day", in seconds (``POST3_LIFECYCLE_DAY_SECONDS``): S3's
    #: 86,400; tests shorten it instead of waiting days.
    lifecycle_day_seconds: float = 86400.0
    #: Versions a pass looks at per bucket before leaving the rest to the next pass.
    lifecycle_max_versions: int = 100_000
    #: Master keys for SSE-S3 and SSE-KMS (:mod:`post3.encryption.keyring`): a key file
    #: (``POST3_KEY_FILE``, managed with ``post3 kms``) and/or one key, base64, as the key
    #: ``default`` (``POST3_MASTER_KEY``). Neither: only SSE-C can be used.
    key_file: str | None = None
    master_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from post3.api.addressing import normalize_domains

        # Normalized once (lower case, no port); a bad or overlapping domain is a ValueError.
        object.__setattr__(self, "domains", normalize_domains(self.domains))

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def build(
        cls,
        environ: Mapping[str, str],
        *,
        backend: str | None = None,
        host: str | None = None,
        port: int | None = None,
        options: Mapping[str, str] | None = None,
        option_env: Mapping[str, str] | None = None,
        header_timeout: float | None = None,
        idle_timeout: float | None = None,
        max_connections: int | None = None,
        domains: tuple[str, ...] = (),
    ) -> Settings:
        """Flags win over ``POST3_*`` variables, which win over defaults.

        ``option_env`` maps a backend option to an extra variable that sets it with the lowest
        precedence (``{"dsn": "DATABASE_URL"}``), as the backend declared it.
        """
        defaults = cls()
        chosen = backend or environ.get("POST3_BACKEND") or defaults.backend
        return cls(
            backend=chosen,
            host=host or environ.get("POST3_HOST") or defaults.host,
            port=port if port is not None else int(environ.get("POST3_PORT", defaults.port)),
            backend_options={
                **{name: environ[var] for name, var in (option_env or {}).items()
                   if var in environ},
                **backend_options_from_env(chosen, environ),
                **(options or {}),
            },
            region=environ.get("POST3_REGION") or defaults.region,
            disabled_plugins=disabled_plugins(environ),
            access_key=environ.get("POST3_ACCESS_KEY") or None,
            secret_key=environ.get("POST3_SECRET_KEY") or None,
            header_timeout=_positive(header_timeout, environ, "POST3_HEADER_TIMEOUT",
                                     defaults.header_timeout, float),
            idle_timeout=_positive(idle_timeout, environ, "POST3_IDLE_TIMEOUT",
                                   defaults.idle_timeout, float),
            max_connections=_positive(max_connections, environ, "POST3_MAX_CONNECTIONS",
                                      defaults.max_connections, int),
            upload_slots=_positive(None, environ, "POST3_UPLOAD_SLOTS",
                                   defaults.upload_slots, int),
            domains=domains or comma_list(environ.get("POST3_DOMAINS", "")),
            console=environ.get("POST3_CONSOLE", "").strip().lower() not in FALSE_WORDS,
            console_session_ttl=_positive(None, environ, "POST3_CONSOLE_SESSION_TTL",
                                          defaults.console_session_ttl, float),
            lifecycle_interval=0.0 if environ.get("POST3_LIFECYCLE_INTERVAL", "").strip()
            in ("0", "0.0") else _positive(None, environ, "POST3_LIFECYCLE_INTERVAL",
                                           defaults.lifecycle_interval, float),
            lifecycle_day_seconds=_positive(None, environ, "POST3_LIFECYCLE_DAY_SECONDS",
                                            defaults.lifecycle_day_seconds, float),
            lifecycle_max_versions=_positive(None, environ, "POST3_LIFECYCLE_MAX_VERSIONS",
                                             defaults.lifecycle_max_versions, int),
            key_file=environ.get("POST3_KEY_FILE") or None,
            master_key=environ.get("POST3_MASTER_KEY") or None,
        )


def _positive(flag: Any, environ: Mapping[str, str], variable: str, default: Any,
              kind: type) -> Any:
    """A flag, else the variable, else the default; ValueError naming the variable if it is not
    a positive number."""
    if flag is not None:
        return flag
    raw = environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{variable}={raw!r} is not a positive {kind.__name__}")
    return value


def disabled_plugins(environ: Mapping[str, str]) -> tuple[str, ...]:
    return comma_list(environ.get("POST3_DISABLE_PLUGINS", ""))


def comma_list(raw: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in raw.split(",") if name.strip())


def backend_options_from_env(backend: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``POST3_<BACKEND>_<KEY>=value`` -> ``{key: value}`` (key lower-cased)."""
    prefix = f"{ENV_PREFIX}{backend.upper().replace('-', '_')}_"
    return {
        name[len(prefix):].lower(): value
        for name, value in environ.items()
        if name.startswith(prefix) and len(name) > len(prefix)
    }


def parse_option_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """``("root=/data", "fsync=false")`` -> dict; raises ValueError on a pair without '='."""
    options: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"option {pair!r} is not KEY=VALUE")
        options[name.strip()] = value
    return options
