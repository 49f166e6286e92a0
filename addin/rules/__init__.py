"""The validation rules. Importing this package registers every rule in RULES.

One module per sheet or concern; each rule has a stable code (see docs/checks.md).
"""

from addin.rules import cells, meetings, pairs, persons, roadmap, school, version  # noqa: F401
from addin.rules.base import RULES, Context, Finding, Rule, Severity

__all__ = ["RULES", "Context", "Finding", "Rule", "Severity"]
