"""What every portal app shares and none of them owns (not a Django app: no models)."""
