"""Absolute limits of the product, in one place (no imports: the models use them too)."""

# Seats one pledge may take, whatever the partner allows (a partner may set a lower cap per
# fan; it can never be higher). The pledges table's check constraint uses the same number.
MAX_SEATS_PER_PLEDGE = 10
