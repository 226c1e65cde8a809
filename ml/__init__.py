"""The ML floor: pipeline steps, the platform protocol and both platforms, serving, validation."""
