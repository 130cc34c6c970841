"""The SE4U course: activities, the response store and the course data that notebooks and apps share."""

from se4u.banks import Bank, BankError, load_bank
from se4u.course import Course, load_course
from se4u.store import ResponseStore, StoreError

__all__ = [
    "Bank",
    "BankError",
    "Course",
    "ResponseStore",
    "StoreError",
    "activity",
    "load_bank",
    "load_course",
]


def activity(bank: str, activity_id: str):
    """Return the widget for one activity of a bank, or a clear message if the bank is broken."""
    from se4u.notebook import activity as _activity

    return _activity(bank, activity_id)
