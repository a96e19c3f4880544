from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        # The background job that renders a new record's first pages (documents.page_images).
        from documents import page_images  # noqa: F401
