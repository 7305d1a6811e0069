"""What runs on a laptop: local stacks provisioned from template.yaml, and tooling around them."""
