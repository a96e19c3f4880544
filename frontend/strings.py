"""The words the page scripts show, translated on the server and handed over with json_script.

Placeholders are %(name)s, filled in by common.js `format`, never by Python.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def _common() -> dict[str, Any]:
    return {"cancel": _("Cancel"), "working": _("Working…")}


def inbox() -> dict[str, Any]:
    return {
        **_common(),
        "approveSelected": _("Approve selected"),
        "approveN": _("Approve %(n)s selected"),
        "confirmTitle": _("Approve %(n)s documents at once?"),
        "confirmMessage": _(
            "Each one is approved and signed in your name with the comment below, and moves on to "
            "its next approver. Approvals cannot be undone. Documents:"
        ),
        "approved": _("Approved"),
        "newItems": _("Something new has arrived for you."),
        "refresh": _("Show it"),
        "summary": _("%(ok)s approved."),
        "summaryWithErrors": _("%(ok)s approved, %(failed)s not: the reason is shown on each row."),
    }


def drafting() -> dict[str, Any]:
    return {
        **_common(),
        "progressOf": _("Upload of %(name)s"),
        "waiting": _("Waiting to upload"),
        "waitingForSave": _("Uploaded when the draft is saved"),
        "cancelFile": _("Cancel"),
        "saveToUpload": _("Save the draft to upload the files."),
        "uploading": _("Uploading…"),
        "uploadFailed": _("The upload failed; check the connection and try again."),
        "uploaded": _("Uploaded"),
        "remove": _("Remove"),
        "dismiss": _("Dismiss"),
        "someFailed": _("%(n)s files could not be added; each one says why."),
        "allUploaded": _("%(n)s files added."),
        "removed": _("%(name)s removed."),
        "saving": _("Saving…"),
        "saveFailed": _("The draft could not be saved."),
        "saved": _("Draft saved."),
        "onBehalfOf": _("(deciding for %(name)s)"),
        "routeName": _("Route: %(name)s"),
        "modes": {
            "sequential": _("one after another"),
            "all_of": _("all must agree"),
            "any_of": _("any one of them"),
            "quorum": _("a quorum"),
            "circulation": _("for information"),
        },
        "fixFilesFirst": _("Wait for the uploads to finish, and dismiss the files that failed."),
        "submitTitle": _("Submit for approval?"),
        "submitMessage": _(
            "The document goes to the first approver on the route shown. You can no longer edit "
            "it unless it is sent back or you withdraw it."
        ),
        "submit": _("Submit"),
        "submitting": _("Submitting…"),
        # Encrypted PDFs
        "passwordFor": _("Password for %(name)s"),
        "passwordHelp": _(
            "Used only to open the file now, and not kept; approvers get an unlocked copy."
        ),
        "unlock": _("Open and upload"),
        "unlocked": _("%(name)s was opened with its password and added."),
        "givePasswordsFirst": _("Give the password of each protected file, or dismiss it."),
        # Route choice and added people
        "autoRoute": _("Chosen by the delegation rules (専決規程): %(name)s"),
        "routeByRules": _("Route: %(name)s, chosen by the delegation rules."),
        "routeChosen": _("Route: %(name)s, chosen by you."),
        "routeChosenInstead": _(
            "Route: %(name)s, chosen by you instead of %(rules)s, which the rules would choose."
        ),
        "addedByYou": _("added by you"),
        "picker": {
            "found": _("%(n)s people found; choose with the arrow keys and Enter."),
            "noneFound": _("No one found."),
            "moreFound": _("More people match: type more of the name."),
            "added": _("%(name)s added."),
            "removedPerson": _("%(name)s taken off the list."),
            "remove": _("Remove"),
        },
    }


def report() -> dict[str, Any]:
    return {
        "allGood": _(
            "All %(n)s signatures are valid: the record is unchanged since each was made, "
            "apart from the marks allowed."
        ),
        "notAllGood": _("Not every signature is valid: see below."),
        "unsigned": _("This PDF has no signatures."),
        "documentTimestamp": _("Document timestamp (for long-term validity)"),
        "signedBy": _("Signed by %(who)s"),
        "unknownSigner": _("an unknown signer"),
        "reason": _("Reason"),
        "signedAt": _("Signed at (the signer's clock)"),
        "timestamp": _("Trusted timestamp"),
        "timestampText": _("%(time)s, from %(tsa)s"),
        "timestampValid": _("valid"),
        "timestampInvalid": _("not valid"),
        "noTimestamp": _("none"),
        "unknown": _("cannot tell"),
        "intact": _("Signed content"),
        "intactYes": _("unchanged"),
        "intactNo": _("changed after signing"),
        "trusted": _("Certificate"),
        "trustedYes": _("issued by a trusted authority"),
        "trustedNo": _("not from a trusted authority"),
        "revoked": _("Revoked"),
        "revokedYes": _("the certificate has been revoked"),
        "laterChanges": _("Later changes"),
        "modification": {
            "none": _("none"),
            "annotations": _("only marks and comments (allowed)"),
            "other": _("other changes (not allowed)"),
        },
        "details": _("What changed"),
        "problem": _("Problem"),
        "problemDetail": _("Details from the checker: %(problem)s"),
        "valid": _("valid"),
        "invalid": _("not valid"),
    }


def verification() -> dict[str, Any]:
    return {
        **_common(),
        "checking": _("Checking…"),
        "chooseFile": _("Choose a PDF first."),
        "report": report(),
    }


def workspace() -> dict[str, Any]:
    return {
        **_common(),
        "paneLabel": _("Pane %(n)s"),
        "pagesLabel": _("Pages of pane %(n)s"),
        "fileOfPane": _("File shown in pane %(n)s"),
        "pageOfPane": _("Page in pane %(n)s"),
        "pageLabel": _("Page %(n)s of %(total)s"),
        "pageFailed": _("This page could not be shown."),
        "goToPage": _("Go to page %(n)s"),
        "recordPage": _("record p. %(n)s"),
        "partPage": _("%(part)s p. %(n)s"),
        "tools": {
            "select": _("Reading: select text to copy it."),
            "highlight": _("Marker: select text and it is highlighted."),
            "box": _("Marker: drag a box over the area."),
            "note": _("Sticky note: click where it goes."),
            "freetext": _("Comment box: drag a box, or click, then write."),
            "ink": _("Pen: draw on the page."),
        },
        "noteTitle": _("Sticky note"),
        "freetextTitle": _("Comment"),
        "onPage": _("On %(page)s. Everyone who can see this document will see it."),
        "markText": _("Text"),
        "saveMark": _("Save"),
        "savingMark": _("Saving the mark…"),
        "markSaved": _("Mark saved on %(page)s."),
        "markRemoved": _("Mark removed."),
        "removeMark": _("Remove"),
        "signed": _("signed"),
        "kinds": {
            "highlight": _("Highlight"),
            "note": _("Sticky note"),
            "freetext": _("Comment"),
            "ink": _("Pen"),
        },
        "nothingToApprove": _("You have nothing to approve on this document."),
        "checking": _("Checking…"),
        "approveTitle": {
            "approve": _("Approve this document?"),
            "consult": _("Agree to this document?"),
            "circulate": _("Mark this document as read?"),
            "post_review": _("Mark this decision as reviewed?"),
        },
        "approveMessage": {
            "approve": _(
                "“%(title)s” is approved in your name: your seal and digital signature are added "
                "to the record with your marks, and it moves on to the next approver. This cannot "
                "be undone."
            ),
            "consult": _(
                "Your department's agreement to “%(title)s” is recorded and signed in your name. "
                "This cannot be undone."
            ),
            "circulate": _("You confirm that you have read “%(title)s”."),
            "post_review": _("You confirm that you have reviewed the decision on “%(title)s”."),
        },
        "decidesMessage": _("Yours is the final approval: the document is decided and numbered."),
        "withComment": _("Your comment: “%(comment)s”"),
        "approved": {
            "approve": _("Approved. The document has moved on."),
            "consult": _("Agreement recorded."),
            "circulate": _("Marked as read."),
            "post_review": _("Marked as reviewed."),
        },
        "sendBackTitle": _("Send this document back?"),
        "sendBackMessage": _(
            "“%(title)s” goes back to the person you choose, with your reason, to be revised. "
            "The approvals after that point will be asked again."
        ),
        "sendBack": _("Send back"),
        "sendBackTo": _("Send back to"),
        "reason": _("Reason"),
        "sentBack": _("Sent back."),
        "rejectTitle": _("Reject this document?"),
        "rejectMessage": _(
            "“%(title)s” is rejected and its route ends here. The drafter is told your reason. "
            "This cannot be undone."
        ),
        "reject": _("Reject"),
        "rejected": _("Rejected. The route has ended."),
        "withdrawTitle": _("Withdraw this document?"),
        "withdrawMessage": _(
            "“%(title)s” is taken off its route before the current approver acts; the approvers "
            "are told. You can revise it and submit it again."
        ),
        "withdraw": _("Withdraw"),
        "withdrawn": _("Withdrawn."),
        "askTitle": _("Ask a question (質疑)?"),
        "askMessage": _(
            "The task stays with you and its reminder clock stops until the answer comes back. "
            "The question and its answer go into the history."
        ),
        "ask": _("Ask"),
        "askTo": _("Whom to ask"),
        "question": _("Question"),
        "asked": _("Question sent. You will be told when it is answered."),
        "answerEmpty": _("Write your answer first."),
        "answered": _("Answer sent."),
        "reassignTitle": _("Reassign this task?"),
        "reassignMessage": _(
            "%(name)s’s task goes to the person you choose; both are told, and the history "
            "and audit trail keep your reason."
        ),
        "reassign": _("Reassign"),
        "reassignTo": _("Reassign to"),
        "reassigned": _("Reassigned."),
        "failed": _("That did not work; check the connection and try again."),
        "report": report(),
    }


def routes() -> dict[str, Any]:
    """The route designer (routes.js)."""
    return {
        **_common(),
        "stage": _("Stage"),
        "stageName": _("Name"),
        "mode": _("Mode"),
        "quorum": _("Quorum"),
        "quorumPercent": _("The quorum is a percentage (rounded up)"),
        "role": _("Role"),
        "skippable": _("May be skipped"),
        "samePerson": _("May name someone who acts at another stage too"),
        "amountMin": _("Amount from (yen)"),
        "amountMax": _("Amount below (yen)"),
        "docTypes": _("Only for these document types"),
        "departments": _("Only for drafters in these departments"),
        "who": _("Who acts"),
        "kind": _("Kind"),
        "level": _("Where"),
        "position": _("Position"),
        "department": _("Department"),
        "user": _("User name"),
        "group": _("Group name"),
        "addRule": _("Add a person or post"),
        "removeRule": _("Remove this rule"),
        "addStage": _("Add a stage"),
        "removeStage": _("Remove this stage"),
        "moveLeft": _("Move this stage earlier"),
        "moveRight": _("Move this stage later"),
        "drag": _("Drag to reorder"),
        "moved": _("Stage %(name)s is now number %(n)s."),
        "removed": _("Stage %(name)s removed."),
        "added": _("Stage added at the end."),
        "saved": _("Draft saved. Nothing changes until it is published."),
        "published": _("Published: valid from %(date)s."),
        "problems": _("The draft has problems; nothing was saved:"),
        "newStage": _("New stage"),
        "any": _("(any)"),
        "simulated": _("Route for this document on %(date)s:"),
        "unresolved": _("This route does not resolve:"),
        "forPerson": _("for %(name)s"),
        "rule": _("Rule: %(rule)s (route %(route)s, version %(version)s)"),
        "checkCount": _("%(n)s combinations do not resolve on %(date)s."),
        "runningCount": _(
            "%(n)s tasks of documents on their way have nobody in their post on %(date)s."
        ),
        "checkColumns": [
            _("Department"),
            _("Document type"),
            _("Amount"),
            _("Route"),
            _("What does not resolve"),
        ],
        "failed": _("That did not work; check the connection and try again."),
    }
