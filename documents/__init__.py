"""Drafts, attachments, the decision record and search (issue 3)."""
