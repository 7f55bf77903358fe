"""Bucket policies: the IAM policy language as S3 applies it to a bucket.

A pure package (no server, no backend): ``parse_policy`` validates a document into typed
statements or raises PolicyError with the reason; ``evaluate`` decides one request (Allow, Deny
or no decision, with the statement that decided); ``is_public`` says whether S3 would call the
policy public; ``required_action`` names the action an S3 operation is authorized as.

    policy = parse_policy(text, "photos")
    decision = evaluate(policy, Request(ANONYMOUS, "s3:GetObject",
                                        resource_arn("photos", "cat.jpg"),
                                        context({"aws:SecureTransport": True})))
    log.debug("bucket policy: %s", decision)   # "Allow by statement 1 (Sid 'PublicRead')"

What the caller supplies: the requester (``Requester``: its canonical id for
``{"CanonicalUser": ...}``, its ARNs for ``{"AWS": ...}``; ``ANONYMOUS`` for unsigned
requests), the action (``required_action``) and the resource ARN, and the context keys the
request has: ``aws:SourceIp``, ``aws:SecureTransport``, ``aws:CurrentTime``,
``aws:EpochTime``, ``aws:UserAgent``, ``aws:Referer``, ``aws:username``, ``aws:userid``,
``aws:PrincipalArn`` (authenticated requests), ``s3:prefix``, ``s3:delimiter``,
``s3:max-keys`` (listings, as sent), ``s3:x-amz-acl`` and the ``s3:x-amz-grant-*`` headers,
``s3:VersionId``, ``s3:ExistingObjectTag/<key>`` (the stored object's tags),
``s3:RequestObjectTag/<key>`` and ``s3:RequestObjectTagKeys`` (the tags being written). A key
the request does not have is left out, never set empty: ``Null`` and ``...IfExists`` read
absence. Nothing here reads a clock or a socket.
"""

from post3.policy.context import ANONYMOUS, Request, Requester, context, resource_arn
from post3.policy.document import MAX_POLICY_BYTES, Policy, Statement, parse_policy
from post3.policy.errors import PolicyError
from post3.policy.evaluate import NO_DECISION, Decision, evaluate
from post3.policy.operations import required_action
from post3.policy.public import is_public

__all__ = [
    "ANONYMOUS", "MAX_POLICY_BYTES", "NO_DECISION", "Decision", "Policy", "PolicyError",
    "Request", "Requester", "Statement", "context", "evaluate", "is_public", "parse_policy",
    "required_action", "resource_arn",
]
