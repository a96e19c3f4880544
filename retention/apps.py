from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = _("Retention and disposal")

    def ready(self) -> None:
        # After a decision commits: Object Lock for the record, or carry out a disposal request.
        from documents import access
        from retention import api, listeners
        from workflow import hooks

        hooks.listen(listeners.on_workflow_events)
        # A disposed record's content answers 410 with its tombstone (documents.access).
        access.read_tombstones_with(api.tombstone_of)
