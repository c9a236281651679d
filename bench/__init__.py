"""`make bench`: the assistant's speed and footprint against a vanilla `rasa init` bot."""
