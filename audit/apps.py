from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from django.contrib.auth import signals

        from audit import signals as handlers

        signals.user_logged_in.connect(handlers.logged_in, dispatch_uid="audit.logged_in")
        signals.user_logged_out.connect(handlers.logged_out, dispatch_uid="audit.logged_out")
        signals.user_login_failed.connect(handlers.login_failed, dispatch_uid="audit.login_failed")
