"""Regeneration: the durable job queue, requests and answers, one module per regenerator, the
worker."""
