"""OpenID Connect single sign-on (docs/integrations/oidc.md)."""
