"""HTML output: server-side SVG charts and Jinja2 templates (the monthly report; later the dashboard)."""
