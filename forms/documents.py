"""The upload form of a dossier's documents (one per checklist item, one for free attachments)."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField

from forms.base import FlaskForm


class UploadForm(FlaskForm):
    # The checklist item the file answers; empty for a free attachment.
    requirement_id = HiddenField()
    file = FileField(_l("Fichier"))
