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

    def __reduce__(self):  # pickled by its fields: the default would call __init__ with the one-line text alone
        return type(self), (self.source, self.message, self.line)


class RuleError(HipaaKgError):
    """A rule file that cannot be loaded: bad syntax, a bad header, a cycle through negation."""


def shown(name: str, limit: int = 120) -> str:
    """A name (a node id, a term) as part of a one-line message: control characters escaped, a long name cut."""
    if not name.isprintable():
        name = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
    return name if len(name) <= limit else name[: limit - 3] + "..."
