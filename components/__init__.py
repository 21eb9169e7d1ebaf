"""Reference implementations of the JS7 and JobScheduler 1.x components."""
