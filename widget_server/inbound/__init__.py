"""Owns calls from outside systems into the service: Stripe's webhook (`stripe.py`).

A face like the API or the widget: it reads the request, calls the domain, and answers."""
