"""Layer 2: the estate — model, state, tools, reachability, generator. Knows nothing of policies or agents."""
