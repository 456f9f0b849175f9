"""Documents: uploads checked by content and size, stored under generated names with their
SHA-256, replaced with history, downloaded only by permitted users; generated PDFs (receipts)."""
