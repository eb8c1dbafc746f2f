"""The assistant as an office runs it: the long-lived service behind the page, the documents folder
(uploads, removal, restore), accounts, login throttling and rate limits, the audit and feedback logs.
May import: answers, search, indexer."""
