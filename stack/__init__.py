"""Runs ChatBoard's three processes together: configuration, secrets, supervision."""
