"""GlobMemo: "does this model name match any of these globs", remembered per name.

Model names come from clients, so the memory is bounded (cleared past MEMO_LIMIT names) and starts
over when the pattern tuple is replaced (a key's allowed_models or a provider's models edited).
"""
from __future__ import annotations

import fnmatch

MEMO_LIMIT = 1024


def matches_any(patterns, name: str) -> bool:
    """The gateway's one glob rule (allowed_models, a provider's models): fnmatchcase, any pattern."""
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


class GlobMemo:
    __slots__ = ("_patterns", "_memo")

    def __init__(self) -> None:
        self._patterns = None
        self._memo: dict[str, bool] = {}

    def matches(self, patterns, name: str) -> bool:
        """matches_any(patterns, name), remembered (`patterns` compared by identity to the last call's)."""
        if patterns is not self._patterns:
            self._patterns, self._memo = patterns, {}
        memo = self._memo
        found = memo.get(name)
        if found is None:
            found = matches_any(patterns, name)
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[name] = found
        return found
