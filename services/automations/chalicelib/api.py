"""HTTP routes of the automations service for runs and dry runs (webhooks: webhook_api.py)."""

from .http import http

__all__ = ["http"]
