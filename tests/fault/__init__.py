"""The fault suite: a chaos run, parser fuzzing and the secret audit's own checks."""
