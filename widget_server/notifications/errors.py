"""Why an email cannot be sent."""


class Undeliverable(Exception):
    """This email can never be sent as it stands (unknown kind, its pledge is gone, an address
    the server refuses for good): retrying would not help, so it is marked failed."""
