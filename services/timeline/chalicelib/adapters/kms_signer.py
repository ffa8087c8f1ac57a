"""Signs with the tenant's asymmetric KMS key (ECC P-256); the private key never leaves KMS."""

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types_boto3_kms.client import KMSClient


class KmsSigner:
    def __init__(self, client: "KMSClient", key_id: str) -> None:
        self._client = client
        self.key_id = key_id

    def sign(self, message: bytes) -> bytes:
        return self._client.sign(
            KeyId=self.key_id, Message=message, MessageType="RAW", SigningAlgorithm="ECDSA_SHA_256"
        )["Signature"]

    @cached_property
    def _public_key_pem(self) -> str:
        # cryptography at the first key asked for (an export or GET /timeline/signing-key), not at import
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

        der = self._client.get_public_key(KeyId=self.key_id)["PublicKey"]
        return load_der_public_key(der).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()

    def public_key_pem(self) -> str:
        return self._public_key_pem
