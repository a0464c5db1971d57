"""The Plan stage: evidence becomes ranked, explainable backlog items; deploys; verification."""
