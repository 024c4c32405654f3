"""The `closeout` command: the GUI by default, or headless subcommands that never import Qt."""
