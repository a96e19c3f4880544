"""The strings of the meeting pages' scripts, translated on the server (json_script)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def _picker() -> dict[str, str]:
    return {
        "found": _("%(n)s people found; choose with the arrow keys and Enter."),
        "noneFound": _("No one found."),
        "moreFound": _("More people match: type more of the name."),
        "added": _("%(name)s added."),
        "removedPerson": _("%(name)s taken off the list."),
        "remove": _("Remove"),
    }


def form() -> dict[str, Any]:
    return {
        "picker": _picker(),
        "roles": {"chair": _("chair"), "organiser": _("organiser")},
        "me": _("Me"),
        "remove": _("Remove"),
        "add": _("Add"),
        "up": _("Move up"),
        "down": _("Move down"),
        "version": _("version %(n)s"),
        "newer": _("A newer version exists"),
        "unreadable": _("A document you may no longer read"),
        "noDocuments": _("No document found."),
        "documentAdded": _("「%(title)s」 added, frozen at its current version."),
        "documentRemoved": _("Document taken out of the meeting."),
        "attendeeRemoved": _("Attendee removed."),
        "moved": _("Order changed."),
        "required": _("Enter the title, the date and the starting time."),
    }


def room() -> dict[str, Any]:
    return {
        "pageOf": _("page %(page)s of %(pages)s"),
        "version": _("version %(n)s"),
        "cannotOpen": _("The document could not be shown. Reload the page to try again."),
        "notes": {
            "layers": {
                "private": _("Private"),
                "shared": _("Shared"),
                "ink": _("Presenter's ink"),
            },
            "wherePage": _("document %(n)s, page %(page)s"),
            "whereItem": _("document %(n)s"),
            "inkNote": _("A stroke of the presenter's pen."),
            "share": _("Share with the meeting"),
            "makePrivate": _("Make private"),
            "delete": _("Delete"),
            "nowShared": _("The note is now shared with the meeting."),
            "nowPrivate": _("The note is now private."),
            "deleted": _("Note deleted."),
            "noNotes": _("No notes yet."),
            "empty": _("Write the note first."),
            "addedShared": _("Note shared with the meeting."),
            "addedPrivate": _("Private note saved; only you see it."),
        },
    }
