"""Caseline's console: the local stack, the dev token issuer and build tooling."""
