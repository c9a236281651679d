"""Changes to Rasa's own code where its API offers no other way; the REST
channel installs them when the server creates it (channels/rest.py)."""
