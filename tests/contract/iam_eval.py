"""A small IAM policy evaluator, enough to decide what the synthesized policies allow.

It follows IAM's documented evaluation logic for one account: an explicit Deny in any applicable
policy wins; otherwise a request is allowed when an identity policy or a resource policy allows it
(for KMS keys: when the key policy allows the principal itself, or delegates to the account's
IAM policies with the account root principal and an identity policy allows it). Statements match
on Action/NotAction (service prefix and action name case-insensitive, `*` and `?` wildcards),
Resource/NotResource (ARN matching per component, `*` and `?` wildcards, case-sensitive),
Principal/NotPrincipal (resource policies) and Condition. Condition operators it does not know
raise, so a policy it cannot judge is never judged allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    principal: str  # a role ARN, or "service:<service principal>"
    action: str  # e.g. "sagemaker:CreateTrainingJob"
    resource: str  # an ARN, or "*" for actions without resource-level permissions
    context: Mapping[str, object] = field(default_factory=dict)  # condition keys -> values

    def value(self, key: str):
        lowered = {k.lower(): v for k, v in self.context.items()}
        return lowered.get(key.lower())


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, text: str, *, case: bool) -> bool:
    """IAM wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, 0 if case else re.IGNORECASE) is not None


def action_matches(pattern: str, action: str) -> bool:
    return pattern == "*" or _glob(pattern, action, case=False)


def arn_matches(pattern: str, arn: str) -> bool:
    """ARN matching as IAM does it: the partition, service, region and account components each
    match on their own; the resource part (which may hold `:` and `/`) as a whole."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(given) != 6:
        return _glob(pattern, arn, case=True)
    return all(_glob(w, g, case=True) for w, g in zip(wanted, given, strict=True))


# --- conditions -----------------------------------------------------------------------------------
def _string_op(compare, negate: bool = False):
    def check(expected: list, actual: list) -> bool:
        hit = any(compare(str(e), str(a)) for e in expected for a in actual)
        return not hit if negate else hit
    return check


def _numeric_op(compare):
    def check(expected: list, actual: list) -> bool:
        return any(compare(float(a), float(e)) for e in expected for a in actual)
    return check


def _bool(expected: list, actual: list) -> bool:
    return any(str(e).lower() == str(a).lower() for e in expected for a in actual)


_OPERATORS = {
    "StringEquals": _string_op(lambda e, a: e == a),
    "StringNotEquals": _string_op(lambda e, a: e == a, negate=True),
    "StringEqualsIgnoreCase": _string_op(lambda e, a: e.lower() == a.lower()),
    "StringLike": _string_op(lambda e, a: _glob(e, a, case=True)),
    "StringNotLike": _string_op(lambda e, a: _glob(e, a, case=True), negate=True),
    "ArnEquals": _string_op(lambda e, a: e == a),
    "ArnLike": _string_op(arn_matches),
    "ArnNotEquals": _string_op(lambda e, a: e == a, negate=True),
    "ArnNotLike": _string_op(arn_matches, negate=True),
    "Bool": _bool,
    "NumericEquals": _numeric_op(lambda a, e: a == e),
    "NumericLessThan": _numeric_op(lambda a, e: a < e),
    "NumericLessThanEquals": _numeric_op(lambda a, e: a <= e),
    "NumericGreaterThan": _numeric_op(lambda a, e: a > e),
    "NumericGreaterThanEquals": _numeric_op(lambda a, e: a >= e),
}
_NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def conditions_hold(conditions: Mapping, request: Request) -> bool:
    for operator, clauses in conditions.items():
        for key, expected in clauses.items():
            if not _condition_holds(operator, key, _as_list(expected), request):
                return False
    return True


def _condition_holds(operator: str, key: str, expected: list, request: Request) -> bool:
    actual = request.value(key)
    if operator == "Null":
        return _bool(expected, [str(actual is None).lower()])
    quantifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS or quantifier not in ("", "ForAnyValue", "ForAllValues"):
        raise ValueError(f"condition operator {operator!r} is not implemented by this evaluator")
    if actual is None:
        return if_exists or base in _NEGATED or quantifier == "ForAllValues"
    values = _as_list(actual)
    check = _OPERATORS[base]
    if quantifier == "ForAllValues":
        return all(check(expected, [v]) for v in values)
    return check(expected, values)


# --- statements -----------------------------------------------------------------------------------
def _principal_matches(statement: Mapping, principal: str, account_root: str) -> str | None:
    """"direct" when the statement names the principal, "account" when it names the account root
    (a delegation to IAM policies), None otherwise."""
    if "NotPrincipal" in statement:
        raise ValueError("NotPrincipal is not implemented by this evaluator")
    named = statement.get("Principal")
    if named is None:
        return "direct"  # an identity policy
    if named == "*" or (isinstance(named, dict) and "*" in _as_list(named.get("AWS", []))):
        return "direct"
    for kind, values in named.items():
        for value in _as_list(values):
            if kind == "Service" and principal == f"service:{value}":
                return "direct"
            if kind == "AWS" and value == principal:
                return "direct"
            if kind == "AWS" and value in (account_root, account_root.split(":")[4]):
                return "account"
    return None


def statement_applies(statement: Mapping, request: Request) -> bool:
    if "Action" in statement:
        if not any(action_matches(a, request.action) for a in _as_list(statement["Action"])):
            return False
    elif any(action_matches(a, request.action) for a in _as_list(statement["NotAction"])):
        return False
    if "Resource" in statement:
        if not any(arn_matches(r, request.resource) for r in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(arn_matches(r, request.resource) for r in _as_list(statement["NotResource"])):
            return False
    return conditions_hold(statement.get("Condition", {}), request)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def authorize(request: Request, identity: Iterable[Mapping], resource_policy: Iterable[Mapping]
              | None = None, *, account_root: str, resource_policy_required: bool = False
              ) -> Decision:
    """IAM's decision for `request`. `resource_policy_required` models KMS: a key is usable only
    through its key policy (directly, or by delegating to IAM with the account root)."""
    identity = list(identity)
    resource = list(resource_policy or [])
    applicable_identity = [s for s in identity if statement_applies(s, request)]
    applicable_resource = [(s, _principal_matches(s, request.principal, account_root))
                           for s in resource if statement_applies(s, request)]
    applicable_resource = [(s, how) for s, how in applicable_resource if how]
    denies = [s for s in applicable_identity if s.get("Effect") == "Deny"] + \
        [s for s, _ in applicable_resource if s.get("Effect") == "Deny"]
    if denies:
        return Decision(False, f"explicitly denied by {denies[0]}")
    identity_allows = any(s.get("Effect") == "Allow" for s in applicable_identity)
    direct = any(s.get("Effect") == "Allow" and how == "direct" for s, how in applicable_resource)
    delegated = any(s.get("Effect") == "Allow" and how == "account"
                    for s, how in applicable_resource)
    if direct:
        return Decision(True, "allowed by the resource policy")
    if resource_policy_required and not delegated:
        return Decision(False, "the key policy neither allows the principal nor delegates to IAM")
    if identity_allows:
        return Decision(True, "allowed by an identity policy")
    return Decision(False, "no statement allows it (implicit deny)")


def as_list(value) -> list:
    return _as_list(value)
