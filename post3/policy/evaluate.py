"""Evaluating a bucket policy for one request: Allow, Deny, or no decision (the policy says
nothing about it, and the caller's other rules decide).

A statement applies when its Principal, Action, Resource and every Condition match the request
(NotPrincipal, NotAction and NotResource: when the request is outside the list). Any applying
Deny wins over every Allow; statement order never matters for the effect, and the decision names
the first statement in document order with the winning effect, for the debug log.
"""

from __future__ import annotations

from dataclasses import dataclass

from post3.policy.context import Request
from post3.policy.document import Policy, Statement


@dataclass(frozen=True)
class Decision:
    effect: str | None  # "Allow", "Deny", or None when no statement applies
    statement: Statement | None

    def __str__(self) -> str:
        if self.statement is None:
            return "no statement applies"
        return f"{self.effect} by {self.statement}"


NO_DECISION = Decision(None, None)


def evaluate(policy: Policy, request: Request) -> Decision:
    allowed = None
    for statement in policy.statements:
        if applies(statement, request):
            if statement.effect == "Deny":
                return Decision("Deny", statement)
            allowed = allowed or statement
    return Decision("Allow", allowed) if allowed else NO_DECISION


def applies(statement: Statement, request: Request) -> bool:
    named = statement.principals.include(request.requester)
    if named == statement.not_principal:
        return False
    action = request.action.lower()
    if any(p.matches(action) for p in statement.actions) == statement.not_action:
        return False
    named = False
    for template in statement.resources:
        pattern = template.pattern(request.context)
        if pattern is None:
            return False  # a variable the request cannot fill: the statement does not apply
        named = named or pattern.matches(request.resource)
    if named == statement.not_resource:
        return False
    return all(c.holds(request.context) for c in statement.conditions)
