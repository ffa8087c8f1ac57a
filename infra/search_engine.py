"""The tenant's search engine, in the search service's stack: what its tier buys (`TierLimits.search_engine`).

- Standard: an Amazon OpenSearch Service domain, its nodes in two Availability Zones, encrypted at rest with the
  search service's data key, node to node, and HTTPS only (TLS 1.2 or later); its error and slow logs go to a log
  group encrypted with the logs key.
- Enterprise: an Amazon OpenSearch Serverless collection (type SEARCH, with standby replicas), encrypted with the
  same key by its encryption policy.

Either way only the search service's two functions may call it, signed with their roles (SigV4): the API reads
(`_search`), the indexer writes. The domain says so in its access policy, by role and URI, and each function's
policy allows the same; a collection's data access policy gives each role its index permissions, and the roles'
policies allow `aoss:APIAccessAll` on that collection only (the data access policy decides what it lets through).
The index is derived data: `caseline search reindex` rebuilds it from the cases table, so the engine is not kept
when its stack goes, and needs no backup of its own.

The functions find it in `CASELINE_SEARCH_ENGINE`: `https://<host>`, where a host ending in `.es.amazonaws.com` is
a domain (sign for the service `es`) and one ending in `.aoss.amazonaws.com` a collection (sign for `aoss`).
"""

import hashlib
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_opensearchservice as opensearch
from caseline_common.resources import CONSUMERS, TenantResourceNames
from constructs import Construct

from infra import nag
from infra.monitoring import PERIOD, ServiceMonitoring
from infra.shared_stack import log_group_prefix
from infra.tenants import SearchCollection, SearchDomain, Tenant

SEARCH_SERVICE = "search"
INDEXER = next(spec.function for spec in CONSUMERS if spec.service == SEARCH_SERVICE)
# What each of the search service's functions does with the engine: the API only searches.
ENGINE_ACCESS: dict[str, Literal["read", "write"]] = {"api": "read", INDEXER: "write"}
ENGINE_VERSION = "OpenSearch_2.19"
TLS_POLICY = "Policy-Min-TLS-1-2-PFS-2023-10"  # TLS 1.2 or later, forward-secret ciphers only
DOMAIN_READ_ACTIONS = ["es:ESHttpGet", "es:ESHttpPost"]
DOMAIN_WRITE_ACTIONS = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
# The indexer creates and maps the index (and drops it when a rebuild starts afresh), writes and reads documents.
COLLECTION_PERMISSIONS = {
    "read": ["aoss:ReadDocument"],
    "write": [
        "aoss:CreateIndex",
        "aoss:DescribeIndex",
        "aoss:UpdateIndex",
        "aoss:DeleteIndex",
        "aoss:ReadDocument",
        "aoss:WriteDocument",
    ],
}
# A domain's health, which its callers' alarms would show only once it fails them: (metric, threshold, periods,
# what it means). A collection has no nodes to watch: its callers' errors and dead letters are its alarms.
DOMAIN_ALARMS = (
    ("ClusterStatus.red", 1, 1, "a primary shard is unassigned: part of the index answers nothing"),
    ("ClusterIndexWritesBlocked", 1, 1, "the domain refuses writes (storage or memory): the index falls behind"),
    ("JVMMemoryPressure", 95, 3, "a node's heap is nearly full: the domain is about to block writes or fail"),
)
NAME_LENGTH = 28  # a domain's name has at most 28 characters; a collection's policies' names 32, with a suffix of 4
ENGINE_LOG_RETENTION = logs.RetentionDays.ONE_YEAR


def engine_name(names: TenantResourceNames) -> str:
    """The domain's or collection's name: the tenant's prefix, or for a long tenant id its first characters and a
    digest of the whole (names are unique per account and region)."""
    name = names.prefix()
    if len(name) <= NAME_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: NAME_LENGTH - 9].rstrip('-')}-{digest}"


class SearchEngine(Construct):
    """The engine of one tenant: `url` is what the functions find it by; `statements` what each function's policy
    allows on it; `allow` names the functions' roles in the engine's own policy once they exist."""

    def __init__(
        self, scope: Construct, construct_id: str, *, tenant: Tenant, key: kms.IKey, logs_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.tenant = tenant
        self.names = TenantResourceNames(tenant_id=tenant.id)
        self.name = engine_name(self.names)
        self.plan = tenant.limits.search_engine
        self.domain: opensearch.CfnDomain | None = None
        self.collection: aoss.CfnCollection | None = None
        if isinstance(self.plan, SearchDomain):
            self.domain = self._domain(self.plan, key, logs_key)
            self.arn = self.domain.attr_arn
            self.url = f"https://{self.domain.attr_domain_endpoint}"
        else:
            self.collection = self._collection(self.plan, key)
            self.arn = self.collection.attr_arn
            self.url = self.collection.attr_collection_endpoint  # https://<id>.<region>.aoss.amazonaws.com

    # The engine -----------------------------------------------------------------------------------------------

    def _domain(self, plan: SearchDomain, key: kms.IKey, logs_key: kms.IKey) -> opensearch.CfnDomain:
        stack = cdk.Stack.of(self)
        log_group = logs.LogGroup(
            self,
            "logs",
            log_group_name=f"{log_group_prefix(self.names)}opensearch/{self.name}",
            retention=ENGINE_LOG_RETENTION,
            encryption_key=logs_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # OpenSearch Service writes to the log group only if CloudWatch Logs' resource policy lets it, for this
        # domain only (by its ARN: the domain waits for the policy, so the policy cannot refer to it).
        domain_arn = stack.format_arn(service="es", resource="domain", resource_name=self.name)
        log_policy = logs.ResourcePolicy(
            self,
            "log-delivery",
            resource_policy_name=f"{self.names.prefix()}-search-engine-logs",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[f"{log_group.log_group_arn}:*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {"aws:SourceArn": domain_arn},
                    },
                )
            ],
        )
        logged = opensearch.CfnDomain.LogPublishingOptionProperty(
            cloud_watch_logs_log_group_arn=log_group.log_group_arn, enabled=True
        )
        domain = opensearch.CfnDomain(
            self,
            "domain",
            domain_name=self.name,
            engine_version=ENGINE_VERSION,
            cluster_config=opensearch.CfnDomain.ClusterConfigProperty(
                instance_type=plan.instance_type,
                instance_count=plan.instance_count,
                dedicated_master_enabled=False,
                zone_awareness_enabled=True,
                zone_awareness_config=opensearch.CfnDomain.ZoneAwarenessConfigProperty(
                    availability_zone_count=plan.instance_count
                ),
            ),
            ebs_options=opensearch.CfnDomain.EBSOptionsProperty(
                ebs_enabled=True, volume_type="gp3", volume_size=plan.volume_gb
            ),
            encryption_at_rest_options=opensearch.CfnDomain.EncryptionAtRestOptionsProperty(
                enabled=True, kms_key_id=key.key_arn
            ),
            node_to_node_encryption_options=opensearch.CfnDomain.NodeToNodeEncryptionOptionsProperty(enabled=True),
            domain_endpoint_options=opensearch.CfnDomain.DomainEndpointOptionsProperty(
                enforce_https=True, tls_security_policy=TLS_POLICY
            ),
            log_publishing_options={
                "ES_APPLICATION_LOGS": logged,
                "SEARCH_SLOW_LOGS": logged,
                "INDEX_SLOW_LOGS": logged,
            },
            software_update_options=opensearch.CfnDomain.SoftwareUpdateOptionsProperty(
                auto_software_update_enabled=True
            ),
        )
        domain.add_resource_dependency(log_policy.node.default_child)  # type: ignore[arg-type]
        self._acknowledge_domain(domain)
        return domain

    def _acknowledge_domain(self, domain: opensearch.CfnDomain) -> None:
        not_in_vpc = (
            "The domain's callers, the search service's two Lambda functions, are not in a VPC (infra/nag.py "
            "NOT_IN_VPC): its public HTTPS endpoint accepts only requests SigV4-signed by the two roles its access "
            "policy names, each limited to its actions and URIs, over TLS 1.2 or later."
        )
        nag.acknowledge(domain, "AwsSolutions-OS1", not_in_vpc)
        nag.acknowledge(domain, "HIPAA.Security-OpenSearchInVPCOnly", not_in_vpc)
        nag.acknowledge(
            domain,
            "AwsSolutions-OS3",
            "Access is granted to IAM principals (the search service's two roles), never by IP address: Lambda "
            "functions outside a VPC have no fixed addresses to allow.",
        )
        nag.acknowledge(
            domain,
            "AwsSolutions-OS4",
            "Two data nodes in two zones with one replica: dedicated master nodes (three more instances) would "
            "double the domain's cost for a cluster this small, and its index is rebuilt from the cases table by "
            "`caseline search reindex` (docs/operations.md).",
        )

    def _collection(self, plan: SearchCollection, key: kms.IKey) -> aoss.CfnCollection:
        stack = cdk.Stack.of(self)
        collection_resource = [f"collection/{self.name}"]
        encryption = aoss.CfnSecurityPolicy(
            self,
            "encryption",
            name=f"{self.name}-enc",
            type="encryption",
            description=f"Caseline {self.tenant.id}: the search collection, encrypted with the search data key",
            policy=stack.to_json_string(
                {
                    "Rules": [{"ResourceType": "collection", "Resource": collection_resource}],
                    "AWSOwnedKey": False,
                    "KmsARN": key.key_arn,
                }
            ),
        )
        # The collection's endpoint is public, as a domain's is (the functions are not in a VPC): only requests
        # signed by the roles the data access policy names get past it. No Dashboards endpoint is opened.
        network = aoss.CfnSecurityPolicy(
            self,
            "network",
            name=f"{self.name}-net",
            type="network",
            description=f"Caseline {self.tenant.id}: the search collection's API endpoint",
            policy=stack.to_json_string(
                [{"Rules": [{"ResourceType": "collection", "Resource": collection_resource}], "AllowFromPublic": True}]
            ),
        )
        collection = aoss.CfnCollection(
            self,
            "collection",
            name=self.name,
            type="SEARCH",
            standby_replicas="ENABLED",
            description=f"Caseline {self.tenant.id}: the case search index (at least {plan.minimum_ocus:g} OCUs)",
        )
        collection.add_resource_dependency(encryption)
        collection.add_resource_dependency(network)
        return collection

    def alarms(self, monitoring: ServiceMonitoring) -> None:
        """The domain's health alarms, on the tenant's alarm topic with the service's others."""
        if self.domain is None:
            return
        account = cdk.Stack.of(self).account
        for metric_name, threshold, periods, meaning in DOMAIN_ALARMS:
            metric = cloudwatch.Metric(
                namespace="AWS/ES",
                metric_name=metric_name,
                dimensions_map={"DomainName": self.name, "ClientId": account},
                statistic="Maximum",
                period=PERIOD,
            )
            alarm_id = f"search-engine-{metric_name.lower().replace('.', '-')}"
            description = f"The search domain {self.name}: {meaning}"
            monitoring.alarm(alarm_id, metric, description, threshold=threshold, evaluation_periods=periods)

    # Access ---------------------------------------------------------------------------------------------------

    def statements(self, function: str) -> list[iam.PolicyStatement]:
        """What the function's own policy allows on the engine (nothing for a function that has no use for it)."""
        access = ENGINE_ACCESS.get(function)
        if access is None:
            return []
        if self.collection is not None:
            return [iam.PolicyStatement(actions=["aoss:APIAccessAll"], resources=[self.arn])]
        actions, resources = self._domain_access(access, self.arn)
        return [iam.PolicyStatement(actions=actions, resources=resources)]

    def wildcards(self, function: str) -> list[str]:
        """The wildcard resources among the function's statements (index names and document ids of the domain)."""
        if self.domain is None or function not in ENGINE_ACCESS:
            return []
        return self._domain_access(ENGINE_ACCESS[function], self.arn)[1]

    @staticmethod
    def _domain_access(access: Literal["read", "write"], domain_arn: str) -> tuple[list[str], list[str]]:
        if access == "read":
            return DOMAIN_READ_ACTIONS, [f"{domain_arn}/*/_search"]
        return DOMAIN_WRITE_ACTIONS, [f"{domain_arn}/*"]

    def allow(self, roles: dict[str, iam.IRole]) -> None:
        """Names the functions' roles (by function name) in the engine's own policy, each with its access."""
        assert set(roles) == set(ENGINE_ACCESS), f"the engine serves {sorted(ENGINE_ACCESS)}, not {sorted(roles)}"
        stack = cdk.Stack.of(self)
        if self.domain is not None:
            # The domain's own ARN, built from its name: its access policy cannot refer to the domain itself.
            domain_arn = stack.format_arn(service="es", resource="domain", resource_name=self.name)
            statements = []
            for function, role in roles.items():
                actions, resources = self._domain_access(ENGINE_ACCESS[function], domain_arn)
                statements.append(
                    {"Effect": "Allow", "Principal": {"AWS": role.role_arn}, "Action": actions, "Resource": resources}
                )
            self.domain.access_policies = {"Version": "2012-10-17", "Statement": statements}
            return
        rules = [
            {
                "Description": f"{function}: {ENGINE_ACCESS[function]}",
                "Rules": [
                    {
                        "ResourceType": "index",
                        "Resource": [f"index/{self.name}/*"],
                        "Permission": COLLECTION_PERMISSIONS[ENGINE_ACCESS[function]],
                    }
                ],
                "Principal": [role.role_arn],
            }
            for function, role in roles.items()
        ]
        aoss.CfnAccessPolicy(
            self,
            "access",
            name=f"{self.name}-acl",
            type="data",
            description=f"Caseline {self.tenant.id}: the search service's API reads, its indexer writes",
            policy=stack.to_json_string(rules),
        )
