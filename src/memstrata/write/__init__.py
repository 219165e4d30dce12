"""The write path: messages in, indexed memories out."""
