"""WTForms forms, one module per area; labels and messages in French (Flask-Babel)."""
