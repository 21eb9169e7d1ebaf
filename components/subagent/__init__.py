"""The Subagent: runs job processes for the Director Agent it is dedicated to."""
