"""Invoice orders as receivables: ingestion from shops, API pushes and CSV imports; their states."""
