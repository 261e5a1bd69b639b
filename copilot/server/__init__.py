"""`lqmf serve`: the REST API, the live dashboard, server-sent events and the
webhook deliveries, on top of the application layer (``lqmf.copilot.app``) only.
``create_app`` builds the FastAPI application; ``run`` serves it with uvicorn."""
from __future__ import annotations
