"""Imported first by each service's app.py: in Lambda, the cyclic garbage collector waits while the handler module
loads, and what the import made is then frozen out of its reach; and what only some invocations need is loaded at
the first of them (`deferred`).

An import allocates tens of thousands of objects that live as long as the process (modules, classes, pydantic's
field and schema objects), and the collector ran over them again and again as they piled up: ~25 ms of each
cold start, with nothing to free. After the import, `loaded()` moves them to the permanent generation, so the
collections that invocations cause never scan them either. The few hundred cycles the import leaves behind stay
for the process's life (a full collection to free them would cost those 25 ms again). Only where Lambda's runtime
API is (`AWS_LAMBDA_RUNTIME_API`): tests and the local stack, which load services many times in one process,
keep the collector as it is.
"""

import gc
import os
from collections.abc import Callable
from functools import cache
from typing import TypeVar

IN_LAMBDA = "AWS_LAMBDA_RUNTIME_API" in os.environ
T = TypeVar("T")

if IN_LAMBDA:
    gc.disable()


def loaded() -> None:
    """The handler module is imported: freeze what it made and collect again from here on."""
    if IN_LAMBDA:
        gc.freeze()
        gc.enable()


def deferred(load: Callable[[], T]) -> Callable[[], T]:
    """`load()`, run once. In Lambda at the first call, so a function's cold start skips the modules only some of
    its invocations use (a route's module, an event function's work, the adapters); `load` imports them. Elsewhere
    at once, while the service's modules are being imported: tests and the local stack load each service under
    private module names (caseline/local/loader.py), where importing a service module later, by its name, would
    not find it."""
    if IN_LAMBDA:
        return cache(load)
    value = load()
    return lambda: value
