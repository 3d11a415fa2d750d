"""Physical names that never block a deploy.

CloudFormation replaces a resource when a create-only property changes: it creates the new one
first, then deletes the old one. With an unchanged custom name the create fails ("already
exists"), and CloudFormation refuses the update of a custom-named resource that needs
replacing. And a resource that `cdk destroy` (or a rolled-back first deploy) retains keeps its
name in the account, so a fixed name makes the next deploy fail the same way. Two kinds of
names avoid both:

- `replaceable_name`: the name ends in a digest of every property whose change makes
  CloudFormation replace the resource (tags included where they are create-only), so a new
  resource gets a new name and the old one is deleted after it;
- `name_per_stack`: the name ends in the id CloudFormation gives the stack when it creates it,
  so what one incarnation of the stack retains never collides with the next one.

The tests read the create-only properties from CloudFormation's resource schemas and check that
every custom name in every stage's templates follows one of these rules.
"""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
import jsii

DIGEST_LENGTH = 10


def digest(values: dict) -> str:
    """A short, stable digest of rendered CloudFormation property values."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def replaceable_name(resource: cdk.CfnResource, base: str, *, name_property: str,
                     replaced_by: tuple[str, ...] | None = None) -> str:
    """`<base>-<digest>` over `resource`'s properties named in `replaced_by` (CloudFormation
    names, e.g. "RoleArn", "Tags"; None: every property but the name, for a resource type
    CloudFormation cannot update at all), as they are rendered into the template.

    Rendered lazily, at synthesis: after aspects (`cdk.Tags`) have run and with the final values
    of the other properties. Assign it to the resource's `name_property`.
    """
    stack = cdk.Stack.of(resource)

    @jsii.implements(cdk.IStableStringProducer)
    class _Name:
        def produce(self) -> str:
            # CfnResource's own rendering of its properties (protected in CDK's API): the
            # same PascalCase tree it writes into the template.
            rendered = resource._render_properties(resource._cfn_properties)
            keys = replaced_by if replaced_by is not None else tuple(rendered)
            values = {key: rendered[key] for key in keys
                      if key != name_property and rendered.get(key) is not None}
            return f"{base}-{digest(stack.resolve(values))}"

    return cdk.Lazy.uncached_string(_Name())


def name_per_stack(base: str) -> str:
    """`<base>-<uuid of this stack>`: fixed for the stack's lifetime, new for every stack
    CloudFormation creates (after `cdk destroy`, or after a rolled-back first deploy, which
    the CDK CLI deletes before it deploys again). CloudFormation's stack id is
    `arn:<partition>:cloudformation:<region>:<account>:stack/<stack name>/<uuid>`."""
    return cdk.Fn.join("-", [base, cdk.Fn.select(2, cdk.Fn.split("/", cdk.Aws.STACK_ID))])
