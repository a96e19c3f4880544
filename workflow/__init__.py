"""Approval routes: templates and rules as data, and the route engine (workflow.progression)
on the states of workflow.states (viewflow.fsm)."""
