"""Read the data files shipped with the package: ontology/ and queries/.

They are read through importlib.resources, so an installed wheel and a checkout
behave the same.
"""

from importlib.resources import files
from importlib.resources.abc import Traversable


def ontology_file(*parts: str) -> Traversable:
    """A file under ontology/, e.g. ``ontology_file("shapes", "scenario.ttl")``."""
    return files("reasoner.ontology_files").joinpath(*parts)


def query_files(folder: str) -> list[Traversable]:
    """The ``.rq`` files of one folder under queries/, sorted by name."""
    found = [f for f in files("reasoner.query_files").joinpath(folder).iterdir() if f.name.endswith(".rq")]
    return sorted(found, key=lambda f: f.name)
