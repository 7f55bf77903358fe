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
