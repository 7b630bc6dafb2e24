"""Who is calling, and what they may do: bearer JWTs (OAuth2), API tokens, or no auth in development."""
