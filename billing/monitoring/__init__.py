"""Operating the service: /metrics in Prometheus format, and what it measures at each
scrape (backlogs and lags read from PostgreSQL, queue depths from Redis)."""
