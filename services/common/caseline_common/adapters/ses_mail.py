"""E-mail through SES (v1 `SendEmail`): rule e-mails and portal invitations. Locally the emulator keeps them,
and the gateway shows them at /_dev/mailbox."""

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from types_boto3_ses.client import SESClient
    from types_boto3_ses.type_defs import BodyTypeDef


# SES's answers that say "not now" rather than "never".
_RETRYABLE = frozenset({"Throttling", "ThrottlingException", "ServiceUnavailable", "InternalFailure"})


class MailRefusedError(Exception):
    """SES answered and did not take the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.retryable = code in _RETRYABLE


class SesMailer:
    def __init__(self, client: "SESClient", sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str:
        """Sends one message to every address in `to` and returns SES's message id."""
        body: BodyTypeDef = {"Text": {"Data": text, "Charset": "UTF-8"}}
        if html is not None:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        try:
            response = self._client.send_email(
                Source=self._sender,
                Destination={"ToAddresses": to},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body},
            )
        except ClientError as error:
            raise MailRefusedError(error.response["Error"]["Code"], error.response["Error"]["Message"]) from error
        return response["MessageId"]
