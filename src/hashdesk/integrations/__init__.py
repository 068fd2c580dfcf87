"""Integrations: Hashdesk speaking other systems' own protocols (docs/integrations/).

One package per integration, each a Django app with the usual anatomy: inbound email
(``mail``), Prometheus Alertmanager (``alertmanager``), the Mastodon client API (``mastodon``),
Slack-compatible incoming webhooks (``slack``), OpenID Connect single sign-on (``oidc``) and
import/export (``transfer``). Each turns what arrives into calls of the domain apps' actions;
none writes a domain model itself.
"""
