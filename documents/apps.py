from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        # The background jobs: a new record's first pages (documents.page_images) and an Office
        # attachment converted when it is uploaded (documents.conversions).
        from documents import conversions, page_images  # noqa: F401
