"""The base classes of every form: WTForms' own messages in the user's language.

WTForms words some messages itself ("Not a valid choice.", "This field is required.", "Invalid
email address."...) and ships their translations (its ``wtforms`` catalogs). ``dcol.i18n`` adds
those catalogs to Flask-Babel's (domain ``wtforms`` beside ``messages``), and these forms read
WTForms' messages through Flask-Babel: one lookup, in the language of the request (or of a
``force_locale`` block), for Flask-WTF's forms and for plain subforms (``FormField``) alike.
Flask-WTF's own i18n (``WTF_I18N_ENABLED``) is then not used: it only covers ``FlaskForm``.

Flask-WTF's CSRF messages ("The CSRF token is missing.") are in no catalog: they are replaced by
ours. ``CSRFProtect`` usually refuses such a request before any form sees it (``dcol.security``
answers it); this covers the forms that validate their token themselves.
"""

from __future__ import annotations

import flask_wtf
import wtforms
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms.validators import ValidationError


def attach_errors(form, errors: dict[str, str]) -> list[str]:
    """Put a service's messages on the fields they name that have none yet; return the messages
    that name no field of ``form`` (to show above it)."""
    unplaced = []
    for name, message in errors.items():
        field = form._fields.get(name)
        if field is None:
            unplaced.append(message)
        elif not field.errors:
            field.errors = [message]
    return unplaced


class BabelTranslations:
    """WTForms' translations object (``gettext``/``ngettext``, no formatting: WTForms formats)."""

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ngettext(singular, plural, n)


TRANSLATIONS = BabelTranslations()


class LocalisedCSRF(_FlaskFormCSRF):
    """Flask-WTF's CSRF check, refusing in the user's language."""

    def setup_form(self, form):
        return [
            (name, self.field_class(label=_l("Jeton de sécurité"), csrf_impl=self))
            for name, _unbound in super().setup_form(form)
        ]

    def validate_csrf_token(self, form, field) -> None:
        try:
            super().validate_csrf_token(form, field)
        except ValidationError:
            raise ValidationError(
                _("Le formulaire a expiré ou n'a pas pu être vérifié. Rechargez la page et réessayez.")
            ) from None


class FlaskForm(flask_wtf.FlaskForm):
    """Every page's form (CSRF-protected, filled from the request)."""

    class Meta:
        csrf_class = LocalisedCSRF

        def get_translations(self, form):
            return TRANSLATIONS


class Form(wtforms.Form):
    """A form nested in another (``FormField``), which does not inherit its parent's ``Meta``."""

    class Meta:
        def get_translations(self, form):
            return TRANSLATIONS
