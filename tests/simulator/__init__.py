"""Tests of the Clickatell simulator, over loopback with a plain aiohttp session."""
