"""LQMF engines: usable without the copilot (tools never import copilot)."""
