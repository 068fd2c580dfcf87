"""Prometheus Alertmanager (docs/integrations/alertmanager.md)."""
