"""The evaluator against a deliberately simple reference, over generated policies and requests.

The reference below reads the policy's JSON directly, matches wildcards with a regular
expression built character by character, and spells out IAM's rules one by one; it shares no
code with ``post3.policy``. The property that matters is that the evaluator never allows what
the reference does not; it is checked, and then so is full agreement (Allow, Deny or no
decision), which catches mistakes in either direction.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from post3.policy import (
    ANONYMOUS,
    PolicyError,
    Request,
    Requester,
    context,
    evaluate,
    is_public,
    parse_policy,
)

BUCKET = "b"
ALICE = "arn:aws:iam::111122223333:user/alice"
BOB = "arn:aws:iam::111122223333:user/bob"
ROOT = "arn:aws:iam::111122223333:root"
REQUESTERS = [ANONYMOUS, Requester("ca", frozenset({ALICE})), Requester("cb", frozenset({BOB})),
              Requester("cr", frozenset({ROOT}))]
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"]
USERNAME = "${aws:username}"

# --- generated policies ---------------------------------------------------------------------

tails = st.text(alphabet="ab/*?", max_size=4)
resources = st.one_of(
    st.sampled_from(["*", "arn:aws:s3:::*", "arn:aws:s3:::b", "arn:aws:s3:::b*",
                     "arn:aws:s3:::b/*", "arn:aws:s3:::b/a*", "arn:aws:s3:::b/?",
                     f"arn:aws:s3:::b/{USERNAME}/*", f"arn:aws:s3:::b/a{USERNAME}",
                     f"arn:aws:s3:::b/{USERNAME}"]),
    tails.map(lambda t: "arn:aws:s3:::b/" + t),
)
action_patterns = st.sampled_from(
    ACTIONS + ["*", "s3:*", "s3:Get*", "s3:?utObject", "S3:getOBJECT", "s3:*Object", "s3:List*"])
arn_lists = st.lists(st.sampled_from([ALICE, BOB, ROOT, "111122223333"]), min_size=1,
                     max_size=2)
canonical_lists = st.lists(st.sampled_from(["ca", "cb", "cz"]), min_size=1, max_size=2)
principals = st.one_of(
    st.just("*"),
    st.just({"AWS": "*"}),
    st.builds(lambda a: {"AWS": a}, arn_lists),
    st.builds(lambda c: {"CanonicalUser": c}, canonical_lists),
    st.builds(lambda a, c: {"AWS": a, "CanonicalUser": c}, arn_lists, canonical_lists),
)

STRING_OPS = ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
              "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"]
ORDERED = ["Equals", "NotEquals", "LessThan", "LessThanEquals", "GreaterThan",
           "GreaterThanEquals"]
CONDITION_KEYS = {
    # key: (operators, policy values)
    "aws:UserAgent": (STRING_OPS, ["curl", "Curl", "c*", "?url", "boto3", USERNAME]),
    "s3:RequestObjectTagKeys": (STRING_OPS, ["Owner", "Team", "T*"]),
    "aws:SourceIp": (["IpAddress", "NotIpAddress"],
                     ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.1", "2001:db8::/32"]),
    "aws:SecureTransport": (["Bool"], ["true", "false"]),
    "aws:SourceArn": (["ArnLike", "ArnEquals", "ArnNotLike", "ArnNotEquals"],
                      ["arn:aws:s3:::logs", "arn:aws:s3:*:*:log?", "arn:aws:*:::*",
                       f"arn:aws:s3:::{USERNAME}", "arn:aws:s3:::*:x", "*"]),
    "aws:MultiFactorAuthAge": (["Numeric" + o for o in ORDERED], ["0", "10", "3600"]),
    "aws:CurrentTime": (["Date" + o for o in ORDERED],
                        ["2026-01-01T00:00:00Z", "2026-06-01", "2027-01-01T00:00:00+01:00"]),
}


@st.composite
def conditions(draw):
    block = {}
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(sorted(CONDITION_KEYS)))
        operators, values = CONDITION_KEYS[key]
        if draw(st.integers(0, 5)) == 0:
            operator, chosen = "Null", draw(st.lists(st.sampled_from(["true", "false"]),
                                                     min_size=1, max_size=2))
        else:
            operator = draw(st.sampled_from(operators))
            if draw(st.booleans()):
                operator += "IfExists"
            if operator.startswith("String") and draw(st.booleans()):
                operator = draw(st.sampled_from(["ForAnyValue:", "ForAllValues:"])) + operator
            chosen = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2))
        written_key = draw(st.sampled_from([key, key.upper(), key.lower()]))
        block.setdefault(operator, {})[written_key] = chosen
    return block


@st.composite
def statements(draw):
    statement = {"Effect": draw(st.sampled_from(["Allow", "Deny"])),
                 draw(st.sampled_from(["Principal", "NotPrincipal"])): draw(principals),
                 draw(st.sampled_from(["Action", "NotAction"])):
                     draw(st.lists(action_patterns, min_size=1, max_size=2)),
                 draw(st.sampled_from(["Resource", "NotResource"])):
                     draw(st.lists(resources, min_size=1, max_size=2))}
    block = draw(conditions())
    if block:
        statement["Condition"] = block
    return statement


policies = st.lists(statements(), min_size=1, max_size=3).map(
    lambda s: {"Version": "2012-10-17", "Statement": s})

# --- generated requests ---------------------------------------------------------------------

TIMES = [dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.UTC), dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
         dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)]
CONTEXT_VALUES = {
    "aws:UserAgent": st.sampled_from(["curl", "Curl", "cx", "boto3", "alice", "*"]),
    "s3:RequestObjectTagKeys": st.lists(st.sampled_from(["Owner", "Team", "Tx", "Other"]),
                                        max_size=3),
    "aws:SourceIp": st.sampled_from(["10.1.2.3", "10.2.0.1", "192.0.2.1", "2001:db8::5",
                                     "::ffff:10.1.2.3", "11.0.0.1"]),
    "aws:SecureTransport": st.booleans(),
    "aws:SourceArn": st.sampled_from(["arn:aws:s3:::logs", "arn:aws:s3:::logs:x",
                                      "arn:aws:s3:eu:1:logs", "arn:aws:s3:::alice",
                                      "arn:aws:iam::1:user/alice", "not-an-arn"]),
    "aws:MultiFactorAuthAge": st.sampled_from([0, 5, 10, 3600, 7200]),
    "aws:CurrentTime": st.sampled_from(TIMES),
    "aws:username": st.sampled_from(["alice", "*", "a", "?", "a/*"]),
}


@st.composite
def requests(draw):
    values = {key: draw(strategy) for key, strategy in CONTEXT_VALUES.items()
              if draw(st.booleans())}
    key = draw(st.none() | st.text(alphabet="ab/*?", max_size=4)
               | st.sampled_from(["alice", "a/b"]))
    resource = f"arn:aws:s3:::{BUCKET}" + ("" if key is None else "/" + key)
    return draw(st.sampled_from(REQUESTERS)), draw(st.sampled_from(ACTIONS)), resource, values


# --- the reference --------------------------------------------------------------------------

NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase":
           "StringEqualsIgnoreCase", "StringNotLike": "StringLike", "NotIpAddress": "IpAddress",
           "ArnNotLike": "ArnLike", "ArnNotEquals": "ArnEquals",
           "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals"}


def glob(pattern, text, username, *, fold=False):
    """fnmatch-style, by a regular expression; ${aws:username} is the user name, literally.
    None when the pattern needs a user name and there is none."""
    pieces = pattern.split(USERNAME)
    if len(pieces) > 1 and username is None:
        return None
    translated = ["".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p)
                  for p in pieces]
    regex = re.escape(username or "").join(translated)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if fold else 0)) is not None


def when(text):
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def address(text):
    ip = ipaddress.ip_address(text)
    return ip.ipv4_mapped if getattr(ip, "ipv4_mapped", None) else ip


def matches(test, actual, wanted, username):
    """One request value against one policy value, for a positive operator."""
    if test == "StringEquals":
        return actual == wanted.replace(USERNAME, username or "")
    if test == "StringEqualsIgnoreCase":
        return actual.lower() == wanted.replace(USERNAME, username or "").lower()
    if test == "StringLike":
        return glob(wanted, actual, username)
    if test in ("ArnLike", "ArnEquals"):
        # six colon-separated components, each matched on its own (the variable's own colon
        # is kept out of the split; no generated user name has one)
        parts = actual.split(":", 5)
        patterns = wanted.replace(USERNAME, "\0").split(":", 5)
        return len(parts) == len(patterns) == 6 and all(
            glob(pattern.replace("\0", USERNAME), part, username)
            for pattern, part in zip(patterns, parts, strict=True))
    if test == "Bool":
        return actual == wanted
    if test == "IpAddress":
        return address(actual) in ipaddress.ip_network(wanted, strict=False)
    if test.startswith("Numeric"):
        a, w = int(actual), int(wanted)
    else:
        a, w = when(actual), when(wanted)
    relation = test.removeprefix("Numeric").removeprefix("Date")
    return {"Equals": a == w, "LessThan": a < w, "LessThanEquals": a <= w,
            "GreaterThan": a > w, "GreaterThanEquals": a >= w}[relation]


def condition_holds(operator, key, wanted, ctx):
    quantifier, _, operator = operator.rpartition(":")
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    username = ctx.get("aws:username", [None])[0]
    if username is None and any(USERNAME in w for w in wanted):
        return False  # a variable the request lacks: the statement cannot apply
    present = ctx.get(key.lower()) or None
    if operator == "Null":
        return any((present is None) == (w == "true") for w in wanted)
    negated = operator in NEGATED
    test = NEGATED.get(operator, operator)
    if present is None:
        if if_exists:
            return True
        if quantifier == "ForAllValues":
            return True
        if quantifier == "ForAnyValue":
            return False
        return negated

    def passes(value):
        hit = any(matches(test, value, w, username) for w in wanted)
        return not hit if negated else hit

    if quantifier == "ForAllValues":
        return all(passes(v) for v in present)
    if quantifier == "ForAnyValue":
        return any(passes(v) for v in present)
    hit = any(matches(test, v, w, username) for v in present for w in wanted)
    return not hit if negated else hit


def principal_named(principal, requester):
    if principal == "*" or principal.get("AWS") == "*":
        return True
    arns = {ROOT if a == "111122223333" else a for a in principal.get("AWS", [])}
    return bool(arns & requester.arns) or requester.canonical_id in principal.get(
        "CanonicalUser", [])


def statement_applies(statement, requester, action, resource, ctx):
    username = ctx.get("aws:username", [None])[0]
    if "Principal" in statement:
        if not principal_named(statement["Principal"], requester):
            return False
    elif principal_named(statement["NotPrincipal"], requester):
        return False
    listed = statement.get("Action", statement.get("NotAction"))
    hit = any(glob(a.lower(), action.lower(), None) for a in listed)
    if hit != ("Action" in statement):
        return False
    listed = statement.get("Resource", statement.get("NotResource"))
    hits = [glob(r, resource, username) for r in listed]
    if None in hits:
        return False
    if any(hits) != ("Resource" in statement):
        return False
    return all(condition_holds(op, key, wanted, ctx)
               for op, keys in statement.get("Condition", {}).items()
               for key, wanted in keys.items())


def reference(policy, requester, action, resource, ctx):
    applying = [s["Effect"] for s in policy["Statement"]
                if statement_applies(s, requester, action, resource, ctx)]
    return "Deny" if "Deny" in applying else "Allow" if "Allow" in applying else None


# --- the property ---------------------------------------------------------------------------

def parsed_or_none(policy):
    try:
        return parse_policy(json.dumps(policy), BUCKET)
    except PolicyError:
        return None  # refused documents are checked in test_policy_validation


# Hypothesis's filter health check fails the test if too few generated policies are valid, so
# the property cannot pass by refusing what it generates. No example database: nothing is left
# behind in the working tree, and every run explores afresh.
@settings(max_examples=1000, deadline=None, database=None)
@given(policies, st.lists(requests(), min_size=1, max_size=12))
def test_evaluator_never_grants_what_the_reference_refuses(policy, reqs):
    parsed = parsed_or_none(policy)
    assume(parsed is not None)
    for requester, action, resource, values in reqs:
        ctx = context(values)
        actual = evaluate(parsed, Request(requester, action, resource, ctx)).effect
        expected = reference(policy, requester, action, resource,
                             {k: list(v) for k, v in ctx.items()})
        event(f"decision: {expected}")
        if expected != "Allow":
            assert actual != "Allow", (policy, requester, action, resource, values)
        assert actual == expected, (policy, requester, action, resource, values)


limits = st.sampled_from([{}, {"IpAddress": {"aws:SourceIp": ["10.1.0.0/16"]}},
                          {"IpAddress": {"aws:SourceIp": ["192.0.2.1", "2001:db8::/32"]}}])
open_grants = st.builds(
    lambda principal, block, limit: {"Effect": "Allow", "Principal": principal, "Action": "*",
                                     "Resource": "*",
                                     **({"Condition": {**block, **limit}} if block or limit
                                        else {})},
    st.sampled_from(["*", {"AWS": "*"}]), conditions(), limits)
open_policies = st.lists(st.one_of(open_grants, open_grants, statements()), min_size=1,
                         max_size=3).map(lambda s: {"Version": "2012-10-17", "Statement": s})


@settings(max_examples=300, deadline=None, database=None)
@given(open_policies, st.lists(requests(), min_size=1, max_size=8))
def test_a_policy_not_public_never_lets_anonymous_in_without_a_limiting_key(policy, reqs):
    # The public check is sound for what it guards: when it says "not public", no anonymous
    # request is allowed unless it carries one of the limiting keys (here aws:SourceIp).
    parsed = parsed_or_none(policy)
    assume(parsed is not None and not is_public(parsed))
    for _, action, resource, values in reqs:
        values.pop("aws:SourceIp", None)
        request = Request(ANONYMOUS, action, resource, context(values))
        assert evaluate(parsed, request).effect != "Allow", (policy, action, resource, values)


@settings(max_examples=300, deadline=None, database=None)
@given(policies, statements(), st.lists(requests(), min_size=1, max_size=8))
def test_a_deny_statement_never_allows_more(policy, extra, reqs):
    before = parsed_or_none(policy)
    after = parsed_or_none({**policy, "Statement": [*policy["Statement"],
                                                    {**extra, "Effect": "Deny"}]})
    assume(before is not None and after is not None)
    for requester, action, resource, values in reqs:
        request = Request(requester, action, resource, context(values))
        if evaluate(after, request).effect == "Allow":
            assert evaluate(before, request).effect == "Allow"
