from __future__ import annotations


class ServiceError(Exception):
    """Base for outcomes the web, API and CLI turn into a message for the person."""


class NotFound(ServiceError):
    """No such record, or not one this person may see: both look the same from outside."""


class Removed(NotFound):
    """The document was removed (remove_empty: nothing had ever been saved in it), told to
    someone who may read the client's records, so a save or a draft arriving after it is
    answered in plain words rather than "not found". `kind` and `template` (its id and
    version, for an agreement) name its parts, to give typed words back under them; the
    client's records are where it could be started again."""

    def __init__(self, by_you: bool, by: str, kind: str, template: dict | None, client_id: int):
        who = "You removed" if by_you else f"{by} removed"
        super().__init__(f"{who} this document: nothing had been saved in it.")
        self.by_you = by_you
        self.by = by
        self.kind = kind
        self.template = template
        self.client_id = client_id


class ReadOnly(ServiceError):
    """The person may read this record but not change it."""


class Invalid(ServiceError):
    """The request itself makes no sense (bad reference, wrong role, ...)."""


class AlreadyDone(Invalid):
    """What was asked is what this person already did (the same form sent twice, a second
    tap on a slow phone): nothing changed, and nothing needed to. Pages say it as done, not
    as a refusal; elsewhere it is a refusal like any other."""


class NoSuchVersion(Invalid):
    """An edit based on a version the document does not have: on a page, an old or forged
    form (its words given back); in the API, the `base_version` sent, said beside it."""


class Agreed(ServiceError):
    """A version that was agreed: its paper copy is the sealed PDF, not a draft that says it
    was never agreed."""

    def __init__(self, number: int):
        super().__init__(f"Version {number} was agreed: its signed PDF is the copy to keep.")
        self.number = number


class Conflict(ServiceError):
    """Someone else saved a newer version after the one this save was based on."""

    def __init__(
        self, document_id: int, base_number: int, head_number: int, content: dict, note: str
    ):
        super().__init__("A newer version was saved while you were editing.")
        self.document_id = document_id
        self.base_number = base_number
        self.head_number = head_number
        self.content = content
        self.note = note


class MoveToConfirm(ServiceError):
    """A key worker with clients asked to move team without the administrator having been
    told, with the same count, that their clients move too. Nothing was saved."""

    def __init__(self, question: str, clients: int, new_team: str):
        super().__init__(question)
        self.clients, self.new_team = clients, new_team


class ChangedMeanwhile(ServiceError):
    """A details form was saved from a page that was out of date: someone else changed some
    of the fields it changes since it was loaded. Nothing was saved. `errors` maps those
    fields to a message saying what each is now."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some details were changed while the page was open.")
        self.errors = errors
