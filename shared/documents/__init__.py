"""Documents the OMS renders for people: invoice and credit note PDFs."""
