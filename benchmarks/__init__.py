"""Benchmarks: serving (ours vs the stock SageMaker stacks and candidate HTTP servers) and the
local pipeline's wall time."""
