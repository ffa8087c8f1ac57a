"""The CDK app: one stage per tenant, synthesized from the same resource specs as the local stack."""
