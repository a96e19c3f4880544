from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Decision analytics")

    def ready(self) -> None:
        # Every action that closes a task or ends a route refreshes that document's figures
        # (analytics.facts), after its commit.
        from django.db.models.signals import pre_delete

        from analytics import listeners
        from documents.models import Document
        from workflow import hooks

        hooks.listen(listeners.on_workflow_events)
        pre_delete.connect(listeners.on_document_deleted, sender=Document)
