"""Errors that reach the user as one line."""


class HipaaKgError(Exception):
    """Base class of the errors hipaa-kg reports to the user."""


class ScenarioError(HipaaKgError):
    """A scenario file that cannot be read or parsed.

    Printed as ``FILE:LINE: MESSAGE`` (the line when known).
    """

    def __init__(self, source: str, message: str, line: int | None = None):
        self.source = source
        self.message = message
        self.line = line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}")


class RuleError(HipaaKgError):
    """A rule file that cannot be loaded: bad syntax, a bad header, a cycle through negation."""
