"""The cases service's domain modules as one namespace, for tests that drive every command.

Each command is a module function `verb(work, request)` in the module of its concern (stages, tasks, ...);
tests reach them all, and the request models, through one module object. For mypy this module is that namespace
(`import case_domain as domain` under TYPE_CHECKING; see service_modules.py): it takes in the same modules, in the
same order, from the cases service's source."""

from types import ModuleType
from typing import TYPE_CHECKING

from caseline.local.loader import LoadedService

if TYPE_CHECKING:
    from services.cases.chalicelib.domain.cases import *  # noqa: F403
    from services.cases.chalicelib.domain.criteria import *  # noqa: F403
    from services.cases.chalicelib.domain.decisions import *  # noqa: F403
    from services.cases.chalicelib.domain.documents import *  # noqa: F403
    from services.cases.chalicelib.domain.participants import *  # noqa: F403
    from services.cases.chalicelib.domain.requests import *  # noqa: F403
    from services.cases.chalicelib.domain.stages import *  # noqa: F403
    from services.cases.chalicelib.domain.tasks import *  # noqa: F403
    from services.cases.chalicelib.domain.timers import *  # noqa: F403
    from services.cases.chalicelib.domain.work import *  # noqa: F403

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
