"""Kafka producers: the outbox relay, the typed publisher, and the demo's sample traffic."""
