"""The agent pages: views, forms, URLs, middleware and the login backend (thin adapters over
the services and selectors)."""
