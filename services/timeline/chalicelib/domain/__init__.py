"""The timeline domain: pure Python and pydantic, no AWS."""
