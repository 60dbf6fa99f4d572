from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; the message is written for the person using the app."""


class ContentInvalid(DomainError):
    """Submitted content failed validation. `errors` maps form field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some answers need another look.")
        self.errors = errors
