from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = _("API")

    def ready(self) -> None:
        # Registers the Bearer scheme with drf-spectacular (an import is the registration).
        from api import schema  # noqa: F401
