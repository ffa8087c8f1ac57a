"""The reference text of the read plane's and the portal's operations (timeline, automations, portal, tasks,
search): each operation says what it does in its view's docstring (its OpenAPI description), and each model it
takes or answers with (for a page, the model of its items) carries one example that is valid JSON of the model."""

import ast
import inspect
import json
from typing import Any

import pytest
from caseline_common.http import Operation
from caseline_common.pagination import Page
from pydantic import BaseModel
from service_modules import loaded

DOCUMENTED = ("timeline", "automations", "portal", "tasks", "search")


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


def _models(operation: Operation) -> list[type[BaseModel]]:
    models = []
    for model in (operation.request_model, operation.response_model):
        if model is None:
            continue
        metadata = model.__pydantic_generic_metadata__
        models.append(metadata["args"][0] if metadata["origin"] is Page else model)
    return models


@pytest.mark.parametrize("service", DOCUMENTED)
def test_every_operation_describes_itself(service: str) -> None:
    views = _views(service)
    assert set(views) == {operation.operation_id for operation in _operations(service)}
    for name, view in views.items():
        description = ast.get_docstring(view) or ""
        assert "**Who:**" in description, f"{service} {name}: who may call it"
        assert len(description.splitlines()) >= 3, f"{service} {name}: {description!r}"


@pytest.mark.parametrize("service", DOCUMENTED)
def test_every_model_taken_or_answered_has_a_valid_json_example(service: str) -> None:
    models = {model for operation in _operations(service) for model in _models(operation)}
    assert models
    for model in models:
        schema: dict[str, Any] = model.model_json_schema()
        examples = schema.get("examples")
        assert isinstance(examples, list), f"{model.__name__} has no example"
        assert len(examples) == 1, model.__name__
        assert json.loads(json.dumps(examples[0])) == examples[0], f"{model.__name__}: not the JSON form"
        model.model_validate(examples[0])
        assert model.model_json_schema(mode="serialization")["examples"] == examples
