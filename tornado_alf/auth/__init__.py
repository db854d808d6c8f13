"""Client authentication at the token endpoint (RFC 6749 sec. 2.3, RFC 7523, RFC 8705)."""
