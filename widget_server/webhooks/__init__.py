"""Owns partner webhooks (Standard Webhooks 1.0): the outbox, signing and delivery."""
