"""Tests of the Clickatell SMS integration."""
