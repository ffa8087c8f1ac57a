"""The whole product on one machine: moto, the six services, pumps, a gateway and a dev issuer."""
