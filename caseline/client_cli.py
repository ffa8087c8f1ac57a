"""`caseline client`: the machine clients of a tenant's API (OAuth 2.0 client credentials with scopes).

A machine client is an app client of the tenant's Cognito user pool, allowed the client-credentials flow and the
scopes it was created with; Cognito issues its tokens in AWS, the local stack's issuer does locally (it checks the
client against the emulator's Cognito). Each client has its own usage plan on the tenant's API (caseline/usage_plans.py:
`--rate`, `--burst`, `caseline client limit`), so one integrator's flood is refused before it reaches the methods'
buckets staff and other integrators share. The same code runs against both: `--endpoint-url` names the emulator.
"""

import re
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsError
from caseline_common.aws import AwsClients
from caseline_common.resources import TenantResourceNames
from caseline_common.scopes import TOKEN_PATH, Scope, ours
from rich.console import Console
from rich.table import Table

from .usage_plans import DEFAULT_BURST, DEFAULT_RATE_PER_SECOND, Limit, UsagePlanError, UsagePlans, client_plan

client_app = typer.Typer(
    help="Machine clients of the API: OAuth 2.0 client credentials with scopes.", no_args_is_help=True
)
console = Console()
errors = Console(stderr=True)

LOCAL_REGION = "us-east-1"  # the local stack's (caseline/local/stack.py)
CLIENT_CREDENTIALS = "client_credentials"
# The local stack's pool has no Cognito domain; it names the gateway's token endpoint in this tag instead.
TOKEN_URL_TAG = "caseline:token-url"  # noqa: S105 - a tag's name, not a secret
CLIENT_NAME = re.compile(r"^[\w+=,.@-][\w\s+=,.@-]{0,127}$")  # what Cognito takes as an app client's name


class ClientError(Exception):
    """A request about clients that cannot be done; the message says why, for the console."""


@dataclass(frozen=True)
class MachineClient:
    client_id: str
    name: str
    scopes: frozenset[Scope]
    secret: str | None = None  # only when just created: Cognito shows it to whoever may read the pool's clients


def user_pool_id(cognito: Any, tenant: str) -> str:
    name = TenantResourceNames(tenant_id=tenant).user_pool()
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == name:
                return str(pool["Id"])
    raise ClientError(
        f"No user pool {name}: is the tenant {tenant!r} deployed in this account and region (locally: is "
        "`caseline dev --tenant` running, and --endpoint-url its emulator)?"
    )


def token_url(cognito: Any, pool_id: str) -> str:
    """Where the pool's clients get their tokens: its Cognito domain's token endpoint."""
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    if pool.get("CustomDomain"):
        return f"https://{pool['CustomDomain']}{TOKEN_PATH}"
    if pool.get("Domain"):
        region = pool_id.split("_", 1)[0]  # a pool id starts with its region
        return f"https://{pool['Domain']}.auth.{region}.amazoncognito.com{TOKEN_PATH}"
    tagged = pool.get("UserPoolTags", {}).get(TOKEN_URL_TAG)
    if tagged:
        return str(tagged)
    raise ClientError(f"The user pool {pool_id} has no domain, so no token endpoint.")


def _machine_client(description: dict[str, Any]) -> MachineClient | None:
    if CLIENT_CREDENTIALS not in description.get("AllowedOAuthFlows", []):
        return None  # the staff console's client, or another that people sign in with
    return MachineClient(
        client_id=description["ClientId"],
        name=description["ClientName"],
        scopes=ours(" ".join(description.get("AllowedOAuthScopes", []))),
        secret=description.get("ClientSecret"),
    )


def create_client(cognito: Any, pool_id: str, name: str, scopes: frozenset[Scope]) -> MachineClient:
    if not CLIENT_NAME.fullmatch(name):
        raise ClientError(f"{name!r} is not a client name: 1 to 128 letters, digits, spaces or +=,.@_- .")
    if not scopes:
        raise ClientError("Give the client at least one scope: --scope " + " | ".join(scope.value for scope in Scope))
    created = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=name,
        GenerateSecret=True,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=[CLIENT_CREDENTIALS],
        AllowedOAuthScopes=sorted(scope.qualified for scope in scopes),
        ExplicitAuthFlows=["ALLOW_REFRESH_TOKEN_AUTH"],  # no sign-in of people through it
        SupportedIdentityProviders=["COGNITO"],
        AccessTokenValidity=1,
        TokenValidityUnits={"AccessToken": "hours"},
        PreventUserExistenceErrors="ENABLED",
        EnableTokenRevocation=True,
    )["UserPoolClient"]
    client = _machine_client(created)
    assert client is not None, "Cognito created a client without the flow it was asked for"
    assert client.secret, "Cognito created a client without the secret it was asked for"
    return client


def list_clients(cognito: Any, pool_id: str) -> list[MachineClient]:
    found = []
    for page in cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id, MaxResults=60):
        for listed in page["UserPoolClients"]:
            described = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=listed["ClientId"])
            client = _machine_client(described["UserPoolClient"])
            if client is not None:
                found.append(MachineClient(client.client_id, client.name, client.scopes))  # no secrets in a list
    return sorted(found, key=lambda client: (client.name, client.client_id))


def delete_client(cognito: Any, pool_id: str, client_id: str) -> MachineClient:
    client = _machine_client_of(cognito, pool_id, client_id)
    cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    return client


TenantOption = Annotated[str, typer.Option(help="The tenant whose user pool holds the clients.")]
RegionOption = Annotated[str, typer.Option(envvar="AWS_REGION", help="The tenant's AWS region.")]
EndpointOption = Annotated[
    str | None,
    typer.Option(envvar="CASELINE_AWS_ENDPOINT_URL", help="Another Cognito endpoint (the local emulator's)."),
]


RateOption = Annotated[
    float, typer.Option(help="Requests a second the client may make on average (its usage plan's rate).")
]
BurstOption = Annotated[int, typer.Option(help="Requests the client may make at once (its usage plan's burst).")]
REFUSED = (ClientError, UsagePlanError, AwsError, BotoCoreError)


def _pool(tenant: str, region: str, endpoint_url: str | None) -> tuple[Any, str]:
    cognito = AwsClients(region, endpoint_url).cognito_idp()
    return cognito, user_pool_id(cognito, tenant)


def _plans(tenant: str, region: str, endpoint_url: str | None) -> UsagePlans:
    return UsagePlans(AwsClients(region, endpoint_url).apigateway(), TenantResourceNames(tenant_id=tenant))


def _machine_client_of(cognito: Any, pool_id: str, client_id: str) -> MachineClient:
    try:
        described = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    except AwsError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise ClientError(f"No client {client_id} in the pool {pool_id}.") from None
        raise
    client = _machine_client(described)
    if client is None:
        raise ClientError(f"{client_id} is not a machine client (people sign in with it).")
    return client


def _fail(error: Exception) -> typer.Exit:
    errors.print(f"[red]{error}[/red]", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@client_app.command()
def create(
    name: Annotated[str, typer.Argument(help="Who the client is for, e.g. the integrating system's name.")],
    scope: Annotated[list[Scope], typer.Option(help="A scope the client may ask for; repeat for more.")],
    tenant: TenantOption,
    region: RegionOption = LOCAL_REGION,
    endpoint_url: EndpointOption = None,
    rate: RateOption = DEFAULT_RATE_PER_SECOND,
    burst: BurstOption = DEFAULT_BURST,
) -> None:
    """Create a machine client and its usage plan; its secret is printed now and never again (keep it in a secret
    store)."""
    try:
        limit = Limit(rate, burst)
        plans = _plans(tenant, region, endpoint_url)
        plans.api_id()  # the API exists before the client does
        cognito, pool_id = _pool(tenant, region, endpoint_url)
        url = token_url(cognito, pool_id)
        client = create_client(cognito, pool_id, name, frozenset(scope))
    except REFUSED as error:
        raise _fail(error) from None
    try:
        plans.set(client_plan(client.client_id), client.client_id, limit)
    except REFUSED as error:  # no client without a plan: its every call would be refused
        cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client.client_id)
        raise _fail(error) from None
    typer.echo(f"client_id: {client.client_id}")
    typer.echo(f"client_secret: {client.secret}")
    typer.echo(f"token_url: {url}")
    typer.echo(f"scopes: {' '.join(sorted(scope.qualified for scope in client.scopes))}")
    typer.echo(f"limit: {limit.rate_per_second:g}/s, burst {limit.burst}")
    errors.print(
        "The secret is shown only now. Get a token with:\n"
        f"  curl -s -u {client.client_id}:$CLIENT_SECRET -d grant_type=client_credentials {url}",
        highlight=False,
        soft_wrap=True,
    )


@client_app.command("list")
def list_command(
    tenant: TenantOption, region: RegionOption = LOCAL_REGION, endpoint_url: EndpointOption = None
) -> None:
    """List the tenant's machine clients, their scopes and limits (never their secrets)."""
    try:
        cognito, pool_id = _pool(tenant, region, endpoint_url)
        clients = list_clients(cognito, pool_id)
        limits = _plans(tenant, region, endpoint_url).limits()
    except REFUSED as error:
        raise _fail(error) from None
    table = Table("name", "client id", "scopes", "limit")
    for client in clients:
        limit = limits.get(client.client_id)
        table.add_row(
            client.name,
            client.client_id,
            " ".join(sorted(scope.value for scope in client.scopes)),
            f"{limit.rate_per_second:g}/s, burst {limit.burst}" if limit else "none: refused (caseline client limit)",
        )
    console.print(table)


@client_app.command()
def limit(
    client_id: Annotated[str, typer.Argument(help="The machine client whose usage plan to set.")],
    tenant: TenantOption,
    rate: RateOption,
    burst: BurstOption,
    region: RegionOption = LOCAL_REGION,
    endpoint_url: EndpointOption = None,
) -> None:
    """Set a machine client's limits (its usage plan, made if it has none); API Gateway applies them within a minute."""
    try:
        wanted = Limit(rate, burst)
        cognito, pool_id = _pool(tenant, region, endpoint_url)
        client = _machine_client_of(cognito, pool_id, client_id)
        _plans(tenant, region, endpoint_url).set(client_plan(client_id), client_id, wanted)
    except REFUSED as error:
        raise _fail(error) from None
    console.print(f"{client.name} ({client_id}): {wanted.rate_per_second:g}/s, burst {wanted.burst}.", highlight=False)


@client_app.command()
def delete(
    client_id: Annotated[str, typer.Argument(help="The client to delete; its tokens stop working when they expire.")],
    tenant: TenantOption,
    region: RegionOption = LOCAL_REGION,
    endpoint_url: EndpointOption = None,
) -> None:
    """Delete a machine client and its usage plan: it gets no more tokens, and the tokens it holds are refused."""
    try:
        cognito, pool_id = _pool(tenant, region, endpoint_url)
        client = delete_client(cognito, pool_id, client_id)
        _plans(tenant, region, endpoint_url).remove(client_plan(client_id))
    except REFUSED as error:
        raise _fail(error) from None
    console.print(f"Deleted {client.name} ({client.client_id}).", highlight=False)
