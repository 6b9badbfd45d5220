"""Owns partner admin accounts: the team, passwords, sign-in, sessions, links and two-step.

`admins` (accounts, passwords, roles, the team), `admin_sessions` (sign-in with lockout,
server-side sessions), `password_links` (signed links that set or reset a password) and
`two_step` (TOTP and recovery codes).
"""
