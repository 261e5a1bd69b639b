"""Explain docs (data): one markdown file per topic; see tools/docs.py for the format."""
