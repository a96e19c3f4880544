from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Workflow")

    def ready(self) -> None:
        # The record's cover sheet shows the route: documents asks, workflow answers.
        from documents.records import set_route_provider
        from workflow.cover import route_for_cover

        set_route_provider(route_for_cover)

        # Open tasks follow posts and people when the organisation changes (org.changes).
        from org import changes
        from workflow.personnel import apply_personnel_changes

        changes.follow(apply_personnel_changes)
