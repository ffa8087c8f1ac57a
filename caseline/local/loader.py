"""Loads each Chalice app under its own module names.

Every Chalice app is module `app` with a package `chalicelib`; imported twice in one process, the second
import silently returns the first. Each load therefore imports a service with those names free, then
moves its modules to private names, so several apps (or several copies of one) live side by side.
"""

import importlib
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from chalice.app import Chalice

from ..paths import SERVICES_DIR

_LOAD_COUNT = 0


def _is_app_module(name: str) -> bool:
    return name in ("app", "chalicelib") or name.startswith("chalicelib.")


@dataclass(frozen=True)
class LoadedService:
    name: str
    app: Chalice
    modules: dict[str, ModuleType]

    def module(self, name: str) -> ModuleType:
        return self.modules[name]

    def function(self, function_name: str) -> Any:
        """The Lambda handler Chalice registered as `function_name`, as Lambda would call it."""
        for function in self.app.pure_lambda_functions:
            if function.name == function_name:
                module_name, attribute = function.handler_string.rsplit(".", 1)
                return getattr(self.modules[module_name], attribute)
        raise KeyError(f"{self.name} has no function {function_name}")


def load_service(name: str) -> LoadedService:
    global _LOAD_COUNT
    _LOAD_COUNT += 1
    root = str(SERVICES_DIR / name)
    saved = {key: sys.modules.pop(key) for key in list(sys.modules) if _is_app_module(key)}
    sys.path.insert(0, root)
    try:
        module = importlib.import_module("app")
        loaded = {key: sys.modules.pop(key) for key in list(sys.modules) if _is_app_module(key)}
    finally:
        sys.path.remove(root)
        sys.modules.update(saved)
    for key, loaded_module in loaded.items():
        sys.modules[f"caseline_loaded_{_LOAD_COUNT}_{name}.{key}"] = loaded_module
    return LoadedService(name=name, app=module.app, modules=loaded)
