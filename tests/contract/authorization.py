"""The Service Authorization Reference's resource types, for the actions the tests ask about
(data/service_authorization.json, written by refresh_service_authorization.py): which resource
an action is authorized on, and its ARN built from the names a request carries."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from tests.contract.cfn_render import ACCOUNT

DATA = Path(__file__).with_name("data") / "service_authorization.json"


@functools.cache
def _reference() -> dict:
    return json.loads(DATA.read_text())


def resource_types(action: str) -> list[str]:
    """The resource types listed for `action` (a trailing `*` marks a required one)."""
    try:
        return _reference()[action]["resource_types"]
    except KeyError:
        raise KeyError(f"{action} is not in {DATA.name}: add it to "
                       "refresh_service_authorization.ACTIONS and refresh") from None


def arn(action: str, resource_type: str | None = None, *, region: str, **names: str) -> str:
    """The ARN `action` is authorized on. `resource_type` must be one the reference lists for
    the action (default: its only type); names it does not get become `*` (a list request names
    no resource). An action the reference lists without resource types is authorized on `*`."""
    types = [t.rstrip("*") for t in resource_types(action)]
    if not types:
        return "*"
    if resource_type is None:
        if len(types) != 1:
            raise ValueError(f"{action} is authorized on one of {types}: name the type")
        resource_type = types[0]
    if resource_type not in types:
        raise ValueError(f"the Service Authorization Reference lists {action} on {types}, "
                         f"not on {resource_type}")
    template = _reference()[action]["arn_formats"][resource_type]
    values = {"Partition": "aws", "Region": region, "Account": ACCOUNT, **names}
    return re.sub(r"\$\{(\w+)\}", lambda m: str(values.get(m.group(1), "*")), template)
