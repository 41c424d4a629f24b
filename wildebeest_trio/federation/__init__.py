"""The federation layer: ActivityPub documents, fetching, signing, inbox and delivery."""
