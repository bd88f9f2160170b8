"""The Telegram adapter: the application factory, the update router, rendering, the sender,
webhook mode and the dispatcher's wake-up. The only package that imports `telegram`."""
