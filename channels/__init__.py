"""Input channels for the Rasa server (referenced from credentials.yml)."""
