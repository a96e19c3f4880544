from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    label = "storage"
    verbose_name = "Object storage"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        setting_changed.connect(_reset_on_change, dispatch_uid="storage.reset_on_change")


def _reset_on_change(*, setting: str, **kwargs: Any) -> None:
    if setting == "OBJECT_STORE":
        from storage.factory import reset_store

        reset_store()
