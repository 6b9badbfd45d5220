"""Owns pledges and money: the sale decision, seats, pledge states, charges, refunds, waitlist.

`sales` (can this trip sell now, how many seats, to whom), `planning` and `recording` (a
pledge checked, then written with its seats by `seat_taking`), `transitions`, `fan_changes`
(withdraw, change stop), the use cases that call the provider between transactions (`placing`,
`charging`), `claims`, `charge_claims` and `refunds`, `trip_outcomes` (confirm, fail, cancel,
complete), `backlog` (what the sweep redoes) and `waitlist`.
"""
