"""Credit bureau clients behind the ``CreditBureau`` interface (``base``); PAYONE consumerscore (``payone``)."""
