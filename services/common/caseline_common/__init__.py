"""Shared contracts and plumbing for the Caseline services. Imports no service."""
