"""The roles of DOMAIN.md as Django groups. Names are stable identifiers; labels are translated."""

from django.utils.translation import gettext_lazy as _

DRAFTER = "drafter"
APPROVER = "approver"
AUDITOR = "auditor"
ADMINISTRATOR = "administrator"

ROLES = {
    DRAFTER: _("Drafter"),
    APPROVER: _("Approver"),
    AUDITOR: _("Auditor"),
    ADMINISTRATOR: _("Administrator"),
}
