"""The tenant-shared stack: data, messaging, keys and identity that every service stack of the tenant uses.

Built from the same specs (`caseline_common.resources`) the local stack provisions from: tables, buckets, the
signing key, the bus, and per consumer a rule -> queue (+ DLQ). Around them what AWS needs and the laptop
does not: customer-managed KMS keys (one per service that owns data, one for messages, one for logs, one for
backups), S3 access logs, a backup plan, the Cognito user pool, the SES identity of the tenant's domain (the
services' mail sender, with its configuration set: bounces and complaints suppressed, reported and measured), the
alarm topic and the alarms on what no service owns (the delivery DLQ, the tables, the mail's reputation).
"""

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from caseline_common.resources import (
    BUCKETS,
    CONSUMERS,
    DOCUMENTS_BUCKET,
    LAKE_BUCKET,
    SIGNING_KEYS,
    TABLES,
    WORK_QUEUES,
    BucketSpec,
    ConsumerSpec,
    QueueSpec,
    TableSpec,
    TenantResourceNames,
)
from caseline_common.scopes import DESCRIPTIONS, RESOURCE_SERVER
from caseline_common.tenant import StaffRole
from constructs import Construct

from infra import nag
from infra.arns import mail_configuration_set_name
from infra.buckets import sse_s3_bucket
from infra.console import BROWSER_UPLOADS, ConsoleSite
from infra.downloads import DocumentDownloads
from infra.functions import data_owners
from infra.lake import RESULTS_PREFIX, RESULTS_RETENTION_DAYS
from infra.monitoring import TenantAlarms, alarm_name_pattern, alarm_topic_name
from infra.tenants import Tenant

ANCHOR_RETENTION_DAYS = 10 * 365
PITR_DAYS = 35
QUEUE_RETENTION = cdk.Duration.days(14)
# At least as long as PITR keeps a table's past: after a restore to any point PITR offers, the archive still holds
# every event since, to replay (`caseline tenant restore`).
ARCHIVE_RETENTION = cdk.Duration.days(PITR_DAYS)
QUARANTINE_PREFIX = "quarantine/"
_STREAM_VIEWS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
}


def _attribute(name: str | None) -> dynamodb.Attribute | None:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING) if name else None


def log_group_prefix(names: TenantResourceNames) -> str:
    """Every log group of the tenant lives under this prefix (the logs key only serves those)."""
    return f"/caseline/{names.tenant_id}/"


def waf_log_group_name(names: TenantResourceNames) -> str:
    return f"aws-waf-logs-{names.prefix()}-api"


class TenantSharedStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tenant = tenant
        self.names = names = TenantResourceNames(tenant_id=tenant.id)
        self.data_keys = {owner: self._key(f"{owner}-data", f"{owner} tables and buckets") for owner in data_owners()}
        self.messaging_key = self._key("messaging", "queues and the alarm topic")
        self.logs_key = self._logs_key()
        self.backup_key = self._key("backup", "the backup vault")
        self.signing_keys = {
            spec.id: kms.Key(
                self,
                f"{spec.id}-key",
                alias=names.signing_key_alias(spec),
                key_spec=kms.KeySpec.ECC_NIST_P256,
                key_usage=kms.KeyUsage.SIGN_VERIFY,
                description=f"Signs {names.prefix()} {spec.id} exports",
                removal_policy=cdk.RemovalPolicy.RETAIN,
            )
            for spec in SIGNING_KEYS
        }
        self.access_logs = self._access_logs_bucket()
        # Before the buckets and the user pool: the documents bucket's CORS and the staff client's URLs name it.
        self.console = ConsoleSite(self, "console", tenant=tenant, access_logs=self.access_logs)
        self.tables = {spec.id: self._table(spec) for spec in TABLES}
        self.buckets = {spec.id: self._bucket(spec) for spec in BUCKETS}
        self.downloads = DocumentDownloads(self, "downloads", tenant=tenant, logs_bucket=self.console.logs_bucket)
        self.downloads.node.add_dependency(self.buckets[DOCUMENTS_BUCKET.id])
        self._backup_plan()
        self._messaging()
        self._identity()
        self._alarm_topic()
        self._mail()
        alarms = TenantAlarms(self, "monitoring", names=names, topic=self.alarm_topic)
        alarms.delivery_dead_letters(self.delivery_dlq.queue_name)
        for spec in TABLES:
            alarms.table(spec)
        alarms.mail(self.mail_configuration.configuration_set_name)

    def _alarm_topic(self) -> None:
        self.alarm_topic = self._topic(
            "alarms", alarm_topic_name(self.names), f"Caseline {self.tenant.id} alarms", subscription_id="alarm-email"
        )
        # `enforce_ssl` makes the topic's policy, which then holds nothing but what is added here: CloudWatch may
        # publish for the tenant's own alarms, as the messaging key lets it encrypt for them.
        self.alarm_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TenantAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alarm_topic.topic_arn],
                conditions=self._alarm_source(),
            )
        )

    def _alarm_source(self) -> dict[str, Any]:
        """The request comes from one of the tenant's alarms (no other tenant's, no other account's)."""
        alarms = f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{alarm_name_pattern(self.names)}"
        return {"StringEquals": {"aws:SourceAccount": self.account}, "ArnLike": {"aws:SourceArn": alarms}}

    def _topic(self, construct_id: str, name: str, display_name: str, *, subscription_id: str) -> sns.Topic:
        """A topic encrypted with the messaging key, TLS only; `alarm_email` hears what it says."""
        topic = sns.Topic(
            self,
            construct_id,
            topic_name=name,
            display_name=display_name,
            master_key=self.messaging_key,
            enforce_ssl=True,
        )
        if self.tenant.alarm_email:
            sns.Subscription(
                self, subscription_id, topic=topic, protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=self.tenant.alarm_email,
            )  # fmt: skip
        return topic

    # Keys ---------------------------------------------------------------------------------------------------

    def _key(self, key_id: str, purpose: str) -> kms.Key:
        return kms.Key(
            self,
            f"{key_id}-key",
            alias=f"alias/{self.names.prefix()}-{key_id}",
            description=f"Caseline {self.tenant.id}: {purpose}",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _logs_key(self) -> kms.Key:
        key = self._key("logs", "CloudWatch log groups")
        log_groups = [
            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{log_group_prefix(self.names)}*",
            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{waf_log_group_name(self.names)}",
            # API Gateway names its execution log group after the API id, which this stack cannot know.
            f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:API-Gateway-Execution-Logs_*",
        ]
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsOfThisTenant",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )
        return key

    # Data ---------------------------------------------------------------------------------------------------

    def _access_logs_bucket(self) -> s3.Bucket:
        # S3 server access logging delivers only to buckets encrypted with S3-managed keys.
        bucket = sse_s3_bucket(
            self,
            "access-logs-bucket",
            bucket_name=f"{self.names.prefix()}-access-logs-{self.account}",
            lifecycle_rule=s3.LifecycleRule(
                id="expire-access-logs",
                expiration=cdk.Duration.days(400),
                noncurrent_version_expiration=cdk.Duration.days(30),
            ),
        )
        nag.acknowledge(
            bucket,
            "HIPAA.Security-S3DefaultEncryptionKMS",
            "S3 server access logging can only deliver to a bucket encrypted with SSE-S3 (AES-256), not SSE-KMS; "
            "the logs hold request metadata, no case data.",
        )
        nag.acknowledge(
            bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Access logs are kept 400 days in one region; a second copy would be a copy of request metadata only.",
        )
        return bucket

    @staticmethod
    def _lifecycle_rules(spec: BucketSpec) -> list[s3.LifecycleRule]:
        if spec.object_lock:
            return []
        old_versions = s3.LifecycleRule(id="old-versions", noncurrent_version_expiration=cdk.Duration.days(90))
        if spec.id == LAKE_BUCKET.id:  # the lake's objects are kept; Athena's copies of results only for a while
            return [
                s3.LifecycleRule(
                    id="athena-results", prefix=RESULTS_PREFIX, expiration=cdk.Duration.days(RESULTS_RETENTION_DAYS),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                ),
                old_versions,
            ]  # fmt: skip
        return [
            s3.LifecycleRule(
                id="abandoned-uploads", prefix=QUARANTINE_PREFIX, expiration=cdk.Duration.days(2),
                noncurrent_version_expiration=cdk.Duration.days(1),
            ),
            old_versions,
        ]  # fmt: skip

    def _bucket(self, spec: BucketSpec) -> s3.Bucket:
        lifecycle_rules = self._lifecycle_rules(spec)
        bucket = s3.Bucket(
            self,
            f"{spec.id}-bucket",
            bucket_name=self.names.bucket(spec, self.account),
            versioned=True,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.data_keys[spec.owner],
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"{spec.id}/",
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=lifecycle_rules or None,
            # Browsers upload straight to the bucket (presigned POST): the portal's pages (the tenant's domain) and
            # the staff console. Downloads are navigations through the downloads distribution, never CORS requests.
            cors=None
            if spec not in BROWSER_UPLOADS
            else [
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.POST],
                    allowed_origins=[self.tenant.public_url, self.console.origin],
                    allowed_headers=["*"],
                    max_age=600,
                )
            ],
            # Anchors must outlive any attempt to rewrite history: compliance mode cannot be lifted.
            object_lock_enabled=spec.object_lock or None,
            object_lock_default_retention=(
                s3.ObjectLockRetention.compliance(cdk.Duration.days(ANCHOR_RETENTION_DAYS))
                if spec.object_lock
                else None
            ),
        )
        nag.acknowledge(
            bucket,
            "HIPAA.Security-S3BucketReplicationEnabled",
            "Versioning (and Object Lock on anchors) protects against loss and rewrite in the region; cross-region "
            "replication needs a second region's bucket and key, decided per tenant contract "
            "(docs/operations.md, Backup and restore).",
        )
        return bucket

    def _table(self, spec: TableSpec) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"{spec.id}-table",
            table_name=self.names.table(spec),
            partition_key=_attribute(spec.key.partition),
            sort_key=_attribute(spec.key.sort),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True, recovery_period_in_days=PITR_DAYS
            ),
            deletion_protection=True,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.data_keys[spec.owner],
            stream=_STREAM_VIEWS[spec.stream] if spec.stream else None,
            time_to_live_attribute=spec.ttl_attribute,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        if table.table_stream_arn is not None:
            # Where the stream's readers find it (infra/arns.py): rewritten when a restored table takes its place.
            ssm.StringParameter(
                self,
                f"{spec.id}-stream-arn",
                parameter_name=self.names.stream_arn_parameter(spec.id),
                description=f"The current stream of {self.names.table(spec)}, read by its stream mappings",
                string_value=table.table_stream_arn,
            )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=_attribute(index.key.partition),
                sort_key=_attribute(index.key.sort),
                projection_type=dynamodb.ProjectionType(index.projection),
                non_key_attributes=list(index.attributes) or None,
            )
        return table

    def _backup_plan(self) -> None:
        vault = backup.BackupVault(
            self,
            "backup-vault",
            backup_vault_name=f"{self.names.prefix()}-backups",
            encryption_key=self.backup_key,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        plan = backup.BackupPlan(
            self,
            "backup-plan",
            backup_plan_name=f"{self.names.prefix()}-tables",
            backup_vault=vault,
            backup_plan_rules=[
                backup.BackupPlanRule.daily(),
                backup.BackupPlanRule(
                    rule_name="Monthly1Year",
                    schedule_expression=cdk.aws_events.Schedule.cron(day="1", hour="5", minute="0"),
                    delete_after=cdk.Duration.days(365),
                ),
            ],
        )
        selection = plan.add_selection(
            "tables",
            resources=[backup.BackupResource.from_dynamo_db_table(table) for table in self.tables.values()],
        )
        nag.acknowledge(
            selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWS Backup's own service-role policy, maintained by AWS as backup features change; the selection "
            "limits the role to this tenant's tables.",
        )

    # Messaging ----------------------------------------------------------------------------------------------

    def _messaging(self) -> None:
        names = self.names
        self.bus = events.EventBus(self, "bus", event_bus_name=names.event_bus())
        # Replays after a consumer bug or a restore (docs/operations.md): every event of the PITR window.
        self.bus.archive(
            "archive",
            archive_name=f"{names.prefix()}-events",
            description="Every event on the tenant bus, for replay",
            event_pattern=events.EventPattern(account=[self.account]),
            retention=ARCHIVE_RETENTION,
        )
        rules = f"arn:{self.partition}:events:{self.region}:{self.account}:rule/{names.event_bus()}/*"
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeDeliversToTheTenantQueues",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"ArnLike": {"aws:SourceArn": rules}},
            )
        )
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheAlarmTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=self._alarm_source(),
            )
        )
        # Events EventBridge could not deliver to a consumer queue (after 24 h of retries) land here.
        self.delivery_dlq = self._queue(
            "delivery-dlq", f"{names.prefix()}-delivery-dlq", retention_period=QUEUE_RETENTION
        )
        self._allow_events(self.delivery_dlq, rules)
        nag.acknowledge(
            self.delivery_dlq,
            "AwsSolutions-SQS3",
            "This queue is a dead-letter queue itself: the rules' targets send it what they could not deliver.",
        )
        # By consumer id (a service may have several consumers); construct ids and names come from `name`.
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for consumer in CONSUMERS:
            self._consumer(consumer, rules)
        for own in WORK_QUEUES:  # no rule: only the service's own functions send to them (infra/policies.py)
            self._queue_with_dead_letters(own)

    def _queue(self, construct_id: str, name: str, **kwargs: Any) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.messaging_key,
            data_key_reuse=cdk.Duration.hours(1),
            enforce_ssl=True,
            **kwargs,
        )

    def _allow_events(self, queue: sqs.Queue, rule_arns: str) -> None:
        queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TenantRulesSend",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnLike": {"aws:SourceArn": rule_arns}},
            )
        )

    def _queue_with_dead_letters(self, spec: QueueSpec) -> sqs.Queue:
        names = self.names
        dead_letters = self._queue(f"{spec.name}-dlq", names.dead_letter_queue(spec), retention_period=QUEUE_RETENTION)
        queue = self._queue(
            f"{spec.name}-queue",
            names.queue(spec),
            visibility_timeout=cdk.Duration.seconds(spec.visibility_timeout_seconds),
            retention_period=cdk.Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=spec.max_receive_count),
        )
        self.queues[spec.id] = queue
        self.dead_letter_queues[spec.id] = dead_letters
        return queue

    def _consumer(self, consumer: ConsumerSpec, rules: str) -> None:
        names = self.names
        queue = self._queue_with_dead_letters(consumer)
        rule = events.CfnRule(
            self,
            f"{consumer.name}-rule",
            name=names.rule(consumer),
            description=f"Events for {consumer.service}: {consumer.function}",
            # The bus by name (not Ref), so the rule names exactly the bus the local stack names.
            event_bus_name=names.event_bus(),
            event_pattern=json.loads(json.dumps(consumer.event_pattern)),
            targets=[
                events.CfnRule.TargetProperty(
                    id="queue",
                    arn=queue.queue_arn,
                    dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.delivery_dlq.queue_arn),
                    retry_policy=events.CfnRule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=24 * 3600, maximum_retry_attempts=185
                    ),
                )
            ],
        )
        rule.add_resource_dependency(self.bus.node.default_child)  # type: ignore[arg-type]
        self._allow_events(queue, rules)

    # Mail ---------------------------------------------------------------------------------------------------

    def _mail(self) -> None:
        """The SES identity the services send from (`Tenant.mail_from`). SES verifies it once the DKIM records in
        the outputs are published in the domain's DNS; until then, and while the account is in the SES sandbox,
        sending fails (docs/operations.md).

        Mail from the identity goes through its default configuration set: SES stops sending to an address that
        bounced or complained (the account's suppression list), tells the mail events topic of each bounce and
        complaint (`alarm_email` hears them: a participant whose address bounces never got their link), and
        publishes the set's bounce and complaint rates, which the shared stack's alarms watch."""
        name = mail_configuration_set_name(self.names)
        self.mail_configuration = ses.ConfigurationSet(
            self,
            "mail-configuration",
            configuration_set_name=name,
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )
        self.mail_events = self._topic(
            "mail-events",
            f"{self.names.prefix()}-mail-events",
            f"Caseline {self.tenant.id} mail bounces and complaints",
            subscription_id="mail-events-email",
        )
        configuration_set = f"arn:{self.partition}:ses:{self.region}:{self.account}:configuration-set/{name}"
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesMailEvents",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": configuration_set},
                },
            )
        )
        # Adds the topic's statement that lets SES publish for this configuration set alone.
        self.mail_configuration.add_event_destination(
            "bounces-and-complaints",
            configuration_set_event_destination_name="bounces-and-complaints",
            destination=ses.EventDestination.sns_topic(self.mail_events),
            events=[ses.EmailSendingEvent.BOUNCE, ses.EmailSendingEvent.COMPLAINT],
        )
        self.mail_identity = ses.EmailIdentity(
            self,
            "mail-identity",
            identity=ses.Identity.domain(self.tenant.domain),
            configuration_set=self.mail_configuration,
        )
        for index, record in enumerate(self.mail_identity.dkim_records, start=1):
            cdk.CfnOutput(self, f"MailDkim{index}", value=f"{record.name} CNAME {record.value}")

    # Identity -----------------------------------------------------------------------------------------------

    def _identity(self) -> None:
        tenant, names = self.tenant, self.names
        self.user_pool = pool = cognito.UserPool(
            self,
            "users",
            user_pool_name=names.user_pool(),
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            user_invitation=cognito.UserInvitationConfig(
                email_subject=f"Your {tenant.branding.display_name} account",
                email_body=(
                    f"You have been invited to {tenant.branding.display_name} ({tenant.public_url}). "
                    "Your user name is {username} and your temporary password is {####}"
                ),
            ),
            deletion_protection=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        # The API's scopes (caseline_common.scopes); machine clients (`caseline client create`) get some of them.
        scopes = [
            cognito.ResourceServerScope(scope_name=scope.value, scope_description=description)
            for scope, description in DESCRIPTIONS.items()
        ]
        server = pool.add_resource_server(
            "api", identifier=RESOURCE_SERVER, user_pool_resource_server_name=f"{names.prefix()}-api", scopes=scopes
        )
        # People's access tokens carry every scope: what a person may do is decided by their groups.
        api_scopes = [cognito.OAuthScope.resource_server(server, scope) for scope in scopes]
        self.staff_client = pool.add_client(
            "staff",
            user_pool_client_name=f"{names.prefix()}-staff",
            generate_secret=False,  # a browser app: authorization code with PKCE, no secret to leak
            auth_flows=cognito.AuthFlow(user_srp=True),
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE, *api_scopes],
                # The staff console: the hosted UI sends staff back there after signing in and after signing out.
                callback_urls=[self.console.redirect_uri],
                logout_urls=[self.console.redirect_uri],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.hours(12),
        )
        # The hosted UI the console signs in with, and the integrators' token endpoint.
        self.auth_domain = pool.add_domain(
            "domain", cognito_domain=cognito.CognitoDomainOptions(domain_prefix=tenant.auth_prefix)
        )
        groups = {
            role: cognito.CfnUserPoolGroup(
                self,
                f"group-{role.value}",
                user_pool_id=pool.user_pool_id,
                group_name=role.value,
                precedence=index,
                description=description,
            )
            for index, (role, description) in enumerate(
                [
                    (StaffRole.ADMIN, "Manage templates; every right on every case"),
                    (StaffRole.STAFF, "Open cases; rights on a case come from its template's roles"),
                    (StaffRole.VIEWER, "Read every case, template and timeline; change nothing"),
                ]
            )
        }
        # The first administrator: Cognito e-mails an invitation with a temporary password.
        admin = cognito.CfnUserPoolUser(
            self,
            "first-admin",
            user_pool_id=pool.user_pool_id,
            username=tenant.admin_email,
            desired_delivery_mediums=["EMAIL"],
            user_attributes=[
                cognito.CfnUserPoolUser.AttributeTypeProperty(name="email", value=tenant.admin_email),
                cognito.CfnUserPoolUser.AttributeTypeProperty(name="email_verified", value="true"),
            ],
        )
        for role in (StaffRole.ADMIN, StaffRole.STAFF):
            group = groups[role]
            attachment = cognito.CfnUserPoolUserToGroupAttachment(
                self, f"first-admin-{role.value}", user_pool_id=pool.user_pool_id, username=tenant.admin_email,
                group_name=role.value,
            )  # fmt: skip
            attachment.add_resource_dependency(admin)
            attachment.add_resource_dependency(group)
        self.oidc_issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{pool.user_pool_id}"
        cdk.CfnOutput(self, "UserPoolId", value=pool.user_pool_id)
        cdk.CfnOutput(self, "StaffClientId", value=self.staff_client.user_pool_client_id)
        cdk.CfnOutput(self, "AuthDomain", value=self.auth_domain.base_url())
        cdk.CfnOutput(self, "ConsoleUrl", value=self.console.redirect_uri, description="The staff console")
        cdk.CfnOutput(self, "DocumentDownloadsUrl", value=self.downloads.url, description="Where documents download")
