"""Webhook subscriptions and deliveries as pure logic: signatures, rotation, backoff, filters, URLs."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest
from caseline_common.envelope import Actor, ActorKind, EventEnvelope
from caseline_common.errors import ForbiddenError, InvalidInputError
from caseline_common.tenant import TenantContext
from service_modules import loaded, loaded_module
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from caseline.local.loader import LoadedService

if TYPE_CHECKING:
    from services.automations.chalicelib.domain import webhooks as hooks
else:
    hooks = loaded_module("automations", "chalicelib.domain.webhooks")

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def automations() -> LoadedService:
    return loaded("automations")


def make_event(event_type: str = "case.opened") -> EventEnvelope:
    return EventEnvelope.new(
        tenant_id="acme",
        case_id="01JCASE0000000000000000000",
        type=event_type,
        actor=Actor(kind=ActorKind.USER, id="user-1"),
        correlation_id="corr-1",
        data={"stage": "intake"},
        occurred_at=NOW,
    )


def make_subscription(**changes: Any) -> Any:
    fields = {
        "id": "01JSUB00000000000000000000",
        "url": "https://hooks.example.com/in",
        "event_types": [],
        "created_at": NOW,
        "created_by": "admin-1",
        "secret": hooks.new_secret(),
    }
    return hooks.Subscription(**(fields | changes))


def make_delivery() -> Any:
    return hooks.Delivery.claimed_new(
        "01JDEL00000000000000000000", "01JSUB00000000000000000000", make_event(), NOW, timedelta(minutes=2)
    )


def attempt(at: datetime, status_code: int | None = 500) -> dict[str, Any]:
    return {"at": at, "status_code": status_code, "error": None if status_code else "timed out", "duration_ms": 12}


def test_a_new_secret_is_a_standard_webhooks_secret_of_32_random_bytes() -> None:
    secret = hooks.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != hooks.new_secret()


def test_the_payload_carries_type_timestamp_and_the_envelope() -> None:
    event = make_event()
    payload = json.loads(hooks.webhook_payload(event))
    assert payload == {
        "type": "case.opened",
        "timestamp": "2027-03-01T12:00:00Z",
        "data": event.model_dump(mode="json"),
    }


def test_signed_headers_verify_with_standard_webhooks() -> None:
    secret = hooks.new_secret()
    body = hooks.webhook_payload(make_event())
    sent_at = datetime.now(UTC)
    headers = hooks.signed_headers("msg_1", body, [secret], sent_at)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    assert StandardWebhook(secret).verify(body, headers)["type"] == "case.opened"
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(hooks.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(secret).verify(body.replace("intake", "decided"), headers)


def test_a_non_utc_send_time_signs_the_same_instant() -> None:
    secret = hooks.new_secret()
    sent_at = datetime.now(UTC)
    in_utc = hooks.signed_headers("msg_1", "{}", [secret], sent_at)
    elsewhere = hooks.signed_headers("msg_1", "{}", [secret], sent_at.astimezone(timezone(timedelta(hours=5))))
    assert in_utc == elsewhere


def test_during_rotation_both_secrets_sign_and_each_verifies() -> None:
    old = make_subscription()
    new_secret = hooks.new_secret()
    rotated = old.rotated(new_secret, NOW)
    assert rotated.secret == new_secret
    assert rotated.revision == old.revision + 1
    assert rotated.signing_secrets(NOW) == [new_secret, old.secret]

    sent_at = datetime.now(UTC)
    body = hooks.webhook_payload(make_event())
    headers = hooks.signed_headers("msg_2", body, rotated.signing_secrets(NOW), sent_at)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert StandardWebhook(old.secret).verify(body, headers)
    assert StandardWebhook(new_secret).verify(body, headers)


def test_the_previous_secret_stops_signing_after_24_hours() -> None:
    old = make_subscription()
    rotated = old.rotated(hooks.new_secret(), NOW)
    just_before = NOW + timedelta(hours=24) - timedelta(seconds=1)
    assert len(rotated.signing_secrets(just_before)) == 2
    assert rotated.signing_secrets(NOW + timedelta(hours=24)) == [rotated.secret]
    assert rotated.view(NOW).previous_secret_expires_at == NOW + timedelta(hours=24)
    assert rotated.view(NOW + timedelta(days=2)).previous_secret_expires_at is None


def test_the_view_of_a_subscription_never_shows_a_secret() -> None:
    subscription = make_subscription().rotated(hooks.new_secret(), NOW)
    shown = subscription.view(NOW).model_dump_json()
    assert "whsec_" not in shown


def test_the_backoff_is_exponential_then_stops_after_seven_attempts() -> None:
    waits = [hooks.retry_delay(made) for made in range(1, 8)]
    assert waits == [
        timedelta(seconds=10),
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=8),
        None,
    ]
    assert hooks.MAX_ATTEMPTS == 7


def test_a_delivery_follows_the_schedule_and_dies_after_the_last_attempt() -> None:
    delivery = make_delivery()
    at = NOW
    for made, wait in enumerate(hooks.BACKOFF, start=1):
        delivery = delivery.recorded(hooks.Attempt(**attempt(at)))
        assert delivery.status is hooks.DeliveryStatus.PENDING
        assert delivery.next_attempt_at == at + wait
        assert len(delivery.attempts) == made
        at = delivery.next_attempt_at
    dead = delivery.recorded(hooks.Attempt(**attempt(at, status_code=None)))
    assert dead.status is hooks.DeliveryStatus.DEAD
    assert dead.next_attempt_at is None
    assert len(dead.attempts) == hooks.MAX_ATTEMPTS


def test_a_2xx_answer_succeeds_and_anything_else_fails() -> None:
    delivery = make_delivery()
    for success in (200, 202, 204, 299):
        assert delivery.recorded(hooks.Attempt(**attempt(NOW, success))).status is hooks.DeliveryStatus.SUCCEEDED
    for failure in (None, 301, 400, 410, 500, 503):
        assert delivery.recorded(hooks.Attempt(**attempt(NOW, failure))).status is hooks.DeliveryStatus.PENDING


def test_a_replayed_delivery_is_due_now_with_a_full_round_and_keeps_its_log() -> None:
    delivery = make_delivery()
    for _ in range(hooks.MAX_ATTEMPTS):
        delivery = delivery.recorded(hooks.Attempt(**attempt(NOW)))
    assert delivery.status is hooks.DeliveryStatus.DEAD
    later = NOW + timedelta(days=1)
    replayed = delivery.replayed(later)
    assert replayed.status is hooks.DeliveryStatus.PENDING
    assert replayed.next_attempt_at == later
    assert replayed.attempts == delivery.attempts
    again = replayed.recorded(hooks.Attempt(**attempt(later)))
    assert again.status is hooks.DeliveryStatus.PENDING
    assert again.next_attempt_at == later + timedelta(seconds=10)


def test_every_write_of_a_delivery_changes_its_revision() -> None:
    delivery = make_delivery()
    claimed = delivery.claimed(NOW + timedelta(minutes=2))
    recorded = claimed.recorded(hooks.Attempt(**attempt(NOW)))
    assert [delivery.revision, claimed.revision, recorded.revision] == [1, 2, 3]


@pytest.mark.parametrize(
    ("event_types", "event_type", "matches"),
    [
        ([], "case.opened", True),
        (["case.opened"], "case.opened", True),
        (["case.opened"], "case.closed", False),
        (["case.*"], "case.stage_changed", True),
        (["case.*"], "task.completed", False),
        (["case.*"], "case_note.added", False),
        (["task.completed", "case.*"], "task.completed", True),
    ],
)
def test_event_type_filters(event_types: list[str], event_type: str, matches: bool) -> None:
    assert make_subscription(event_types=event_types).matches(event_type) is matches


@pytest.mark.parametrize("event_type", ["case.opened", "case.*", "task_list.item_added", "portal_upload.*"])
def test_filters_accept_types_and_families(event_type: str) -> None:
    hooks.CreateWebhookRequest(url="https://hooks.example.com", event_types=[event_type])


@pytest.mark.parametrize("event_type", ["*", "case", "case.", "*.opened", "Case.Opened", "case.open*", "case.**"])
def test_filters_refuse_other_patterns(event_type: str) -> None:
    with pytest.raises(ValueError, match="event_types"):
        hooks.CreateWebhookRequest(url="https://hooks.example.com", event_types=[event_type])


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/in",
        "https://hooks.example.com:8443/in?tenant=acme",
        "https://8.8.8.8/in",
        "https://xn--bcher-kva.example/in",
    ],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert hooks.url_problems(url, allow_insecure=False) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/in",
        "ftp://hooks.example.com/in",
        "https://user:pass@hooks.example.com/in",
        "https:///in",
        "https://hooks.example.com:99999/in",
        "https://localhost/in",
        "http://127.0.0.1:8080/in",
        "https://[::1]/in",
        "https://10.0.0.5/in",
        "https://192.168.1.1/in",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/in",
        "https://[::ffff:10.0.0.1]/in",
        "https://0.0.0.0/in",
        "https://2130706433/in",
        "https://0x7f.1/in",
        "https://intranet/in",
        "https://hooks.example.com/in#part",
        "https://" + "a" * 2000 + ".example.com",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    assert hooks.url_problems(url, allow_insecure=False)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/in", "http://localhost:9000/in", "http://[::1]:9000/in", "https://localhost/in"]
)
def test_loopback_is_accepted_only_where_insecure_urls_are_allowed(url: str) -> None:
    assert hooks.url_problems(url, allow_insecure=True) == []
    assert hooks.url_problems(url, allow_insecure=False)


def test_insecure_urls_still_mean_loopback_only() -> None:
    assert hooks.url_problems("http://hooks.example.com/in", allow_insecure=True)
    assert hooks.url_problems("http://10.0.0.5/in", allow_insecure=True)


def test_a_refused_url_is_a_field_issue() -> None:
    with pytest.raises(InvalidInputError) as refused:
        hooks.check_url("http://hooks.example.com/in", allow_insecure=False)
    assert [(issue.pointer, issue.detail) for issue in refused.value.issues] == [("/url", "The URL must use https.")]


def test_only_tenant_admins_manage_webhooks(
    automations: LoadedService, staff: TenantContext, admin: TenantContext
) -> None:
    service_module = automations.module("chalicelib.webhook_service")
    service = service_module.WebhookService(
        None, None, None, clock=lambda: NOW, new_id=lambda: "01JSUB00000000000000000000", allow_insecure_urls=False
    )
    request = hooks.CreateWebhookRequest(url="http://hooks.example.com/in")
    with pytest.raises(ForbiddenError, match="caseline-admins"):
        service.create(staff, request)
    with pytest.raises(ForbiddenError):
        service.list(staff)
    with pytest.raises(InvalidInputError):  # an admin gets past the check, to the URL's
        service.create(admin, request)
