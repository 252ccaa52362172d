"""The workflow model: what a workflow is, which nodes exist, what flows between them and what
an order may change. Pure Python (pydantic only); every other engine package builds on it."""
