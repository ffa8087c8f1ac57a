"""The whole product on one machine: moto, the four services, pumps, a gateway and a dev issuer."""
