"""What deciding shares between the threads of one process.

rdflib's SPARQL parser (pyparsing) is not thread-safe: two threads parsing at once fail with
"Param.postParse2() missing 1 required positional argument". Everything that parses SPARQL with
rdflib, loading the rules and pySHACL's validation (which parses the shapes' SPARQL constraints
at every run), holds ``RDFLIB_PARSER``.
"""

from __future__ import annotations

import threading

RDFLIB_PARSER = threading.RLock()
