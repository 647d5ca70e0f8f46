"""The domain: every business rule, shared by the bot and the web pages.

Nothing here imports aiogram or aiohttp. Actions that change state are
``do_*`` functions that run in one transaction and return what the caller
needs to tell people *after* the commit (side effects never run inside).
"""
