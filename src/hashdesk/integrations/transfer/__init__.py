"""Import and export (docs/integrations/transfer.md)."""
