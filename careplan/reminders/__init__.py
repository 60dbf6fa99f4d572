"""Reminders at the edge: the scheduler process, e-mail, the sender loop, message wording and
the calendar feed. The rules live in careplan.domain.reviews; the bookkeeping (what is owed,
claimed, sent) in careplan.services.reminders."""
