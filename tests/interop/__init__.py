"""Interop tests against node oidc-provider."""
