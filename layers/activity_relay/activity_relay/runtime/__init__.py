"""One module per Lambda function: its settings, read once from the environment, and the one
runtime object its handler calls, built at the first invocation (registry.built_once) from the
real adapters. The only code that reads the environment or builds clients."""
