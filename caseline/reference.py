"""The API reference without a running stack: the merged OpenAPI document, built from each service's operations as
the local gateway serves it at /openapi.json (`caseline openapi`), and the rendered page `make reference` writes
from it with Redocly's build-docs (tools/apilint)."""

from typing import Any

from caseline_common.openapi import API_TITLE, build_openapi, merge_openapi
from caseline_common.resources import SERVICES
from caseline_common.runtime import API_VERSION

from .local.loader import load_service


def api_document() -> dict[str, Any]:
    """The merged document of every service, with the webhooks; each service's part as it serves it."""
    documents = [
        build_openapi(
            title=f"Caseline {name}",
            version=API_VERSION,
            operations=load_service(name).module("chalicelib.api").http.all_operations(),
        )
        for name in SERVICES
    ]
    return merge_openapi(title=API_TITLE, version=API_VERSION, documents=documents)
