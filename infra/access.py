"""What each function does with its service's data, declared as data: the actions its code calls, and no other.

`infra.policies` writes each function's policy from its entry here, so a function holds only what it uses, not what
its service uses. The insight functions are declared in `infra.lake` (their part of the lake), a stream handler reads
only its stream; every other function has an entry (tests/infra/test_function_access.py checks both ways). Each entry
says, from the adapters its handler wires, why it needs what it holds.
"""

from dataclasses import dataclass

READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")


@dataclass(frozen=True)
class DataAccess:
    """One function's actions on its service's data.

    `table`: DynamoDB actions on the service's own tables and their indexes (a transaction is authorized item by item
    as PutItem, UpdateItem, DeleteItem or ConditionCheckItem, so it needs no action of its own);
    `delete_only_under`: when set, DeleteItem only on items whose partition key starts with one of these (the
    condition `dynamodb:LeadingKeys`), so a function that deletes some items cannot delete others of the same table;
    `objects`: S3 actions on the objects of the service's own bucket (ListBucket on it goes with GetObject, so a
    missing object reads as missing rather than forbidden); `shares_objects`: reads another service's bucket it is
    shared with, writing only into its quarantine; `signs`: signs with the service's signing key; `tables`: when
    set, `table` applies to these of the service's tables alone (by id); `per_table`: instead of `table`, the
    actions on each of the service's tables by id (none on a table it does not name), for a function that reads
    one table and writes another; `lists_users`: lists the users of the tenant's user pool and of its groups (the
    people directory's refresh).
    """

    table: tuple[str, ...] = ()
    delete_only_under: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    shares_objects: bool = False
    signs: bool = False
    tables: tuple[str, ...] = ()
    per_table: tuple[tuple[str, tuple[str, ...]], ...] = ()
    lists_users: bool = False

    def actions_on(self, table_id: str) -> tuple[str, ...]:
        if self.per_table:
            return dict(self.per_table).get(table_id, ())
        return self.table if not self.tables or table_id in self.tables else ()


DATA_ACCESS: dict[tuple[str, str], DataAccess] = {
    # Use cases write cases, comments, templates and claims in transactions of Puts and a Delete (a participant's
    # membership item): no UpdateItem, no ConditionCheckItem. Documents: presigned uploads (PutObject) and downloads
    # (GetObject), uploads from the portal copied out of quarantine (GetObject, PutObject) and removed (DeleteObject).
    ("cases", "api"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:DeleteItem"),
        objects=("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    ),
    # Commands from the portal and the rules run the same use cases as the API (a document shared in the portal is
    # copied out of quarantine here).
    ("cases", "case_commands"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:DeleteItem"),
        objects=("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    ),
    # Reads chains, the feed and anchors; verifies and exports (signed with the key); erasure removes the personal
    # part of each link about a person (UpdateItem) and deletes that person's subject markers, whose partition is
    # SUBJECT#, so it cannot delete a link (CASE#); its idempotency claims are Puts.
    ("timeline", "api"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
        delete_only_under=("SUBJECT#",),
        objects=("s3:GetObject",),
        signs=True,
    ),
    # Appends: reads the head and the append point (GetItem, BatchGetItem), puts the link, the head and the markers
    # one PutItem each, and keeps who may read the chain on its head (UpdateItem). It never deletes, reads no anchor
    # and signs nothing; no BatchWriteItem either, which could delete as well as put.
    ("timeline", "timeline_consumer"): DataAccess(
        table=("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
    ),
    # Lists unanchored heads (Query on the index), reads them (BatchGetItem), writes each anchor (PutObject, into the
    # Object Lock bucket) and takes the head off the index (UpdateItem).
    ("timeline", "anchor_heads"): DataAccess(
        table=("dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"),
        objects=("s3:PutObject",),
    ),
    # Subscriptions, deliveries, runs, timers and mail markers: Puts (transactions of Puts with claims), timers fired
    # (UpdateItem), subscriptions, timers and markers removed (DeleteItem) with their deliveries in BatchWriteItems.
    ("automations", "api"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"),
    ),
    ("automations", "automations_consumer"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"),
    ),
    ("automations", "run_due_work"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"),
    ),
    ("automations", "deliver_webhooks"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"),
    ),
    # Links, sessions, visits: Puts, the rate limit's counter (UpdateItem), sessions and released claims deleted;
    # documents read from the cases bucket, uploads into its quarantine.
    ("portal", "api"): DataAccess(
        table=(*READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
        shares_objects=True,
    ),
    # The projection and the notices of document requests: reads and Puts only; no documents, no sessions.
    ("portal", "portal_consumer"): DataAccess(table=(*READ, "dynamodb:PutItem")),
    # The inbox's pages and counts: Queries, and the templates it reads (GetItem); the people directory: one Query;
    # a person's notifications: pages and the unread count (Query), marked read (UpdateItem), preferences (GetItem,
    # PutItem). It writes only notifications.
    ("tasks", "api"): DataAccess(
        per_table=(
            ("tasks", ("dynamodb:GetItem", "dynamodb:Query")),
            ("people", ("dynamodb:Query",)),
            ("notifications", ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")),
        ),
    ),
    # Entries written and removed in transactions (Put, Delete) around the case's head; never the directory.
    ("tasks", "tasks_consumer"): DataAccess(
        table=("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"), tables=("tasks",)
    ),
    # The directory's refresh: lists the pool's users and its groups' members, reads the directory (Query) and writes
    # the difference (BatchWriteItem of Puts and Deletes); never the inbox.
    ("tasks", "sync_people"): DataAccess(
        table=("dynamodb:Query", "dynamodb:BatchWriteItem"), tables=("people",), lists_users=True
    ),
    # Notifications: each written with a conditional Put (so a redelivered event writes none twice), read back
    # (GetItem) when it was there already, marked once its e-mail was sent (UpdateItem); the recipients' channels
    # (GetItem) and the directory (one Query) for mentions and addresses; the case's template (GetItem on the
    # inbox's copy) for who may read the case a mention is about. It writes only notifications.
    ("tasks", "notify_consumer"): DataAccess(
        per_table=(
            ("tasks", ("dynamodb:GetItem",)),
            ("people", ("dynamodb:Query",)),
            ("notifications", ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem")),
        ),
    ),
    # The API's authorizer verifies tokens (the JWKS over HTTPS) and touches no data.
    ("tasks", "api_authorizer"): DataAccess(),
    # Saved views: created, replaced and deleted in transactions (Put, Update, Delete) with claims.
    ("search", "api"): DataAccess(
        table=("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
    ),
    # The sources documents are rendered from: read and Put.
    ("search", "search_indexer"): DataAccess(table=("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem")),
}


class UndeclaredFunctionError(LookupError):
    """A function whose data access nobody declared: it gets none by accident, so synth stops instead."""


def access_of(service: str, function: str) -> DataAccess:
    try:
        return DATA_ACCESS[(service, function)]
    except KeyError:
        raise UndeclaredFunctionError(
            f"{service} {function}: declare what it does with its service's data in infra/access.py"
        ) from None
