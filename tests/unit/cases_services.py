"""The cases service's service layer as one namespace: its ports, the case service and the template service.

For mypy this module is that namespace (`import cases_services as service_module` under TYPE_CHECKING; see
service_modules.py): it takes in the same modules, in the same order, from the cases service's source."""

from types import ModuleType
from typing import TYPE_CHECKING

from caseline.local.loader import LoadedService

if TYPE_CHECKING:
    from services.cases.chalicelib.case_service import *  # noqa: F403
    from services.cases.chalicelib.ports import *  # noqa: F403
    from services.cases.chalicelib.template_service import *  # noqa: F403

MODULES = ("ports", "case_service", "template_service")


def cases_services(cases: LoadedService) -> ModuleType:
    namespace = ModuleType("cases_services")
    for name in MODULES:
        for attribute, value in vars(cases.module(f"chalicelib.{name}")).items():
            if not attribute.startswith("__"):
                setattr(namespace, attribute, value)
    return namespace
