"""The reference text of the read plane's and the portal's operations (timeline, automations, portal, tasks,
search): each operation says what it does and who may call it in its view's docstring (its OpenAPI description).
That every body carries a valid example is test_openapi_declarations.py's, for every service."""

import ast
import inspect

import pytest
from caseline_common.http import Operation
from service_modules import loaded

DOCUMENTED = ("timeline", "automations", "portal", "tasks", "search", "insight")


def _operations(service: str) -> list[Operation]:
    """The service's own operations: not the health check and OpenAPI document every service's runtime adds."""
    operations: list[Operation] = loaded(service).module("chalicelib.api").http.all_operations()
    common = {f"{service}_health", f"{service}_openapi"}
    return [operation for operation in operations if operation.operation_id not in common]


def _views(service: str) -> dict[str, ast.FunctionDef]:
    """The functions of the service's route modules declared with `@http.operation(...)`, by name."""
    views = {}
    for name, module in loaded(service).modules.items():
        if not name.startswith("chalicelib.api."):
            continue
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "http.operation"
                for decorator in node.decorator_list
            ):
                views[node.name] = node
    return views


@pytest.mark.parametrize("service", DOCUMENTED)
def test_every_operation_describes_itself(service: str) -> None:
    views = _views(service)
    assert set(views) == {operation.operation_id for operation in _operations(service)}
    for name, view in views.items():
        description = ast.get_docstring(view) or ""
        assert "**Who:**" in description, f"{service} {name}: who may call it"
        assert len(description.splitlines()) >= 3, f"{service} {name}: {description!r}"
