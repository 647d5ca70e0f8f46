"""The Telegram front end: aiogram routers, keyboards, states and middlewares."""
