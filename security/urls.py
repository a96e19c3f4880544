from django.urls import path

from security import views

app_name = "security"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("verify/", views.verify, name="verify"),
    path("totp/", views.totp_setup, name="totp"),
    path("recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("devices/remove/", views.remove_device, name="remove-device"),
]
