"""Access control lists as S3 keeps them: an owner and grants of READ, WRITE, READ_ACP,
WRITE_ACP or FULL_CONTROL to a user (by canonical id) or to a group; canned ACLs; the
``x-amz-grant-*`` headers; the ``AccessControlPolicy`` document; and what a list allows.

Pure values and rules: where ACLs are stored and when they count (a bucket's ownership
controls, its public access block) is :mod:`post3.api.authorization`'s business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from post3 import errors, xml
from post3.principals import Principal

READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL = (
    "READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL")
PERMISSIONS = (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
#: The groups whose grants make a resource public (S3's "The meaning of public").
PUBLIC_GROUPS = (ALL_USERS, AUTHENTICATED_USERS)

CANNED = ("private", "public-read", "public-read-write", "authenticated-read",
          "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
          "aws-exec-read")

#: ``x-amz-grant-<name>`` -> the permission it grants.
GRANT_HEADERS = {
    "x-amz-grant-read": READ,
    "x-amz-grant-write": WRITE,
    "x-amz-grant-read-acp": READ_ACP,
    "x-amz-grant-write-acp": WRITE_ACP,
    "x-amz-grant-full-control": FULL_CONTROL,
}

_HEADER_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)\s*=\s*"?([^",]*)"?\s*(?:,|$)')
_CANONICAL_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Grant:
    """One grant: to the user with canonical id ``user_id``, or to the group ``group``."""

    permission: str
    user_id: str | None = None
    group: str | None = None

    def applies_to(self, requester: Principal | None) -> bool:
        """Whether the grant is for ``requester`` (None: an anonymous request)."""
        if self.group == ALL_USERS:
            return True
        if self.group == AUTHENTICATED_USERS:
            return requester is not None
        return requester is not None and self.user_id == requester.canonical_id

    @property
    def public(self) -> bool:
        return self.group in PUBLIC_GROUPS


@dataclass(frozen=True, slots=True)
class Acl:
    """An access control list: the grants besides the owner's own FULL_CONTROL."""

    grants: tuple[Grant, ...] = ()

    def allows(self, requester: Principal | None, permission: str, *,
               ignore_public: bool = False) -> Grant | None:
        """The grant that gives ``requester`` ``permission`` (FULL_CONTROL gives every one),
        or None; ``ignore_public``: a public access block's IgnorePublicAcls."""
        for grant in self.grants:
            if ignore_public and grant.public:
                continue
            if grant.permission in (permission, FULL_CONTROL) and grant.applies_to(requester):
                return grant
        return None

    @property
    def public(self) -> bool:
        return any(grant.public for grant in self.grants)

    def to_json(self) -> str:
        return json.dumps([{"permission": g.permission, "id": g.user_id, "group": g.group}
                           for g in self.grants])

    @classmethod
    def from_json(cls, text: str | bytes) -> Acl:
        return cls(tuple(Grant(g["permission"], g.get("id"), g.get("group"))
                         for g in json.loads(text)))


PRIVATE = Acl()


def canned(name: str, bucket_owner: Principal | None = None) -> Acl:
    """The grants of a canned ACL (``x-amz-acl``), besides the owner's FULL_CONTROL;
    ``bucket_owner`` is the owner of the bucket an object is written to."""
    if name not in CANNED:
        raise errors.InvalidArgument(None, ArgumentName="x-amz-acl", ArgumentValue=name)
    grants: list[Grant] = []
    if name in ("public-read", "public-read-write"):
        grants.append(Grant(READ, group=ALL_USERS))
    if name == "public-read-write":
        grants.append(Grant(WRITE, group=ALL_USERS))
    if name == "authenticated-read":
        grants.append(Grant(READ, group=AUTHENTICATED_USERS))
    if name == "log-delivery-write":
        grants += [Grant(WRITE, group=LOG_DELIVERY), Grant(READ_ACP, group=LOG_DELIVERY)]
    if name in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner is not None:
        grants.append(Grant(READ if name == "bucket-owner-read" else FULL_CONTROL,
                            bucket_owner.canonical_id))
    return Acl(tuple(grants))


def _grantee(kind: str, value: str) -> Grant:
    """A grantee named in a header or a document, validated."""
    if kind == "emailAddress":
        raise errors.UnresolvableGrantByEmailAddress()
    if kind == "uri":
        if value not in GROUPS:
            raise errors.InvalidArgument("Invalid group uri", ArgumentName="uri",
                                         ArgumentValue=value)
        return Grant(READ, group=value)
    if not _CANONICAL_ID.match(value):
        raise errors.InvalidArgument("Invalid id", ArgumentName="id", ArgumentValue=value)
    return Grant(READ, value)


def from_headers(headers: Mapping[str, str], bucket_owner: Principal | None = None
                 ) -> Acl | None:
    """The ACL a request's ``x-amz-acl`` or ``x-amz-grant-*`` headers ask for (None: none);
    both at once is InvalidRequest, as S3 answers."""
    named = headers.get("x-amz-acl")
    grant_headers = [(h, headers[h]) for h in GRANT_HEADERS if h in headers]
    if named is not None and grant_headers:
        raise errors.InvalidRequest(
            "Specifying both Canned ACLs and Header Grants is not allowed")
    if named is not None:
        return canned(named.strip(), bucket_owner)
    if not grant_headers:
        return None
    grants: list[Grant] = []
    for header, value in grant_headers:
        position = 0
        while position < len(value):
            match = _HEADER_GRANTEE.match(value, position)
            if match is None:
                raise errors.InvalidArgument(None, ArgumentName=header, ArgumentValue=value)
            grantee = _grantee(match.group(1), match.group(2))
            grants.append(Grant(GRANT_HEADERS[header], grantee.user_id, grantee.group))
            position = match.end()
    return Acl(tuple(grants))


def parse_policy(body: bytes, owner: Principal) -> Acl:
    """An ``AccessControlPolicy`` document (PutBucketAcl, PutObjectAcl). The owner it names
    must be the resource's owner (S3 does not change owners through an ACL)."""
    root = xml.parse(body, "AccessControlPolicy")
    named_owner = xml.children(root, "Owner")
    if named_owner and xml.child_text(named_owner[0], "ID") not in (None, owner.canonical_id):
        raise errors.AccessDenied()
    grants: list[Grant] = []
    for acl in xml.children(root, "AccessControlList"):
        for element in xml.children(acl, "Grant"):
            permission = xml.child_text(element, "Permission")
            grantees = xml.children(element, "Grantee")
            if permission not in PERMISSIONS or len(grantees) != 1:
                raise errors.MalformedACLError()
            grantee = grantees[0]
            kind = next((k for k in ("ID", "URI", "EmailAddress")
                         if xml.child_text(grantee, k) is not None), None)
            if kind is None:
                raise errors.MalformedACLError()
            found = _grantee({"ID": "id", "URI": "uri", "EmailAddress": "emailAddress"}[kind],
                             xml.child_text(grantee, kind) or "")
            if found.user_id == owner.canonical_id and permission == FULL_CONTROL:
                continue  # the owner's own grant, which every ACL has
            grants.append(Grant(permission, found.user_id, found.group))
    return Acl(tuple(grants))


def render(owner: Principal, acl: Acl) -> bytes:
    """The ``AccessControlPolicy`` GetBucketAcl and GetObjectAcl answer with."""
    def grantee(grant: Grant) -> xml.Child:
        if grant.group is not None:
            return ("Grantee", [("URI", grant.group)], {"xmlns:xsi": xml.XSI, "xsi:type": "Group"})
        children = [("ID", grant.user_id)]
        if grant.user_id == owner.canonical_id:
            children.append(("DisplayName", owner.display_name))
        return ("Grantee", children, {"xmlns:xsi": xml.XSI, "xsi:type": "CanonicalUser"})

    owner_grant = Grant(FULL_CONTROL, owner.canonical_id)
    grants: Iterable[Grant] = (owner_grant, *acl.grants)
    return xml.render("AccessControlPolicy", [
        ("Owner", owner.owner_xml()),
        ("AccessControlList", [("Grant", [grantee(g), ("Permission", g.permission)])
                               for g in grants]),
    ])
