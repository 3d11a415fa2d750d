"""cdk-nag packs for the whole app, and the one way to acknowledge a finding.

Every acknowledgement names one finding on one construct and says why it is acceptable, so a
reviewer can audit each exception; there is no app-wide or stack-wide suppression.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from constructs import IConstruct


def nag_packs(scope: IConstruct) -> list:
    return [AwsSolutionsChecks(scope), NIST80053R5Checks(scope)]


def apply_nag_packs(app: cdk.App) -> None:
    """Run the packs at synth: any unacknowledged finding fails `cdk synth`."""
    cdk.Validations.of(app).add_plugins(*nag_packs(app))


def acknowledge(construct: IConstruct, reason: str, *finding_ids: str) -> None:
    """Acknowledge specific findings (exact ids, e.g. 'AwsSolutions-IAM5[Action::s3:GetObject*]')
    on exactly this construct, with the reason they are acceptable."""
    if len(reason) < 20:
        raise ValueError(f"acknowledging {finding_ids} needs a specific reason, got {reason!r}")
    cdk.Validations.of(construct).acknowledge(
        *(cdk.Acknowledgment(id=finding, reason=reason) for finding in finding_ids)
    )
