"""Owns the bus companies (operators): `operators` (the company, its profile and compliance,
its fleet and drivers), the marketplace (requests, quotes, awards), the news an operator is
told, the trips it runs across partners and its payouts.
"""
