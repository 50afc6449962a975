"""Kafka consumers: the engine's inbound loop."""
