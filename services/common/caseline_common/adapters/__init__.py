"""Adapters shared by services: the only code in caseline_common that calls AWS APIs."""
