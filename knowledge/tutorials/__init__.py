"""Guided tutorials (data): one TOML file each; see tools/tutorials.py for the format."""
