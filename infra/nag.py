"""cdk-nag: the AWS Solutions and HIPAA Security packs, and the one way to acknowledge a finding (with a reason).

Every acknowledgement goes through `acknowledge`, which refuses a missing reason. CDK records each one in the
cloud assembly's metadata (`aws:cdk:acknowledged-rules`), where the tests read them back. cdk-nag 3
acknowledges one finding per id: IAM5 findings carry their subject, e.g. `AwsSolutions-IAM5[Resource::*]`.
"""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import IConstruct

# Context switch (tests): synthesize with every acknowledgement left out, to prove each one answers a real finding.
ACKNOWLEDGE_CONTEXT = "caseline:acknowledge-findings"


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one finding of one rule on `scope` (and the constructs under it), for a written reason."""
    if len(reason.strip()) < 20:
        raise ValueError(f"{rule} on {scope.node.path}: an acknowledgement needs a real reason")
    if scope.node.try_get_context(ACKNOWLEDGE_CONTEXT) is False:
        return
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def add_checks(app: cdk.App) -> None:
    """Synth fails (ValidationFailed, report in <outdir>/validation-report.json) on any unacknowledged finding."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), HIPAASecurityChecks(app))


# Reasons shared by several acknowledgements, written once.
XRAY_AND_STREAM_LIST = (
    "xray:PutTraceSegments, xray:PutTelemetryRecords and dynamodb:ListStreams support no resource-level "
    "permissions: AWS requires Resource '*' for them; they read or write no tenant data."
)
LOG_STREAMS = (
    "Lambda creates one log stream per execution environment with a generated name; the wildcard is the log "
    "streams of this function's own log group, nothing else."
)
BUCKET_OBJECTS = (
    "Object keys are generated at run time (case ids, upload ids); the wildcard covers the objects of this "
    "tenant's own bucket (or its quarantine/ prefix) only."
)
SEARCH_INDEXES = (
    "Index names and document ids are chosen at run time; the wildcard covers the indexes of this tenant's own "
    "search domain only (for the search API, only their _search URI)."
)
NOT_IN_VPC = (
    "The functions reach only AWS regional APIs (DynamoDB, S3, EventBridge, SQS, KMS, SES, X-Ray, OpenSearch) over "
    "TLS with "
    "SigV4, the Cognito JWKS and integrators' HTTPS webhook URLs on the internet. A VPC would add NAT and "
    "interface endpoints without narrowing what the functions can reach; the data perimeter is IAM scoped to the "
    "tenant plus KMS."
)
SYNC_INVOCATION = (
    "Invoked synchronously (API Gateway) or by an event source mapping, never asynchronously, so Lambda's "
    "asynchronous DLQ would never receive anything; failed records go to the queue DLQs / the stream's "
    "on-failure queue instead."
)


def rendered(scope: IConstruct, value: str) -> str:
    """A value as cdk-nag names it in a finding's id: `{"Ref": X}` is `<X>`, `{"Fn::GetAtt": [A, B]}` is `<A.B>`."""
    return _render(cdk.Stack.of(scope).resolve(value))


def _render(node: object) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        ((function, argument),) = node.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_render(part) for part in parts)
        if function == "Fn::ImportValue":
            return _render(argument)
    raise ValueError(f"cannot render {node!r} as cdk-nag does")


def acknowledge_resource_wildcard(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge `AwsSolutions-IAM5[Resource::<resource>]` for one wildcard resource of a policy."""
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::{rendered(scope, resource)}]", reason)
