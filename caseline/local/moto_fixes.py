"""Narrow corrections to the emulator where it differs from AWS in ways our code depends on."""

from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.events.utils import EventTemplateParser


def apply() -> None:
    _event_template_with_account()
    _transactions_check_then_write()


def _event_template_with_account() -> None:
    """EventBridge delivers the whole event to targets; moto 5.2's default template leaves out `account`,
    which Powertools' EventBridgeModel (rightly) requires."""
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"version": "0",', '"version": "0", "account": "<account>",'
        )


def _transactions_check_then_write() -> None:
    """moto 5.2 runs TransactWriteItems by deep-copying every table it touches (once per item), writing
    item by item and, if a condition fails, swapping the copies back in. That costs time in proportion
    to the table's size (about 270 ms per transaction at 8,000 items), and the swapped-in copy carries a
    copy of the stream shard, so an open stream iterator never sees another record and the writes that
    were rolled back remain in the stream. DynamoDB checks every condition first and then writes all or
    nothing; this does the same, so nothing ever needs rolling back."""
    if getattr(DynamoDBBackend.transact_write_items, "caseline_fixed", False):
        return

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        operations: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        targets: set[tuple[str, str]] = set()
        reasons: list[tuple[Any, Any, Any]] = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            target = (op["TableName"], str(sorted(key.items())))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            holds = condition is None or get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            ).expr(current)
            if holds:
                reasons.append((None, None, None))
            else:
                old = (
                    current.to_json()["Attributes"]
                    if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                    else None
                )
                reasons.append(("ConditionalCheckFailed", "The conditional request failed", old))
            operations.append((op_type, op, key))
        if any(code is not None for code, _, _ in reasons):
            raise TransactionCanceledException(reasons)
        for op_type, op, key in operations:
            names, values = op.get("ExpressionAttributeNames") or {}, op.get("ExpressionAttributeValues") or {}
            if op_type == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif op_type == "Delete":
                self.delete_item(op["TableName"], key)
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )

    transact_write_items.caseline_fixed = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
