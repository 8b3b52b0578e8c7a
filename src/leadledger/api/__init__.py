"""The REST API (FastAPI): thin routes over the services, one JSON error shape, keys and sessions."""
