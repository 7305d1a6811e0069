"""One module per sub-command of `relay`."""
