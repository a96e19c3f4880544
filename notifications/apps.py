from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # workflow.hooks calls its listeners after the action has committed.
        from notifications import services
        from workflow import hooks

        hooks.listen(services.on_workflow_event)
