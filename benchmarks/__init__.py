"""Benchmarks: serving (ours vs the stock SageMaker stacks and stock uvicorn with our app) and the
local pipeline's wall time."""
