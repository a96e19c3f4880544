"""Route templates and the approval runtime on viewflow (issue 4)."""
