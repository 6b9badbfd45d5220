"""Owns the rules: seats, money, lifecycles, accounts, partners, trip day, the shared rules.

Plain Python on the models, by area (`pledges/`, `accounts/`, modules for the rest). No Flask
imports; flush, never commit.
"""
