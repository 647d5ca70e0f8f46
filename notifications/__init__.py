"""Delivery to people: Telegram, email, SMS, and the timed jobs that trigger it."""
