//! The HTTP server: the CyberTipline `/ispws` endpoints, the JSON API and the web pages.
