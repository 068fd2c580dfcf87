"""Mastodon client API (docs/integrations/mastodon.md)."""
