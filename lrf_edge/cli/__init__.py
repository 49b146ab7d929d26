"""The command line: thin modules that parse, call the stages and render results."""
