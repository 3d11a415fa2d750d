"""Reusable CDK constructs, one concern each.

Named `ml_constructs`, not `constructs`: a top-level package called `constructs` would shadow the
`constructs` library that aws-cdk-lib itself imports, and every synth would fail.
"""
