"""Slack-compatible incoming webhooks (docs/integrations/slack.md)."""
