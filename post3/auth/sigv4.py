"""SigV4: the ``Authorization`` header and presigned ``X-Amz-*`` query parameters.

Parsing (:func:`parse_authorization_header`, :func:`parse_presigned_query`) needs no secret and
yields a :class:`SigV4Request` naming the access key; :meth:`SigV4Request.verify` then checks the
signature with that key's secret. The canonical request follows S3's rules and what real clients
send (S3-WIRE.md §1.3): the path exactly as it arrived, the query decoded, re-encoded and sorted,
exactly the headers named in SignedHeaders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from post3 import errors
from post3.auth import signing
from post3.auth.request_view import RequestView
from post3.auth.result import AuthResult, SigningContext

#: X-Amz-Expires may not exceed a week.
MAX_PRESIGNED_EXPIRES = 604800

_MALFORMED = "The authorization header is malformed; "
_QUERY_CREDENTIAL = "Error parsing the X-Amz-Credential parameter; "
_PRESIGN_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)


#: x-amz-content-sha256 describes the payload and is checked against it; S3 accepts it unsigned.
_UNSIGNED_AMZ_HEADERS_ALLOWED = frozenset({"x-amz-content-sha256"})


@dataclass(frozen=True, slots=True)
class SigV4Request:
    """A SigV4-signed request, parsed and time-checked but not yet verified."""

    view: RequestView
    credential: signing.Credential
    signed_headers: str
    signature: str
    amz_date: str
    #: the payload-hash line as the client signed it
    payload_hash: str
    presigned: bool

    @property
    def access_key_id(self) -> str:
        return self.credential.access_key_id

    def canonical_prefix(self, path: str) -> str:
        """The canonical request up to (not including) the payload hash."""
        view = self.view
        exclude = "X-Amz-Signature" if self.presigned else None
        query = signing.canonical_query(view.query_items, exclude=exclude)
        lines = [view.method, path, query]
        for name in self.signed_headers.split(";"):
            values = view.header_values(name)
            lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}")
        return "\n".join(lines) + "\n\n" + self.signed_headers + "\n"

    def check_amz_headers_signed(self) -> None:
        """S3 refuses ``x-amz-*`` headers the signature does not cover: otherwise anyone on
        the way could add metadata, tags or an ACL to a signed request."""
        signed = set(self.signed_headers.split(";"))
        unsigned = sorted(
            name for name in self.view.header_names()
            if name.startswith("x-amz-") and name not in signed
            and name not in _UNSIGNED_AMZ_HEADERS_ALLOWED
        )
        if unsigned:
            raise errors.AccessDenied(
                "There were headers present in the request which were not signed",
                HeadersNotSigned=", ".join(unsigned),
            )

    def verify(self, secret: str) -> AuthResult:
        """The request's :class:`AuthResult`, or SignatureDoesNotMatch.

        Everything the signature covers is known from the head: the payload-hash line is the
        ``x-amz-content-sha256`` header (required, as S3 requires it) or ``UNSIGNED-PAYLOAD``
        for a presigned URL. Nothing is left to decide once the body arrives but whether it
        matches what the head promised (a hex hash, signed chunks), which the body's reader
        checks before anything is committed.
        """
        self.check_amz_headers_signed()
        key = self.credential.key(secret)
        scope = self.credential.scope
        first_failure: tuple[str, str] | None = None
        for path in signing.canonical_path_variants(self.view.raw_path):
            prefix = self.canonical_prefix(path)
            canonical_request = prefix + self.payload_hash
            to_sign = signing.string_to_sign(self.amz_date, scope, canonical_request)
            expected = signing.hmac_sha256(key, to_sign).hex()
            if signing.signature_matches(expected, self.signature):
                return self._result(key, prefix)
            first_failure = first_failure or (to_sign, canonical_request)
        assert first_failure is not None
        raise signing.signature_mismatch(
            self.access_key_id, first_failure[0], self.signature, first_failure[1]
        )

    def _result(self, key: bytes, prefix: str) -> AuthResult:
        context = SigningContext(
            self.access_key_id, key, self.amz_date, self.credential.scope, self.signature, prefix
        )
        return AuthResult(
            access_key_id=self.access_key_id,
            scheme="sigv4-presigned" if self.presigned else "sigv4",
            content_sha256=None if self.presigned else self.payload_hash,
            context=context,
        )


def parse_authorization_value(value: str) -> tuple[signing.Credential, str, str]:
    """``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` -> its three parts.

    Commas may or may not be followed by spaces (s3cmd and minio-go send none).
    """
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != signing.ALGORITHM:
        raise errors.InvalidArgument(
            "Unsupported Authorization Type", ArgumentName="Authorization", ArgumentValue=value
        )
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, eq, part_value = item.strip().partition("=")
        if not eq:
            continue
        parts[name] = part_value.strip()
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        raise errors.AuthorizationHeaderMalformed(
            _MALFORMED + "the authorization header requires three components: Credential, "
            "SignedHeaders, and Signature."
        )
    credential = signing.parse_credential(
        parts["Credential"], errors.AuthorizationHeaderMalformed, _MALFORMED
    )
    if not parts["SignedHeaders"]:
        raise errors.AuthorizationHeaderMalformed(
            _MALFORMED + "the authorization header requires three components: Credential, "
            "SignedHeaders, and Signature."
        )
    return credential, parts["SignedHeaders"].lower(), parts["Signature"]


def parse_authorization_header(view: RequestView, value: str) -> SigV4Request:
    credential, signed_headers, signature = parse_authorization_value(value)
    amz_date, raw_time = _request_time(view)
    if credential.date != amz_date[:8]:
        raise errors.AuthorizationHeaderMalformed(
            _MALFORMED + "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    content_sha256 = view.header("x-amz-content-sha256")
    if content_sha256 is None:
        # S3 answers this before looking at the signature. Without the header the signature
        # could only be checked against the body's own hash, after the body had arrived.
        raise errors.InvalidRequest(
            "Missing required header for this request: x-amz-content-sha256"
        )
    return SigV4Request(
        view=view,
        credential=credential,
        signed_headers=signed_headers,
        signature=signature,
        amz_date=amz_date,
        payload_hash=content_sha256.strip(),
        presigned=False,
    )


def _request_time(view: RequestView) -> tuple[str, str]:
    """The request's timestamp in SigV4 form, checked against the server clock."""
    raw = view.header("x-amz-date")
    moment = signing.parse_amz_date(raw.strip()) if raw else None
    if moment is not None and raw is not None:
        signing.check_skew(moment, raw, view.now)
        return raw.strip(), raw  # already in SigV4 form
    if raw is None:
        raw = view.header("date")
        moment = signing.parse_http_date(raw) if raw else None
    if moment is None or raw is None:
        raise errors.AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    signing.check_skew(moment, raw, view.now)
    return moment.strftime(signing.AMZ_DATE_FORMAT), raw


def _query_error(message: str) -> errors.AuthorizationQueryParametersError:
    return errors.AuthorizationQueryParametersError(message)


def parse_presigned_query(view: RequestView) -> SigV4Request:
    """A presigned URL's ``X-Amz-*`` parameters, checked for shape and expiry."""
    params = {name: view.query_param(name) for name in _PRESIGN_PARAMS}
    if any(value is None for value in params.values()):
        raise _query_error(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != signing.ALGORITHM:
        raise _query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    credential = signing.parse_credential(
        params["X-Amz-Credential"] or "",
        errors.AuthorizationQueryParametersError,
        _QUERY_CREDENTIAL,
    )
    amz_date = params["X-Amz-Date"] or ""
    signed_at = signing.parse_amz_date(amz_date)
    if signed_at is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if credential.date != amz_date[:8]:
        raise _query_error(
            _QUERY_CREDENTIAL + "Invalid credential date. Date is not the same as X-Amz-Date."
        )
    expires_text = params["X-Amz-Expires"] or ""
    try:
        expires = int(expires_text)
    except ValueError:
        raise _query_error("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_PRESIGNED_EXPIRES:
        raise _query_error("X-Amz-Expires must be less than a week (in seconds) that is; 604800")
    now = view.now
    if signed_at - now > signing.MAX_SKEW:
        raise errors.AccessDenied("Request is not valid yet")
    expiry = signed_at + timedelta(seconds=expires)
    if now > expiry:
        raise errors.AccessDenied(
            "Request has expired",
            **{"X-Amz-Expires": expires_text},
            Expires=signing.iso_time(expiry),
            ServerTime=signing.iso_time(now),
        )
    signed_headers = (params["X-Amz-SignedHeaders"] or "").lower()
    # Presigned payloads are never signed; JS v3 states so in X-Amz-Content-Sha256.
    payload_hash = view.query_param("X-Amz-Content-Sha256") or signing.UNSIGNED_PAYLOAD
    return SigV4Request(
        view=view,
        credential=credential,
        signed_headers=signed_headers,
        signature=params["X-Amz-Signature"] or "",
        amz_date=amz_date,
        payload_hash=payload_hash,
        presigned=True,
    )
