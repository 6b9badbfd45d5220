"""Absolute limits of the product, in one place for the domain.

The seats one pledge may take are a column constraint of the pledges table, so the number is
declared with the table (`models/pledges.py`) and read here: the schema sits below the domain.
"""

from widget_server.models.pledges import MAX_SEATS_PER_PLEDGE

__all__ = ["MAX_SEATS_PER_PLEDGE"]
