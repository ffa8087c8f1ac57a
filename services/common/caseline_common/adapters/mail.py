"""E-mail through SES (v1 `SendEmail`): rule e-mails and portal invitations. Locally the emulator keeps them,
and the gateway shows them at /_dev/mailbox."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types_boto3_ses.client import SESClient
    from types_boto3_ses.type_defs import BodyTypeDef


class SesMailer:
    def __init__(self, client: "SESClient", sender: str) -> None:
        self._client = client
        self._sender = sender

    def send(self, to: list[str], subject: str, text: str, html: str | None = None) -> str:
        """Sends one message to every address in `to` and returns SES's message id."""
        body: BodyTypeDef = {"Text": {"Data": text, "Charset": "UTF-8"}}
        if html is not None:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        response = self._client.send_email(
            Source=self._sender,
            Destination={"ToAddresses": to},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": body},
        )
        return response["MessageId"]
