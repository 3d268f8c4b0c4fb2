"""The HTTP API (FastAPI): only translates between HTTP and the services; errors map to HTTP in one place."""
