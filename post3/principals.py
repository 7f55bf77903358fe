"""Who owns what: users, their canonical ids, and the owner a bucket records.

Every access key belongs to a *user* (``post3 keys create --user NAME``); the keys of one user
share its canonical id and display name, which is how S3 names owners and grantees (in ACLs,
listings with ``fetch-owner``, ListBuckets). A user is to post3 what an account is to S3: the
unit that owns buckets. The root key (``POST3_ACCESS_KEY``) and the server without
authentication act as the user :data:`ROOT_USER`, which also owns every bucket made before
buckets recorded their owner. A key stored before keys had users is a user of its own, named
after its access key id: no two such keys share anything.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from post3 import errors

#: The user of the root key, and the owner of buckets that recorded none.
ROOT_USER = "post3"
#: IAM's rule for user names: up to 64 of letters, digits and ``+=,.@_-``.
USER_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
#: The account id in the ARNs post3 answers with (post3 has one account).
ACCOUNT_ID = "000000000000"
#: The bucket configuration document that records a bucket's owner.
OWNER_CONFIG = "owner"


def check_user_name(name: str) -> str:
    if not USER_NAME.match(name):
        raise ValueError(f"{name!r} is not a user name: 1 to 64 letters, digits or +=,.@_-")
    return name


@dataclass(frozen=True, slots=True)
class Principal:
    """A user, as S3 names it."""

    user: str

    @property
    def canonical_id(self) -> str:
        """64 hex digits, as S3's canonical user ids are; the same for every key of the user,
        on every server."""
        return hashlib.sha256(f"post3 user {self.user}".encode()).hexdigest()

    @property
    def display_name(self) -> str:
        return self.user

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT_ID}:user/{self.user}"

    def owner_xml(self) -> list[tuple[str, str]]:
        """The children of S3's ``<Owner>`` (and of a CanonicalUser ``<Grantee>``)."""
        return [("ID", self.canonical_id), ("DisplayName", self.display_name)]


ROOT = Principal(ROOT_USER)


def owner_document(owner: Principal) -> str:
    return json.dumps({"user": owner.user})


def owner_from_document(document: bytes) -> Principal:
    try:
        user = json.loads(document)["user"]
    except (ValueError, KeyError, TypeError):
        raise errors.InternalError("a bucket's owner record is damaged") from None
    return Principal(str(user))
