"""The graph's nodes: each takes the state and returns a partial update."""
