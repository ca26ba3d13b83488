"""The merchant console: the pages a merchant works in, embedded by both shop admins or reached by a link."""
