"""A requested document on the local stack: the portal consumer, given `document.requested` twice (as the bus may
deliver it), issues one link, sends one e-mail through SES (seen in the development mailbox) and shows the need,
with the team's message, on the participant's page."""

import json
import re
import uuid
from typing import TYPE_CHECKING, Any, cast

import pytest
from caseline_common.adapters.ses_mail import SesMailer
from caseline_common.envelope import Actor, ActorKind, EventEnvelope, Visibility
from caseline_common.resources import PORTAL_TABLE

from caseline.local.stack import LocalStack

if TYPE_CHECKING:
    from types_boto3_events.type_defs import PutEventsRequestEntryTypeDef

from .support import header, queue_depth, timeline, wait_until
from .test_portal_access import Browser, Claim, api, ok, open_claim, template

MESSAGE = "Please send the statement that shows the <payment> & its date."


def requests_template(key: str) -> dict[str, Any]:
    definition = template(key)
    definition["portal"] = {"branding": {"name": "Acme Insurance"}}
    definition["document_types"].append(
        {
            "key": "bank_statement",
            "name": "Bank statement",
            "content_types": ["application/pdf"],
            "max_size_bytes": 1024,
            "external": True,
            "uploader_roles": ["client"],
        }
    )
    return definition


@pytest.fixture(scope="module")
def claim(stack: LocalStack) -> Claim:
    key = f"requests-{uuid.uuid4().hex[:8]}"
    ok(api(stack, "POST", "/templates", requests_template(key)), 201)
    return open_claim(stack, key, f"Claim {uuid.uuid4().hex[:6]}")


def mailbox(stack: LocalStack) -> list[dict[str, Any]]:
    status, headers, raw = stack.api.handle("GET", "/_dev/mailbox.json", {}, None)
    assert status == 200, raw
    assert header(headers, "Content-Type") == "application/json"
    mails: list[dict[str, Any]] = json.loads(raw)
    return mails


def portal_knows_the_client(stack: LocalStack, claim: Claim) -> bool:
    item = (
        stack.aws.dynamodb()
        .get_item(
            TableName=stack.tenant.names.table(PORTAL_TABLE),
            Key={"pk": {"S": f"PCASE#{claim.case_id}"}, "sk": {"S": "CASE"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item is not None and claim.client in json.loads(item["doc"]["S"])["participants"]


def document_requested(stack: LocalStack, claim: Claim) -> EventEnvelope:
    """The event the cases service writes when a rule asks the client for a bank statement."""
    version = ok(api(stack, "GET", f"/cases/{claim.case_id}"))["version"] + 1
    return EventEnvelope.new(
        tenant_id=stack.options.tenant_id,
        case_id=claim.case_id,
        type="document.requested",
        actor=Actor(kind=ActorKind.AUTOMATION, id="rule:ask-for-statement"),
        correlation_id=f"test-{uuid.uuid4().hex}",
        data={
            "version": version,
            "request_id": f"01JPREQ{uuid.uuid4().hex[:19].upper()}",
            "document_type": "bank_statement",
            "from_role": "client",
            "participant_ids": [claim.client],
            "message": MESSAGE,
        },
        visibility=Visibility.EXTERNAL,
    )


def test_a_requested_document_is_mailed_once_with_a_link_and_shown_as_a_need(stack: LocalStack, claim: Claim) -> None:
    wait_until(lambda: portal_knows_the_client(stack, claim), what="the portal to know the client")
    event = document_requested(stack, claim)
    entry = cast(
        "PutEventsRequestEntryTypeDef", event.bus_entry(source_service="cases", bus_name=stack.tenant.names.event_bus())
    )
    for _ in range(2):  # at least once: the consumer sees the same event twice
        assert stack.aws.events().put_events(Entries=[entry])["FailedEntryCount"] == 0

    reference = claim.case_id[-8:-4] + "-" + claim.case_id[-4:]
    portal_queue = stack.tenant.queues["portal_consumer"].url

    def mailed() -> list[dict[str, Any]]:
        return [mail for mail in mailbox(stack) if reference in mail["subject"]]

    wait_until(mailed, what="the e-mail with the link")
    wait_until(lambda: queue_depth(stack, portal_queue) == 0, what="both deliveries to be consumed")
    [mail] = mailed()
    assert mail["source"] == f"caseline@{stack.options.tenant_id}.caseline.local"
    assert mail["destinations"] == ["client@example.org"]
    assert mail["subject"] == f"Acme Insurance: we need a document for your case {reference}"
    assert "Bank statement" in mail["body"]
    assert MESSAGE in mail["body"]
    assert mail["sent_at"]

    [link] = ok(api(stack, "GET", f"/cases/{claim.case_id}/portal-links", as_="alex"))["items"]
    assert (link["participant_id"], link["created_by"]) == (claim.client, "portal")
    wait_until(
        lambda: [e for e in timeline(stack, claim.case_id) if e["event"]["type"] == "portal.link_issued"],
        what="the link on the case's timeline",
    )
    url = re.search(r"https?://\S+/p/\S+", mail["body"])
    assert url is not None

    browser = Browser(stack)
    page = browser.enter({"url": url.group(0)})
    needs = page.text.split('id="needs-title"')[1].split("</ul>")[0]
    assert "Upload: Bank statement" in needs
    assert "Please send the statement that shows the &lt;payment&gt; &amp; its date." in needs


def test_the_mailbox_page_escapes_everything_and_makes_links_clickable(stack: LocalStack) -> None:
    sender = SesMailer(stack.aws.ses(), f"caseline@{stack.options.tenant_id}.caseline.local")
    subject = f"<b>Hello</b> {uuid.uuid4().hex[:6]}"
    message_id = sender.send(["someone@example.org"], subject, "Open https://portal.example.org/p/abc?x=1&y=2 <now>.")
    newest = mailbox(stack)[0]
    assert (newest["id"], newest["subject"]) == (message_id, subject)

    status, headers, raw = stack.api.handle("GET", "/_dev/mailbox", {}, None)
    assert status == 200
    assert header(headers, "Content-Type") == "text/html; charset=utf-8"
    page = raw.decode()
    assert '<html lang="en">' in page
    assert "<b>Hello</b>" not in page
    assert "&lt;b&gt;Hello&lt;/b&gt;" in page
    assert '<a href="https://portal.example.org/p/abc?x=1&amp;y=2">' in page, "links in a body are clickable"
    assert "&lt;now&gt;." in page
    assert "<script" not in page
