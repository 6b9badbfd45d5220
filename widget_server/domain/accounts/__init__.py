"""Partner admin accounts: the team, passwords, sign-in with lockout, sessions and the signed
password links."""
