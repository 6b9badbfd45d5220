"""Pledges and money: the sale decision, placing, taking seats, transitions, charges, refunds,
trip outcomes, the waitlist and the backlog the sweep works through."""
