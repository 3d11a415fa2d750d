"""Which keys the person starting an execution actually wrote.

A cross-field rule involves two keys, one of which usually came from the stage defaults. The
problem is reported on the key the user wrote, so "input key 'tuning.max_jobs': ..." points at
their mistake rather than at a default they never saw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _walk(doc: Any, path: str) -> bool:
    node = doc
    for name, index in _STEP.findall(path):
        if name:
            if not isinstance(node, dict) or name not in node:
                return False
            node = node[name]
        else:
            position = int(index)
            if not isinstance(node, list) or position >= len(node):
                return False
            node = node[position]
    return True


@dataclass(frozen=True)
class Origin:
    """`given` is the raw user input; None means every key counts as given (validating the
    defaults alone). `final` is True when validating the merged document the pipeline will use,
    where rules such as "data.input_s3_uri is required" apply."""

    given: Any = None
    final: bool = True

    def wrote(self, path: str) -> bool:
        return self.given is None or _walk(self.given, path)

    def pick(self, *paths: str) -> str:
        """The first of `paths` the user wrote, else the first: where to report a problem."""
        for path in paths:
            if self.wrote(path):
                return path
        return paths[0]
