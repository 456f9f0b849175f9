"""The form of a dossier's message thread: a message and its attachments.

The rules (body required and at most 10 000 characters, attachments checked by content) are the
service's (``dcol.messages.services.post_message``), so that the web form and the API refuse the
same things with the same French messages; the form carries the fields and the CSRF token.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import TextAreaField

from dcol.messages.services import MAX_BODY
from forms.base import FlaskForm


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Votre message"), render_kw={"rows": 6, "maxlength": MAX_BODY})
    attachments = MultipleFileField(_l("Pièces jointes (facultatif)"))

    def uploads(self) -> list:
        """The files actually chosen (browsers send an empty part when none is)."""
        return [upload for upload in self.attachments.data or [] if upload and upload.filename]
