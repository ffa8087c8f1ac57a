"""The cases service's domain modules as one namespace, for tests that drive every command.

Each command is a module function `verb(work, request)` in the module of its concern (stages, tasks, ...);
tests reach them all, and the request models, through one module object."""

from types import ModuleType

from caseline.local.loader import LoadedService

MODULES = (
    "work",
    "criteria",
    "stages",
    "cases",
    "tasks",
    "participants",
    "documents",
    "decisions",
    "timers",
    "requests",
)


def case_domain(cases: LoadedService) -> ModuleType:
    namespace = ModuleType("case_domain")
    for name in MODULES:
        for attribute, value in vars(cases.module(f"chalicelib.domain.{name}")).items():
            if not attribute.startswith("_"):
                setattr(namespace, attribute, value)
    return namespace
