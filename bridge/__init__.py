"""The bridge: keeps Prosody in step with the portal, and the portal with Prosody."""
