from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = _("Web interface")

    def ready(self) -> None:
        # A task reaching an approver: the record they will open is rendered ahead of them.
        from frontend import prerender
        from workflow import hooks

        hooks.listen(prerender.on_workflow_events)
