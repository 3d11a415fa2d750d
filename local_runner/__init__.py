"""Run the synthesized pipelines on one machine, and a CLI for local and deployed runs.

Knows nothing of any one pipeline: it reads what `cdk synth` wrote to cdk.out.
"""
