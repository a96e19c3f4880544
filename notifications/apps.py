from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # workflow.hooks calls its listeners after the action has committed.
        from notifications import services
        from workflow import hooks

        hooks.listen(services.on_workflow_events)
        # E-mail in the language the person signs in with (notifications.mail).
        from django.contrib.auth.signals import user_logged_in

        from notifications import mail

        user_logged_in.connect(mail.remember_language, dispatch_uid="notifications.language")
        # A user deactivated anywhere (the admin, the personnel import) loses their sockets.
        from django.db.models.signals import post_save

        from org.models import User

        post_save.connect(_deactivated, sender=User, dispatch_uid="notifications.deactivated")
        # A revoked API token's sockets close now, not at their next check.
        from api.tokens import tokens_revoked

        tokens_revoked.connect(_tokens_revoked, dispatch_uid="notifications.tokens_revoked")
        # Signing out, the idle timeout and a password change end the session's sockets.
        from notifications import sessions

        sessions.connect_signals()


def _deactivated(sender: object, instance: object, **kwargs: object) -> None:
    from notifications.services import revoke_connections

    if getattr(instance, "is_active", True) is False:
        revoke_connections(instance.pk)  # type: ignore[attr-defined]


def _tokens_revoked(sender: object, user_id: int, tokens: list[str], **kwargs: object) -> None:
    from notifications.services import revoke_connections

    revoke_connections(user_id, tokens)
