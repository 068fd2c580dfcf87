"""Inbound email (docs/integrations/mail.md)."""
