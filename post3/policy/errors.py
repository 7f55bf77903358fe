"""The one error of this package."""


class PolicyError(ValueError):
    """An invalid policy document. The message says why, in AWS's words where AWS has them: the
    API answers ``MalformedPolicy`` with it."""
