"""Collection agency clients behind the ``CollectionAgency`` interface (``base``); paywise (``paywise``)."""
