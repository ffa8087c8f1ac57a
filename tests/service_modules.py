"""Typed access to the services' modules.

Each Chalice service is loaded at run time under private module names (`caseline.local.loader`), so what a test
gets from `LoadedService.module` is a plain `ModuleType`, and mypy checks nothing past it. A test therefore names
a module of a service twice, once for mypy and once for the run:

    if TYPE_CHECKING:
        from services.timeline.chalicelib.domain import timeline as domain
    else:
        domain = loaded_module("timeline", "chalicelib.domain.timeline")

mypy reads the service's source under its path (`services/<name>/chalicelib/...`: inside `chalicelib` every
module imports its siblings relatively, so the package type-checks under that name too); the run gets a stand-in
that, on first use, is that module of the session's one copy of the service (`loaded`: the unit tests' `cases`
and `timeline` fixtures are that copy). Nothing imports `services.<name>` at run time, so each service still
lives only under its own private module names. An absolute `chalicelib` import inside a service would not resolve
under that path, so `make lint` fails on it rather than letting mypy guess.

Several modules seen as one namespace (`case_domain`, `cases_services`) are typed the same way: the module that
builds the namespace at run time star-imports, under TYPE_CHECKING, the same modules in the same order, and a test
imports that module as the namespace (`loaded_namespace` at run time). A copy that belongs to a running local
stack (`stack.api.service(...)`) is not the session's copy, and stays untyped.
"""

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from caseline.local.loader import LoadedService, load_service


@functools.cache
def loaded(service: str) -> LoadedService:
    """The session's one copy of `service`."""
    return load_service(service)


class LazyModule:
    """A module of a loaded service, resolved on first use: attribute access reads that module."""

    def __init__(self, describe: str, resolve: Callable[[], ModuleType]) -> None:
        self._describe = describe
        self._resolve = functools.cache(resolve)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return getattr(self._resolve(), attribute)

    def __repr__(self) -> str:
        return f"<lazy {self._describe}>"


def loaded_module(service: str, name: str) -> Any:
    """Module `name` (`chalicelib....`) of the session's copy of `service`, for a test module's global."""
    return LazyModule(f"{service}:{name}", lambda: loaded(service).module(name))


def loaded_namespace(name: str, build: Callable[[LoadedService], ModuleType], service: str) -> Any:
    """A namespace `build` makes from the session's copy of `service` (several modules as one), made once."""
    return LazyModule(f"{service}:{name}", lambda: build(loaded(service)))
