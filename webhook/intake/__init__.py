"""Intake: ``POST /webhook`` verifies, records and queues a delivery; no git work in the request."""
