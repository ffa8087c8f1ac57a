"""The case domain: pure Python and pydantic, no AWS."""
