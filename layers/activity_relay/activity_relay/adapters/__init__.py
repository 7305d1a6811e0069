"""Each module speaks to exactly one outside service and implements ports of `core.ports`."""
