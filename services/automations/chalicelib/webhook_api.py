"""HTTP routes for webhook subscriptions and their deliveries."""
